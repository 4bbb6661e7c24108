/**
 * Where a built image goes: an OCI layout folder (`oci:DIR[:REF]`), an `oci-archive:` or
 * `docker-archive:` file, or a registry (`--push`). Local outputs get the base image's blobs
 * copied in (fetched from the base's registry when needed); a push sends only what the registry
 * lacks and attaches the SBOM as a referrer.
 */
import { BerthError } from '../ground/index.js';
import { writeArchive } from './archive-writer.js';
import type { BlobStore } from './blob-store.js';
import type { ImageReference } from './image-reference.js';
import {
  attachReferrer,
  pushImage,
  type PushedImage,
  type PushProgress,
  type ReferrerResult,
} from './image-push.js';
import { writeWhole } from './exit-cleanup.js';
import { fileIntoStore } from './layer-cache.js';
import type { Descriptor } from './media-types.js';
import { writeLayoutIndex } from './oci-layout.js';
import type { RegistryClient } from './registry-client.js';
import { SBOM_MEDIA_TYPE } from './sbom.js';

export type ImageTarget =
  | { readonly kind: 'oci'; readonly path: string; readonly ref?: string }
  | { readonly kind: 'oci-archive' | 'docker-archive'; readonly path: string }
  | { readonly kind: 'registry'; readonly reference: ImageReference };

export type WriteProgress = PushProgress | { readonly step: 'write'; readonly target: string };

export interface WriteRequest {
  readonly target: ImageTarget;
  /** Holds the blobs berth made. */
  readonly store: BlobStore;
  readonly top: Descriptor;
  readonly reference: string;
  readonly tag: string;
  readonly images: readonly PushedImage[];
  /** The whole image's SBOM (CycloneDX JSON), attached to a pushed image. */
  readonly sbom: Uint8Array;
  readonly created: Date;
  readonly client: RegistryClient | undefined;
  readonly onProgress?: (event: WriteProgress) => void;
}

/** Every blob of the images (configs, layers) and their manifests, each once, in a fixed order. */
function allBlobs(request: WriteRequest): Descriptor[] {
  const seen = new Map<string, Descriptor>();
  const add = (d: Descriptor) => {
    if (!seen.has(d.digest)) seen.set(d.digest, { mediaType: d.mediaType, digest: d.digest, size: d.size });
  };
  if (request.images.length > 1) add(request.top);
  for (const image of request.images) {
    add(image.manifestDescriptor);
    add(image.manifest.config);
    for (const layer of image.manifest.layers) add(layer);
  }
  return [...seen.values()];
}

/** Where a blob's bytes are: berth's store, else the base image it came from. */
function locator(request: WriteRequest): (d: Descriptor) => Promise<string> {
  const owners = new Map<string, PushedImage>();
  for (const image of request.images)
    for (const layer of image.manifest.layers) owners.set(layer.digest, image);
  return async (d) => {
    if (await request.store.has(d.digest)) return request.store.path(d.digest);
    const owner = owners.get(d.digest);
    if (owner === undefined) throw new BerthError('BERTH_ERR_INTERNAL', `blob ${d.digest} has no source`);
    return owner.base.blobFile(d);
  };
}

/**
 * @example
 * await writeImage({ target: { kind: 'oci', path: './out' }, store, top, ... });
 */
export async function writeImage(request: WriteRequest): Promise<{ referrer?: ReferrerResult }> {
  const { target } = request;
  const file = locator(request);
  if (target.kind === 'registry') {
    const client = request.client;
    if (client === undefined) throw new BerthError('BERTH_ERR_INTERNAL', 'push without a registry client');
    await pushImage({
      client,
      repository: target.reference.repository,
      tag: target.reference.tag ?? request.tag,
      store: request.store,
      images: request.images,
      top: request.top,
      ...(request.onProgress === undefined ? {} : { onProgress: request.onProgress }),
    });
    const referrer = await attachReferrer(
      client,
      target.reference.repository,
      request.top,
      SBOM_MEDIA_TYPE,
      request.sbom,
      request.created,
    );
    return { referrer };
  }
  request.onProgress?.({
    step: 'write',
    target: target.kind === 'oci' ? `oci:${target.path}` : `${target.kind}:${target.path}`,
  });
  if (target.kind === 'oci') {
    for (const blob of allBlobs(request)) {
      if (await request.store.has(blob.digest)) continue;
      await fileIntoStore(await file(blob), request.store, blob);
    }
    await writeLayoutIndex(request.store.root, request.top, target.ref ?? request.tag, request.reference);
    return {};
  }
  if (target.kind === 'docker-archive') {
    const image = request.images[0];
    if (request.images.length !== 1 || image === undefined) {
      throw new BerthError(
        'BERTH_ERR_CLI_INVALID_OPTION',
        '--output docker-archive: holds one platform; use oci-archive: or oci: for several, or one --platform',
      );
    }
    await writeWhole(target.path, (temp) =>
      writeArchive('docker-archive', temp, {
        top: request.top,
        blobs: allBlobs(request),
        file,
        reference: request.reference,
        image: { config: image.manifest.config, layers: image.manifest.layers },
      }),
    );
    return {};
  }
  await writeWhole(target.path, (temp) =>
    writeArchive('oci-archive', temp, {
      top: request.top,
      blobs: allBlobs(request),
      file,
      reference: request.reference,
    }),
  );
  return {};
}
