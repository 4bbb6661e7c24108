/**
 * Where a base image comes from, for one platform: an OCI layout folder (`oci:DIR[:REF]`), an
 * `oci-archive:` or `docker-archive:` file (unpacked into a scratch folder), or a registry
 * (`docker://` or a plain reference such as `gcr.io/distroless/nodejs20-debian12:nonroot`), whose
 * index is resolved to the platform's manifest and whose blobs are fetched into the cache only
 * when an output needs their bytes (a push to the same registry mounts them instead).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdir, open, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, join, normalize, resolve, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import { BerthError } from '../ground/index.js';
import { BlobStore } from './blob-store.js';
import { sha256 } from './digest.js';
import { formatReference, referenceTarget, type ImageReference } from './image-reference.js';
import type { LayerCache } from './layer-cache.js';
import { parseConfig, parseDockerArchiveManifest, parseIndex, parseManifest } from './image-documents.js';
import { MEDIA_TYPE, type Descriptor } from './media-types.js';
import {
  checkConfigPlatform,
  loadLayoutImage,
  selectPlatform,
  type ImageConfig,
  type ImageManifest,
  type Platform,
} from './oci-layout.js';
import type { RegistryClient } from './registry-client.js';

export type BaseSpec =
  | { readonly kind: 'oci'; readonly path: string; readonly ref?: string }
  | { readonly kind: 'oci-archive' | 'docker-archive'; readonly path: string }
  | { readonly kind: 'registry'; readonly reference: ImageReference };

export interface BaseImage {
  /** How the base was named, for the image's base.name annotation. */
  readonly name: string;
  readonly manifest: ImageManifest;
  readonly manifestDescriptor: Descriptor;
  readonly config: ImageConfig;
  /** The registry repository the blobs live in, when the base came from a registry. */
  readonly origin?: { readonly registry: string; readonly repository: string };
  /** A local file with the blob's bytes, fetched first when needed. */
  blobFile(descriptor: Descriptor): Promise<string>;
}

export interface SourceContext {
  readonly cache: LayerCache;
  /** A scratch folder for unpacking archives (removed by the caller). */
  readonly scratch: string;
  readonly client: (registry: string) => RegistryClient;
}

/** Docker's media types for the same bytes, written as OCI's in berth's OCI manifests. */
const OCI_EQUIVALENT: Readonly<Record<string, string>> = {
  [MEDIA_TYPE.dockerLayerGzip]: MEDIA_TYPE.layerGzip,
  'application/vnd.docker.image.rootfs.diff.tar': MEDIA_TYPE.layerTar,
  [MEDIA_TYPE.dockerConfig]: MEDIA_TYPE.config,
};

function invalid(message: string): BerthError {
  return new BerthError('BERTH_ERR_PACKAGING_INVALID_IMAGE', message);
}

/** The manifest with Docker media types replaced by their OCI equivalents. */
function asOci(manifest: ImageManifest): ImageManifest {
  const convert = (d: Descriptor): Descriptor => ({
    ...d,
    mediaType: OCI_EQUIVALENT[d.mediaType] ?? d.mediaType,
  });
  // Its shape (sha256 digests, a config, a list of layers) was checked as it was read.
  for (const layer of manifest.layers) {
    if (/zstd|nondistributable|foreign/.test(layer.mediaType)) {
      throw invalid(
        `base layer ${layer.digest} is ${layer.mediaType}; berth copies gzip and plain tar layers only`,
      );
    }
  }
  return { ...manifest, config: convert(manifest.config), layers: manifest.layers.map(convert) };
}

async function fromLayout(
  dir: string,
  ref: string | undefined,
  platform: Platform,
  name: string,
): Promise<BaseImage> {
  const image = await loadLayoutImage(dir, ref, platform);
  return {
    name,
    manifest: asOci(image.manifest),
    manifestDescriptor: image.manifestDescriptor,
    config: image.config,
    blobFile: async (d) => {
      if (!(await image.store.has(d.digest))) throw invalid(`blob ${d.digest} is missing from ${dir}`);
      return image.store.path(d.digest);
    },
  };
}

/** Unpacks a tar archive into a folder, refusing paths that leave it. */
async function unpack(file: string, into: string): Promise<void> {
  const extract = tar.extract();
  const done = (async () => {
    for await (const entry of extract) {
      const name = normalize(entry.header.name);
      if (entry.header.type !== 'file' || name.startsWith('..') || name.startsWith('/')) {
        entry.resume();
        continue;
      }
      const target = join(into, name);
      await mkdir(dirname(target), { recursive: true });
      await pipeline(entry, createWriteStream(target));
    }
  })();
  await Promise.all([pipeline(createReadStream(file), extract), done]);
}

