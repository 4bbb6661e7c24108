/**
 * The OCI image layout on disk (opencontainers/image-spec image-layout.md): reading an image from
 * one (a base image given as `oci:DIR[:REF]`) and writing one (`--output oci:DIR[:REF]`).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BerthError } from '../ground/index.js';
import { BlobStore } from './blob-store.js';
import { writeWhole } from './exit-cleanup.js';
import {
  parseConfig,
  parseIndex,
  parseManifest,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
} from './image-documents.js';
import { MEDIA_TYPE, type Descriptor } from './media-types.js';

/** The annotation that names an image in a layout's index.json (its tag). */
export const REF_NAME = 'org.opencontainers.image.ref.name';
/** The full image name podman and containerd read when they load a layout or archive. */
export const CONTAINERD_NAME = 'io.containerd.image.name';

export type { ImageConfig, ImageIndex, ImageManifest } from './image-documents.js';

export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

/** One platform's image: its manifest, config and the store holding its blobs. */
export interface LoadedImage {
  readonly store: BlobStore;
  readonly manifest: ImageManifest;
  readonly manifestDescriptor: Descriptor;
  readonly config: ImageConfig;
}

function invalid(message: string): BerthError {
  return new BerthError('BERTH_ERR_PACKAGING_INVALID_IMAGE', message);
}

export function platformString(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant === undefined ? '' : `/${p.variant}`}`;
}

async function readIndex(dir: string): Promise<ImageIndex> {
  let text: string;
  try {
    text = await readFile(join(dir, 'index.json'), 'utf8');
  } catch (error) {
    throw new BerthError(
      'BERTH_ERR_PACKAGING_INVALID_IMAGE',
      `${dir} is not an OCI image layout: no index.json (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
      { cause: error },
    );
  }
  return parseIndex(text, `${dir}/index.json`);
}

/**
 * The entry of an image index for a platform.
 *
 * @throws BerthError when the index has none.
 */
export function selectPlatform(index: ImageIndex, platform: Platform): Descriptor {
  const match = index.manifests.find(
    (m) =>
      m.platform?.os === platform.os &&
      m.platform.architecture === platform.architecture &&
      (platform.variant === undefined || m.platform.variant === platform.variant),
  );
  if (match === undefined) {
    const offered = index.manifests.flatMap((m) =>
      m.platform === undefined ? [] : [platformString(m.platform)],
    );
    throw invalid(
      `the base image has no ${platformString(platform)} variant; it has ${offered.join(', ') || 'none'}`,
    );
  }
  return match;
}

/** @throws BerthError when a base config is for another platform. */
export function checkConfigPlatform(config: ImageConfig, platform: Platform): void {
  if (config.os !== platform.os || config.architecture !== platform.architecture) {
    throw invalid(
      `the base image is ${config.os}/${config.architecture}, not ${platformString(platform)} (use --platform)`,
    );
  }
}

/**
 * Resolves an image in a layout to one platform's manifest: by `ref` (the ref.name annotation)
 * or the only entry, then through image indexes by platform.
 */
export async function loadLayoutImage(
  dir: string,
  ref: string | undefined,
  platform: Platform,
): Promise<LoadedImage> {
  const store = new BlobStore(dir);
  const index = await readIndex(dir);
  const candidates =
    ref === undefined ? index.manifests : index.manifests.filter((m) => m.annotations?.[REF_NAME] === ref);
  if (candidates.length !== 1) {
    const names = index.manifests.map((m) => m.annotations?.[REF_NAME] ?? '(unnamed)').join(', ');
    throw invalid(
      ref === undefined
        ? `${dir} holds ${index.manifests.length} images (${names}); name one: oci:${dir}:REF`
        : `${dir} has no image "${ref}"; it has: ${names}`,
    );
  }
  let descriptor = candidates[0] as Descriptor;
  for (let depth = 0; depth < 4; depth++) {
    if (descriptor.mediaType === MEDIA_TYPE.index || descriptor.mediaType === MEDIA_TYPE.dockerList) {
      descriptor = selectPlatform(await store.readJson(descriptor.digest, parseIndex), platform);
      continue;
    }
    const manifest = await store.readJson(descriptor.digest, parseManifest);
    const config = await store.readJson(manifest.config.digest, parseConfig);
    checkConfigPlatform(config, platform);
    return { store, manifest, manifestDescriptor: descriptor, config };
  }
  throw invalid('image indexes nested too deeply');
}

/** Writes (or replaces) the layout's `oci-layout` and `index.json`, naming `manifest` by `ref`. */
export async function writeLayoutIndex(
  dir: string,
  manifest: Descriptor,
  ref: string,
  fullName: string,
): Promise<void> {
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  let manifests: Descriptor[] = [];
  try {
    manifests = (await readIndex(dir)).manifests.filter((m) => m.annotations?.[REF_NAME] !== ref);
  } catch {
    // a new layout
  }
  const index = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPE.index,
    manifests: [...manifests, { ...manifest, annotations: { [REF_NAME]: ref, [CONTAINERD_NAME]: fullName } }],
  };
  // index.json names the image: it goes last, and whole, so a reader never sees half of it.
  await writeWhole(join(dir, 'index.json'), (temp) => writeFile(temp, JSON.stringify(index)));
}
