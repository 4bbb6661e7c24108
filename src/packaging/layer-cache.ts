/**
 * The layer cache: compressing a layer is most of a build's time, and a layer's compressed bytes
 * depend only on its uncompressed tar (whose sha256 is its diff_id) and the compressor. So a
 * built layer is remembered under its diff_id and the zlib version, and a rebuild whose tar has
 * the same diff_id reuses the compressed blob instead of compressing again. The same folder keeps
 * the blobs of base images pulled from registries. It lives in $BERTH_CACHE_DIR, else
 * $XDG_CACHE_HOME/berth, else ~/.cache/berth, and can be deleted at any time.
 */
import { randomUUID } from 'node:crypto';
import { link, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { createReadStream } from 'node:fs';
import { BlobStore } from './blob-store.js';
import { hexOf, isDigest, sha256, type Digest } from './digest.js';
import type { Descriptor } from './media-types.js';

/** What decides the compressed bytes besides the tar: berth's tar and gzip settings, zlib's version. */
export const COMPRESSOR = `berth-tar-v1-gzip-6-zlib-${process.versions.zlib}`;

export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.BERTH_CACHE_DIR) return env.BERTH_CACHE_DIR;
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, 'berth');
  return join(env.HOME ?? homedir(), '.cache', 'berth');
}

/** A compressed layer, as the cache remembers it. */
export interface CachedLayer {
  readonly diffId: Digest;
  readonly descriptor: Descriptor;
  readonly uncompressedSize: number;
}

interface LayerRecord {
  readonly diffId: Digest;
  readonly compressor: string;
  readonly digest: Digest;
  readonly size: number;
  readonly uncompressedSize: number;
}

/**
 * Records are found two ways: by the tar's diff_id (exact: the tar was written and hashed), and by
 * a fingerprint of the files' metadata (fast: nothing is read; see layer-builder.ts).
 */
export class LayerCache {
  readonly store: BlobStore;
  private readonly records: string;

  constructor(readonly dir: string) {
    this.store = new BlobStore(dir);
    this.records = join(dir, 'layers');
  }

  async init(): Promise<void> {
    await this.store.init();
    await mkdir(this.records, { recursive: true });
  }

  private recordPath(key: string): string {
    return join(this.records, `${hexOf(sha256(`${key} ${COMPRESSOR}`))}.json`);
  }

  /** The compressed layer remembered under a key (a diff_id or a fingerprint), if its blob is whole. */
  async lookup(key: string, mediaType: string): Promise<CachedLayer | undefined> {
    let record: LayerRecord;
    try {
      record = JSON.parse(await readFile(this.recordPath(key), 'utf8')) as LayerRecord;
    } catch {
      return undefined;
    }
    if (record.compressor !== COMPRESSOR || !isDigest(record.digest) || !isDigest(record.diffId))
      return undefined;
    if (!(await this.store.has(record.digest))) return undefined;
    return {
      diffId: record.diffId,
      descriptor: { mediaType, digest: record.digest, size: record.size },
      uncompressedSize: record.uncompressedSize,
    };
  }

  /** Remembers a layer just compressed into `from` under each key (its blob linked when possible). */
  async remember(keys: readonly string[], layer: CachedLayer, from: BlobStore): Promise<void> {
    await copyBlob(from, this.store, layer.descriptor);
    const record: LayerRecord = {
      diffId: layer.diffId,
      compressor: COMPRESSOR,
      digest: layer.descriptor.digest,
      size: layer.descriptor.size,
      uncompressedSize: layer.uncompressedSize,
    };
    for (const key of keys) {
      const temp = `${this.recordPath(key)}.${randomUUID()}`;
      await writeFile(temp, JSON.stringify(record));
      await rename(temp, this.recordPath(key));
    }
  }
}

/** Copies a blob between stores: a hard link when possible, else a verified copy. */
export async function copyBlob(from: BlobStore, to: BlobStore, descriptor: Descriptor): Promise<void> {
  if (from.root === to.root) return;
  await fileIntoStore(from.path(descriptor.digest), to, descriptor);
}

/** Puts a file holding a blob into a store: a hard link when possible, else a verified copy. */
export async function fileIntoStore(file: string, to: BlobStore, descriptor: Descriptor): Promise<void> {
  if (await to.has(descriptor.digest)) return;
  try {
    await link(file, to.path(descriptor.digest));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return;
    await to.putStream(descriptor.mediaType, createReadStream(file), descriptor.digest);
  }
}
