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
import { hexOf, type Digest } from './digest.js';
import { MEDIA_TYPE, type Descriptor } from './media-types.js';
import { CONTAINERD_NAME, REF_NAME } from './oci-layout.js';

export interface ArchiveContent {
  /** The tagged manifest (one image) or index (several platforms). */
  readonly top: Descriptor;
  /** Every blob the image needs, each once. */
  readonly blobs: readonly Descriptor[];
  /** Where a blob's bytes are. */
  readonly file: (descriptor: Descriptor) => Promise<string>;
  /** name:tag */
  readonly reference: string;
  /** For docker-archive: the one image's config and layers, in order. */
  readonly image?: { readonly config: Descriptor; readonly layers: readonly Descriptor[] };
}

const EPOCH = new Date(0);

/**
 * @example
 * await writeArchive('docker-archive', 'image.tar', content);
 */
export async function writeArchive(
  kind: 'oci-archive' | 'docker-archive',
  path: string,
  content: ArchiveContent,
): Promise<void> {
  const pack = tar.pack();
  const written = pipeline(pack, createWriteStream(path));
  const header = { mtime: EPOCH, uid: 0, gid: 0, uname: '', gname: '', mode: 0o644 };
  const bytes = (name: string, text: string) =>
    new Promise<void>((resolve, reject) =>
      pack.entry({ ...header, name }, Buffer.from(text), (error?: Error | null) =>
        error ? reject(error) : resolve(),
      ),
    );
  const blob = async (descriptor: Descriptor) => {
    const file = await content.file(descriptor);
    await new Promise<void>((resolve, reject) => {
      const sink = pack.entry(
        { ...header, name: blobPath(descriptor.digest), size: descriptor.size },
        (error?: Error | null) => (error ? reject(error) : resolve()),
      );
      createReadStream(file).on('error', reject).pipe(sink);
    });
  };
  const blobPath = (digest: Digest) => `blobs/sha256/${hexOf(digest)}`;

  if (kind === 'oci-archive') {
    await bytes('oci-layout', JSON.stringify({ imageLayoutVersion: '1.0.0' }));
    const tag = content.reference.slice(content.reference.lastIndexOf(':') + 1);
    await bytes(
      'index.json',
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA_TYPE.index,
        manifests: [
          { ...content.top, annotations: { [REF_NAME]: tag, [CONTAINERD_NAME]: content.reference } },
        ],
      }),
    );
    for (const descriptor of content.blobs) await blob(descriptor);
  } else {
    const image = content.image;
    if (image === undefined) throw new Error('docker-archive needs the image config and layers');
    const manifest = [
      {
        Config: blobPath(image.config.digest),
        RepoTags: [content.reference],
        Layers: image.layers.map((l) => blobPath(l.digest)),
      },
    ];
    await bytes('manifest.json', JSON.stringify(manifest));
    const seen = new Set<string>();
    for (const descriptor of [image.config, ...image.layers]) {
      if (seen.has(descriptor.digest)) continue;
      seen.add(descriptor.digest);
      await blob(descriptor);
    }
  }
  pack.finalize();
  await written;
}
