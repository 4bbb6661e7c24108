/**
 * Deterministic image layers: a tar of the given entries, gzip-compressed, written to the blob
 * store. The same entries always give the same bytes: entries sorted by path with every parent
 * directory present, one fixed modification time (SOURCE_DATE_EPOCH), owners and modes set here
 * rather than taken from the build machine, and a gzip header without time or OS (zlib's
 * compressed bytes are fixed for a given Node.js version).
 *
 * With a layer cache, a layer whose files' metadata fingerprint was seen before is taken from the
 * cache without reading anything. Otherwise the tar is written to a scratch file and hashed on the
 * way (its sha256 is the layer's diff_id); a diff_id compressed before reuses that blob, else the
 * tar is compressed and hashed again (the layer's digest). Nothing is held in memory whole.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { posix } from 'node:path';
import { PassThrough, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import tar from 'tar-stream';
import { BerthError } from '../ground/index.js';
import type { BlobStore } from './blob-store.js';
import { meter, sha256, type Digest } from './digest.js';
import { fileIntoStore, type CachedLayer, type LayerCache } from './layer-cache.js';
import { MEDIA_TYPE, type Descriptor } from './media-types.js';

export type LayerEntry =
  | {
      readonly type: 'file';
      /** Path inside the image, without a leading slash: `app/dist/index.js`. */
      readonly path: string;
      readonly mode: number;
      /** A file on the build machine, or the bytes themselves. */
      readonly source: string | Uint8Array;
      readonly uid?: number;
    }
  | { readonly type: 'directory'; readonly path: string; readonly mode: number; readonly uid?: number }
  | { readonly type: 'symlink'; readonly path: string; readonly target: string };

export interface BuiltLayer {
  readonly descriptor: Descriptor;
  /** sha256 of the uncompressed tar: the config's rootfs.diff_ids entry. */
  readonly diffId: Digest;
  /** Bytes before compression. */
  readonly uncompressedSize: number;
  /** Whether the compressed blob came from the layer cache. */
  readonly cached: boolean;
  /** How the cache found it: by the files' fingerprint (nothing read) or the tar's diff_id. */
  readonly cachedBy?: 'files' | 'tar';
}

/** gzip's header bytes 4-7 hold a time and byte 9 the OS: fixed here so the output is portable. */
function normaliseGzipHeader(): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      if (seen < 10) {
        const copy = Buffer.from(chunk);
        for (let i = seen; i < Math.min(10, seen + copy.byteLength); i++) {
          if (i >= 4 && i <= 7) copy[i - seen] = 0;
          if (i === 9) copy[i - seen] = 255; // "unknown" operating system
        }
        seen += copy.byteLength;
        callback(null, copy);
        return;
      }
      callback(null, chunk);
    },
  });
}

function checkPath(path: string): string {
  const normal = posix.normalize(path);
  if (path === '' || path.startsWith('/') || normal !== path.replace(/\/$/, '') || normal.startsWith('..')) {
    throw new BerthError('BERTH_ERR_INTERNAL', `layer path "${path}" must be relative and normalised`);
  }
  return normal;
}

/** The entries with every parent directory added (0755, root) and sorted bytewise by path. */
export function completeEntries(entries: readonly LayerEntry[]): LayerEntry[] {
  const byPath = new Map<string, LayerEntry>();
  for (const entry of entries) {
    const path = checkPath(entry.path);
    if (byPath.has(path)) throw new BerthError('BERTH_ERR_INTERNAL', `layer path "${path}" is given twice`);
    byPath.set(path, { ...entry, path });
  }
  for (const path of [...byPath.keys()]) {
    for (let dir = posix.dirname(path); dir !== '.'; dir = posix.dirname(dir)) {
      if (!byPath.has(dir)) byPath.set(dir, { type: 'directory', path: dir, mode: 0o755 });
    }
  }
  return [...byPath.values()].sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
}

/**
 * Writes one layer to the store.
 *
 * @example
 * const layer = await buildLayer(store, [{ type: 'file', path: 'app/x.js', mode: 0o644, source: '/src/x.js' }], epoch);
 */
export async function buildLayer(
  store: BlobStore,
  entries: readonly LayerEntry[],
  mtime: Date,
  cache?: LayerCache,
): Promise<BuiltLayer> {
  const fingerprint = cache === undefined ? undefined : await filesFingerprint(entries, mtime);
  if (cache !== undefined && fingerprint !== undefined) {
    const known = await cache.lookup(fingerprint, MEDIA_TYPE.layerGzip);
    if (known !== undefined) return fromCache(known, cache, store, 'files');
  }
  const scratch = `${store.root}/.tmp-tar-${randomUUID()}`;
  try {
    const measure = meter();
    await writeTar(entries, mtime, measure.stream, scratch);
    const diffId = measure.digest();
    const uncompressedSize = measure.size();
    const keys = fingerprint === undefined ? [diffId] : [diffId, fingerprint];
    const hit = await cache?.lookup(diffId, MEDIA_TYPE.layerGzip);
    if (cache !== undefined && hit !== undefined) {
      await cache.remember(keys, hit, cache.store);
      return await fromCache(hit, cache, store, 'tar');
    }
    const compressed = new PassThrough();
    const [descriptor] = await Promise.all([
      store.putStream(MEDIA_TYPE.layerGzip, compressed),
      pipeline(createReadStream(scratch), createGzip({ level: 6 }), normaliseGzipHeader(), compressed),
    ]);
    await cache?.remember(keys, { diffId, descriptor, uncompressedSize }, store);
    return { descriptor, diffId, uncompressedSize, cached: false };
  } finally {
    await rm(scratch, { force: true });
  }
}