async function isGzip(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(2);
    await handle.read(head, 0, 2, 0);
    return head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

/** A file named by manifest.json: a regular file inside the unpacked archive, nowhere else. */
async function inside(dir: string, name: string, archive: string): Promise<string> {
  const path = resolve(dir, name);
  const info = path.startsWith(dir + sep) ? await lstat(path).catch(() => undefined) : undefined;
  if (info?.isFile() !== true) {
    throw invalid(`${archive}: manifest.json names "${name}", which is not a file in the archive`);
  }
  return path;
}

/** A `docker save` archive as an OCI image: its config and layer files become blobs. */
async function fromDockerArchive(dir: string, platform: Platform, name: string): Promise<BaseImage> {
  let text: string;
  try {
    text = await readFile(join(dir, 'manifest.json'), 'utf8');
  } catch (error) {
    throw new BerthError(
      'BERTH_ERR_PACKAGING_INVALID_IMAGE',
      `${name}: no readable manifest.json (not a docker-archive?)`,
      { cause: error },
    );
  }
  const item = parseDockerArchiveManifest(text, `${name}: manifest.json`);
  const store = new BlobStore(join(dir, 'oci'));
  await store.init();
  const configDescriptor = await store.putStream(
    MEDIA_TYPE.config,
    createReadStream(await inside(dir, item.Config, name)),
  );
  const config = await store.readJson(configDescriptor.digest, parseConfig);
  checkConfigPlatform(config, platform);
  const layers: Descriptor[] = [];
  for (const layer of item.Layers) {
    const path = await inside(dir, layer, name);
    const mediaType = (await isGzip(path)) ? MEDIA_TYPE.layerGzip : MEDIA_TYPE.layerTar;
    layers.push(await store.putStream(mediaType, createReadStream(path)));
  }
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPE.manifest,
    config: configDescriptor,
    layers,
  };
  const manifestDescriptor = await store.putJson(MEDIA_TYPE.manifest, manifest);
  return {
    name,
    manifest,
    manifestDescriptor,
    config,
    blobFile: (d) => Promise.resolve(store.path(d.digest)),
  };
}

async function fromRegistry(
  reference: ImageReference,
  platform: Platform,
  context: SourceContext,
): Promise<BaseImage> {
  const client = context.client(reference.registry);
  const { repository } = reference;
  const store = context.cache.store;
  let fetched = await client.manifest(repository, referenceTarget(reference));
  let descriptor: Descriptor = {
    mediaType: fetched.mediaType,
    digest: fetched.digest,
    size: fetched.bytes.byteLength,
  };
  const what = () => `${formatReference(reference)}: manifest ${fetched.digest}`;
  if (fetched.mediaType === MEDIA_TYPE.index || fetched.mediaType === MEDIA_TYPE.dockerList) {
    const chosen = selectPlatform(parseIndex(fetched.bytes.toString('utf8'), what()), platform);
    fetched = await client.manifest(repository, chosen.digest);
    descriptor = { mediaType: fetched.mediaType, digest: fetched.digest, size: fetched.bytes.byteLength };
  }
  if (fetched.mediaType !== MEDIA_TYPE.manifest && fetched.mediaType !== MEDIA_TYPE.dockerManifest) {
    throw invalid(
      `${formatReference(reference)} is ${fetched.mediaType || 'of no known type'}, not an image manifest`,
    );
  }
  const manifest = asOci(parseManifest(fetched.bytes.toString('utf8'), what()));
  const blobFile = async (d: Descriptor): Promise<string> => {
    if (!(await store.has(d.digest)))
      await store.putStream(d.mediaType, await client.blob(repository, d.digest), d.digest, d.size);
    return store.path(d.digest);
  };
  await blobFile(manifest.config);
  const config = await store.readJson(manifest.config.digest, parseConfig);
  checkConfigPlatform(config, platform);
  // Kept with the blobs so a later build can name what it built on.
  await store.putBytes(descriptor.mediaType, fetched.bytes);
  return {
    name: formatReference(reference),
    manifest,
    manifestDescriptor: descriptor,
    config,
    origin: { registry: reference.registry, repository },
    blobFile,
  };
}

/**
 * Opens the base image for one platform.
 *
 * @example
 * const base = await openBase({ kind: 'registry', reference }, { os: 'linux', architecture: 'amd64' }, context);
 */
export async function openBase(
  spec: BaseSpec,
  platform: Platform,
  context: SourceContext,
): Promise<BaseImage> {
  if (spec.kind === 'oci') return fromLayout(spec.path, spec.ref, platform, spec.ref ?? spec.path);
  if (spec.kind === 'registry') return fromRegistry(spec.reference, platform, context);
  const dir = join(context.scratch, `base-${sha256(spec.path).slice(7, 19)}`);
  const unpacked = await stat(join(dir, '.unpacked')).then(
    () => true,
    () => false,
  );
  if (!unpacked) {
    await mkdir(dir, { recursive: true });
    await unpack(spec.path, dir).catch((error: unknown) => {
      throw new BerthError(
        'BERTH_ERR_PACKAGING_INVALID_IMAGE',
        `${spec.path}: cannot unpack (${String(error)})`,
        {
          cause: error,
        },
      );
    });
    await writeFile(join(dir, '.unpacked'), '');
  }
  return spec.kind === 'oci-archive'
    ? fromLayout(dir, undefined, platform, spec.path)
    : fromDockerArchive(dir, platform, spec.path);
}
