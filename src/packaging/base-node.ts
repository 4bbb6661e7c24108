/**
 * Where node is in a base image, found in the base's own layers, so that `berth build` never
 * writes an image whose entrypoint does not exist. Candidates, in order: `--node` when given;
 * else the entrypoint's program when it is node (distroless: /nodejs/bin/node); else `node` in
 * each folder of the base's PATH (the official node images: /usr/local/bin/node behind a
 * docker-entrypoint.sh), then distroless's /nodejs/bin/node. A candidate counts when, after the
 * layers are applied in order (OCI image spec, "Applying Changesets": whiteouts and opaque
 * folders delete what earlier layers had) and symbolic links are followed, it is an executable
 * regular file.
 */
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { BerthError } from '../ground/index.js';
import { hexOf, sha256 } from './digest.js';
import { DEFAULT_NODE_PATH } from './image-contract.js';
import type { BaseImage } from './image-source.js';
import { MEDIA_TYPE } from './media-types.js';

/** PATH when the base's config sets none: Docker's default. */
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const MAX_LINKS = 40;

type Node =
  | { readonly type: 'file'; readonly mode: number }
  | { readonly type: 'dir' }
  | { readonly type: 'symlink'; readonly target: string };

/** The base's file system after all its layers: path (no leading slash) → what is there. */
export type LayerTree = Map<string, Node>;

function clean(name: string): string {
  return posix.normalize(`/${name}`).slice(1).replace(/\/$/, '');
}

function removeBelow(tree: LayerTree, dir: string, self: boolean): void {
  const prefix = dir === '' ? '' : `${dir}/`;
  for (const path of [...tree.keys()]) {
    if ((self && path === dir) || path.startsWith(prefix)) tree.delete(path);
  }
}

/** Applies one layer tar (its entries, in order) to the tree. */
export async function applyLayer(tree: LayerTree, layer: Readable): Promise<void> {
  const extract = tar.extract();
  const read = (async () => {
    for await (const entry of extract) {
      const header = entry.header;
      const path = clean(header.name);
      const dir = posix.dirname(path) === '.' ? '' : posix.dirname(path);
      const base = posix.basename(path);
      if (base === '.wh..wh..opq') removeBelow(tree, dir, false);
      else if (base.startsWith('.wh.')) removeBelow(tree, posix.join(dir, base.slice(4)), true);
      else if (header.type === 'directory') tree.set(path, { type: 'dir' });
      else if (header.type === 'symlink') {
        removeBelow(tree, path, true);
        tree.set(path, { type: 'symlink', target: header.linkname });
      } else if (header.type === 'link') {
        const target = tree.get(clean(header.linkname));
        if (target !== undefined) tree.set(path, target);
      } else if (header.type === 'file' || header.type === 'contiguous-file') {
        removeBelow(tree, path, true);
        tree.set(path, { type: 'file', mode: header.mode });
      }
      entry.resume();
    }
  })();
  await Promise.all([pipeline(layer, extract), read]);
}

/** What a path names after following symbolic links, in any component; undefined: nothing. */
export function lookup(tree: LayerTree, path: string): Node | undefined {
  let pending = clean(path).split('/').filter(Boolean);
  let at = '';
  for (let hops = 0; pending.length > 0;) {
    const [head, ...rest] = pending;
    const next = at === '' ? (head ?? '') : `${at}/${head ?? ''}`;
    const node = tree.get(next);
    if (node?.type === 'symlink') {
      if (++hops > MAX_LINKS) return undefined;
      const target = node.target.startsWith('/') ? clean(node.target) : clean(posix.join(at, node.target));
      pending = [...target.split('/').filter(Boolean), ...rest];
      at = '';
      continue;
    }
    if (node === undefined) return undefined;
    at = next;
    pending = rest;
  }
  return tree.get(at);
}

function envPath(base: BaseImage): string {
  const env: unknown = base.config.config?.Env;
  for (const item of Array.isArray(env) ? env : []) {
    if (typeof item === 'string' && item.startsWith('PATH=')) return item.slice(5);
  }
  return DEFAULT_PATH;
}

/** The paths to try, in order. */
export function nodeCandidates(base: BaseImage, override?: string): string[] {
  if (override !== undefined) return [override];
  const out: string[] = [];
  const entrypoint: unknown = base.config.config?.Entrypoint;
  const first: unknown = Array.isArray(entrypoint) ? entrypoint[0] : undefined;
  if (typeof first === 'string' && first.startsWith('/') && /\/node(js)?$/.test(first)) out.push(first);
  for (const dir of envPath(base).split(':')) {
    if (dir.startsWith('/')) out.push(posix.join(dir, 'node'));
  }
  out.push(DEFAULT_NODE_PATH);
  return [...new Set(out)];
}

async function readTree(base: BaseImage): Promise<LayerTree> {
  const tree: LayerTree = new Map();
  for (const layer of base.manifest.layers) {
    const file = createReadStream(await base.blobFile(layer));
    const gzipped =
      layer.mediaType === MEDIA_TYPE.layerGzip || layer.mediaType === MEDIA_TYPE.dockerLayerGzip;
    await applyLayer(tree, gzipped ? file.pipe(createGunzip()) : file);
  }
  return tree;
}

function isExecutableFile(node: Node | undefined): boolean {
  return node?.type === 'file' && (node.mode & 0o111) !== 0;
}

/**
 * Finds node in the base; the answer for each base manifest is remembered in `memoDir`, so a
 * rebuild does not read the base's layers again.
 *
 * @example
 * const node = await findNode(base, undefined, cache.dir); // '/nodejs/bin/node'
 */
export async function findNode(
  base: BaseImage,
  override: string | undefined,
  memoDir?: string,
): Promise<string> {
  const candidates = nodeCandidates(base, override);
  const memo =
    memoDir === undefined
      ? undefined
      : join(
          memoDir,
          'base-node',
          `${hexOf(base.manifestDescriptor.digest)}-${hexOf(sha256(candidates.join('\0'))).slice(0, 16)}.json`,
        );
  if (memo !== undefined) {
    const found = await readFile(memo, 'utf8').then(
      (text) => JSON.parse(text) as { node?: unknown },
      () => undefined,
    );
    if (typeof found?.node === 'string') return found.node;
  }
  const tree = await readTree(base);
  const node = candidates.find((path) => isExecutableFile(lookup(tree, path)));
  if (node === undefined) {
    throw new BerthError(
      'BERTH_ERR_PACKAGING_NO_NODE',
      `base image ${base.name} has no node at ${candidates.join(', ')}${override === undefined ? " (its entrypoint, its PATH and distroless's path)" : ''}; give a base with Node.js 22 or later, or --node PATH where the base keeps node`,
    );
  }
  if (memo !== undefined) {
    await mkdir(posix.dirname(memo), { recursive: true });
    const temp = `${memo}.${process.pid}.tmp`;
    await writeFile(temp, JSON.stringify({ node }));
    await rename(temp, memo);
  }
  return node;
}