async function fromCache(
  layer: CachedLayer,
  cache: LayerCache,
  store: BlobStore,
  cachedBy: 'files' | 'tar',
): Promise<BuiltLayer> {
  await fileIntoStore(cache.store.path(layer.descriptor.digest), store, layer.descriptor);
  return { ...layer, cached: true, cachedBy };
}

/**
 * What decides a layer's tar, without reading file contents: every entry's path, type, mode and
 * owner; for files on disk their size, inode, and modification and change times (any write moves
 * the change time, which no tool can set back); for bytes given directly, their sha256. Equal
 * fingerprints mean equal tars, so the cache can answer before the tar is written.
 */
async function filesFingerprint(entries: readonly LayerEntry[], mtime: Date): Promise<string | undefined> {
  let newest = 0n;
  const hash = createHash('sha256').update(`berth-layer-v1 ${mtime.getTime()}\n`);
  for (const entry of completeEntries(entries)) {
    if (entry.type === 'file') {
      let content: string;
      if (typeof entry.source === 'string') {
        const info = await stat(entry.source, { bigint: true });
        if (info.ctimeNs > newest) newest = info.ctimeNs;
        if (info.mtimeNs > newest) newest = info.mtimeNs;
        content = `${entry.source} ${info.size} ${info.dev}:${info.ino} ${info.mtimeNs} ${info.ctimeNs}`;
      } else {
        content = sha256(entry.source);
      }
      hash.update(`f ${entry.path} ${entry.mode} ${entry.uid ?? 0} ${content}\n`);
    } else if (entry.type === 'directory') {
      hash.update(`d ${entry.path} ${entry.mode} ${entry.uid ?? 0}\n`);
    } else {
      hash.update(`l ${entry.path} ${entry.target}\n`);
    }
  }
  // A file changed in the last seconds could change again within the same clock tick, unseen:
  // such layers are only looked up by their tar's diff_id.
  if (BigInt(Date.now()) * 1_000_000n - newest < 2_000_000_000n) return undefined;
  return `files:${hash.digest('hex')}`;
}

/** Writes the tar of the entries to `path`, through `tap` (which hashes it). */
async function writeTar(
  entries: readonly LayerEntry[],
  mtime: Date,
  tap: Transform,
  path: string,
): Promise<void> {
  const pack = tar.pack();
  const written = pipeline(pack, tap, createWriteStream(path));
  // An entry that fails destroys the pack, which rejects `written` before it is awaited.
  written.catch(() => undefined);

  const common = { mtime, uname: '', gname: '' };
  for (const entry of completeEntries(entries)) {
    if (entry.type === 'directory') {
      pack.entry({
        ...common,
        name: `${entry.path}/`,
        type: 'directory',
        mode: entry.mode,
        uid: entry.uid ?? 0,
        gid: entry.uid ?? 0,
      });
    } else if (entry.type === 'symlink') {
      pack.entry({
        ...common,
        name: entry.path,
        type: 'symlink',
        linkname: entry.target,
        mode: 0o777,
        uid: 0,
        gid: 0,
      });
    } else if (typeof entry.source !== 'string') {
      pack.entry(
        { ...common, name: entry.path, mode: entry.mode, uid: entry.uid ?? 0, gid: entry.uid ?? 0 },
        Buffer.from(entry.source),
      );
    } else {
      const source = entry.source;
      const { size } = await stat(source);
      await new Promise<void>((resolve, reject) => {
        const sink = pack.entry(
          { ...common, name: entry.path, size, mode: entry.mode, uid: entry.uid ?? 0, gid: entry.uid ?? 0 },
          (error?: Error | null) => (error ? reject(error) : resolve()),
        );
        let copied = 0;
        const counted = new Transform({
          transform(chunk: Buffer, _encoding, callback) {
            copied += chunk.byteLength;
            callback(null, chunk);
          },
          flush(callback) {
            // tar-stream writes a corrupt tar if a file's bytes differ from its header's size.
            callback(
              copied === size
                ? null
                : new BerthError(
                    'BERTH_ERR_PACKAGING_INVALID_IMAGE',
                    `${source} changed while it was being packed`,
                  ),
            );
          },
        });
        pipeline(createReadStream(source), counted, sink).catch(reject);
      });
    }
  }
  pack.finalize();
  await written;
}
