/**
 * Single-file image outputs, for `podman load`, `docker load` and skopeo:
 * - `oci-archive`: a tar of an OCI image layout (oci-layout, index.json, blobs/sha256/...);
 * - `docker-archive`: the `docker save` format (manifest.json naming the config and the layers).
 *   It has no index.json, so podman loads it as a Docker image and keeps its health check.
 * Entries are written in a fixed order with fixed times and owners, so equal images give equal
 * archives.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import type { BlobStore } from './blob-store.js';
import { hexOf, type Digest } from './digest.js';
import type { Descriptor } from './media-types.js';
import { CONTAINERD_NAME, REF_NAME, type ImageManifest } from './oci-layout.js';

export interface ArchiveImage {
  readonly manifestDescriptor: Descriptor;
  readonly manifest: ImageManifest;
  readonly configDescriptor: Descriptor;
  /** name:tag */
  readonly reference: string;
}

const EPOCH = new Date(0);

/**
 * @example
 * await writeArchive('docker-archive', 'image.tar', store, image);
 */
export async function writeArchive(
  kind: 'oci-archive' | 'docker-archive',
  path: string,
  store: BlobStore,
  image: ArchiveImage,
): Promise<void> {
  const pack = tar.pack();
  const written = pipeline(pack, createWriteStream(path));
  const header = { mtime: EPOCH, uid: 0, gid: 0, uname: '', gname: '', mode: 0o644 };
  const bytes = (name: string, content: string | Buffer) =>
    new Promise<void>((resolve, reject) =>
      pack.entry({ ...header, name }, Buffer.from(content), (error?: Error | null) =>
        error ? reject(error) : resolve(),
      ),
    );
  const blob = (name: string, descriptor: { digest: Digest; size: number }) =>
    new Promise<void>((resolve, reject) => {
      const sink = pack.entry({ ...header, name, size: descriptor.size }, (error?: Error | null) =>
        error ? reject(error) : resolve(),
      );
      createReadStream(store.path(descriptor.digest)).on('error', reject).pipe(sink);
    });
  const blobPath = (digest: Digest) => `blobs/sha256/${hexOf(digest)}`;
  const blobs = [image.manifestDescriptor, image.configDescriptor, ...image.manifest.layers];

  if (kind === 'oci-archive') {
    await bytes('oci-layout', JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    const tag = image.reference.slice(image.reference.lastIndexOf(':') + 1);
    await bytes(
      'index.json',
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [
          {
            ...image.manifestDescriptor,
            annotations: { [REF_NAME]: tag, [CONTAINERD_NAME]: image.reference },
          },
        ],
      }),
    );
    for (const descriptor of blobs) await blob(blobPath(descriptor.digest), descriptor);
  } else {
    const manifest = [
      {
        Config: blobPath(image.configDescriptor.digest),
        RepoTags: [image.reference],
        Layers: image.manifest.layers.map((l) => blobPath(l.digest)),
      },
    ];
    await bytes('manifest.json', JSON.stringify(manifest));
    for (const descriptor of [image.configDescriptor, ...image.manifest.layers]) {
      await blob(blobPath(descriptor.digest), descriptor);
    }
  }
  pack.finalize();
  await written;
}
