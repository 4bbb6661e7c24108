/**
 * `berth build --push`: an image (or an index of per-platform images) sent to a registry. Blobs
 * go first (each once, skipped when present, mounted from the base's repository when the base is
 * on the same registry), then each platform's manifest by digest, then the top manifest by tag.
 * The SBOM is attached as an OCI referrer (an artifact manifest whose `subject` is the image);
 * registries without the referrers API get the fallback tag `sha256-<hex>` listing it.
 */
import { createReadStream } from 'node:fs';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BlobStore } from './blob-store.js';
import { hexOf, isList, sha256, type Digest } from './digest.js';
import type { BaseImage } from './image-source.js';
import { MEDIA_TYPE, type Descriptor } from './media-types.js';
import type { ImageIndex, ImageManifest } from './oci-layout.js';
import type { BlobPushResult, RegistryClient } from './registry-client.js';

/** The empty JSON blob `{}` artifacts use as their config (image-spec manifest.md). */
export const EMPTY_DESCRIPTOR: Descriptor = {
  mediaType: 'application/vnd.oci.empty.v1+json',
  digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
  size: 2,
};

export interface PushedImage {
  readonly manifestDescriptor: Descriptor;
  readonly manifest: ImageManifest;
  readonly base: BaseImage;
}

export type PushProgress =
  | {
      readonly step: 'blob';
      readonly digest: Digest;
      readonly size: number;
      readonly result: BlobPushResult;
      readonly ms: number;
    }
  | { readonly step: 'upload'; readonly digest: Digest; readonly sent: number; readonly size: number }
  | { readonly step: 'manifest'; readonly reference: string; readonly digest: Digest };

export interface PushRequest {
  readonly client: RegistryClient;
  readonly repository: string;
  readonly tag: string;
  /** Holds every blob berth made (layers, configs, manifests, index). */
  readonly store: BlobStore;
  readonly images: readonly PushedImage[];
  /** The tagged manifest: the one image's, or the index over all of them. */
  readonly top: Descriptor;
  readonly onProgress?: (event: PushProgress) => void;
}

/** Reports bytes read through it every `everyMs`. */
function progressTap(report: (sent: number) => void, everyMs = 1000): Transform {
  let sent = 0;
  let last = performance.now();
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      sent += chunk.byteLength;
      const now = performance.now();
      if (now - last >= everyMs) {
        last = now;
        report(sent);
      }
      callback(null, chunk);
    },
  });
}

/**
 * @example
 * await pushImage({ client, repository: 'team/fraud', tag: '1.0', store, images, top });
 */
export async function pushImage(request: PushRequest): Promise<void> {
  const { client, repository, store } = request;
  const progress = request.onProgress ?? (() => undefined);
  const done = new Set<Digest>();
  for (const image of request.images) {
    const ours = async (d: Descriptor) => store.has(d.digest);
    for (const blob of [image.manifest.config, ...image.manifest.layers]) {
      if (done.has(blob.digest)) continue;
      done.add(blob.digest);
      const started = performance.now();
      const local = await ours(blob);
      const origin = image.base.origin;
      const mountFrom = !local && origin?.registry === client.registry ? origin.repository : undefined;
      const file = local ? store.path(blob.digest) : undefined;
      const result = await client.pushBlob(
        repository,
        blob,
        async () => {
          const path = file ?? (await image.base.blobFile(blob));
          return () => {
            const tap = progressTap((sent) =>
              progress({ step: 'upload', digest: blob.digest, sent, size: blob.size }),
            );
            // pipeline passes a read error on to the tap, which the request then fails with.
            pipeline(createReadStream(path), tap).catch(() => undefined);
            return tap;
          };
        },
        mountFrom,
      );
      progress({
        step: 'blob',
        digest: blob.digest,
        size: blob.size,
        result,
        ms: Math.round(performance.now() - started),
      });
    }
  }
  const many = request.images.length > 1;
  for (const image of request.images) {
    const bytes = await store.readBytes(image.manifestDescriptor.digest);
    const reference = many ? image.manifestDescriptor.digest : request.tag;
    await client.putManifest(repository, reference, bytes, image.manifestDescriptor.mediaType);
    progress({ step: 'manifest', reference, digest: image.manifestDescriptor.digest });
  }
  if (many) {
    await client.putManifest(
      repository,
      request.tag,
      await store.readBytes(request.top.digest),
      request.top.mediaType,
    );
    progress({ step: 'manifest', reference: request.tag, digest: request.top.digest });
  }
}

export interface ReferrerResult {
  /** The artifact manifest's digest. */
  readonly digest: Digest;
  /** `api`: the registry indexed it (OCI-Subject); `tag`: listed in the fallback tag. */
  readonly via: 'api' | 'tag';
}

/**
 * Attaches a document (an SBOM) to a pushed image as an OCI referrer.
 *
 * @example
 * await attachReferrer(client, 'team/fraud', image, SBOM_MEDIA_TYPE, bytes, created);
 */
export async function attachReferrer(
  client: RegistryClient,
  repository: string,
  subject: Descriptor,
  artifactType: string,
  content: Uint8Array,
  created: Date,
): Promise<ReferrerResult> {
  const blob: Descriptor = {
    mediaType: artifactType,
    digest: sha256(content),
    size: content.byteLength,
    annotations: { 'org.opencontainers.image.title': 'sbom.cdx.json' },
  };
  await client.pushBlob(repository, EMPTY_DESCRIPTOR, () =>
    Promise.resolve(() => Readable.from([Buffer.from('{}')])),
  );
  await client.pushBlob(repository, blob, () => Promise.resolve(() => Readable.from([Buffer.from(content)])));
  const annotations = { 'org.opencontainers.image.created': created.toISOString() };
  const manifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPE.manifest,
    artifactType,
    config: EMPTY_DESCRIPTOR,
    layers: [blob],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    annotations,
  };
  const bytes = Buffer.from(JSON.stringify(manifest));
  const digest = sha256(bytes);
  const stored = await client.putManifest(repository, digest, bytes, MEDIA_TYPE.manifest);
  if (stored.subjectIndexed) return { digest, via: 'api' };

  // The referrers tag schema (distribution-spec 1.1): an index at tag sha256-<hex> of the subject.
  const tag = `sha256-${hexOf(subject.digest)}`;
  const existing = await client.manifestIfPresent(repository, tag, true);
  let manifests: Descriptor[] = [];
  if (existing !== undefined) {
    try {
      const index = JSON.parse(existing.bytes.toString('utf8')) as ImageIndex;
      if (isList(index.manifests)) manifests = [...index.manifests];
    } catch {
      // not an index: replaced below
    }
  }
  if (!manifests.some((m) => m.digest === digest)) {
    manifests.push({
      mediaType: MEDIA_TYPE.manifest,
      digest,
      size: bytes.byteLength,
      artifactType,
      annotations,
    });
  }
  const index = { schemaVersion: 2, mediaType: MEDIA_TYPE.index, manifests };
  await client.putManifest(repository, tag, Buffer.from(JSON.stringify(index)), MEDIA_TYPE.index);
  return { digest, via: 'tag' };
}
