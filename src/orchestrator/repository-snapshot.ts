/**
 * What `berth up` serves when it watches its models (`rollout.watch`): a snapshot of the given
 * `.onnx` files and repository folders per revision, so that a replica of the stable revision
 * that restarts (a crash, a scale-up, a rollback) loads what that revision served, not what has
 * since been written to the source. Files are hard-linked into the snapshot (no data copied) where
 * the snapshot folder is on the same filesystem, and copied (copy-on-write where the filesystem
 * can) where it is not. A new version is expected as a new folder or a file renamed over the old
 * one, as Triton's poll mode expects; a file rewritten in place would change its hard links too.
 *
 * The fingerprint says whether the sources changed: every entry's relative path, with each
 * file's size and modification time, hashed. It reads metadata only, never a model's bytes.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { copyFile, link, mkdir, readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { BerthError } from '../ground/index.js';

/** Entries looked at per fingerprint or snapshot at most: a watch is not a crawler. */
export const MAX_ENTRIES = 100_000;

interface Entry {
  /** Relative to its source, `/`-separated. */
  readonly path: string;
  readonly kind: 'file' | 'dir';
  readonly size: number;
  readonly mtimeMs: number;
}

/** The entries under `source` (itself included), in a stable order; symbolic links are followed. */
async function entriesOf(source: string, budget: { left: number }): Promise<Entry[]> {
  const out: Entry[] = [];
  const walk = async (absolute: string, relative: string): Promise<void> => {
    if (--budget.left < 0) {
      throw new BerthError(
        'BERTH_ERR_UP_WATCH_TOO_LARGE',
        `the watched models hold more than ${MAX_ENTRIES} files and folders; watch a smaller repository`,
      );
    }
    const info = await stat(absolute);
    if (info.isDirectory()) {
      out.push({ path: relative, kind: 'dir', size: 0, mtimeMs: 0 });
      const names = (await readdir(absolute)).sort();
      for (const name of names)
        await walk(join(absolute, name), relative === '' ? name : `${relative}/${name}`);
    } else if (info.isFile()) {
      out.push({ path: relative, kind: 'file', size: info.size, mtimeMs: info.mtimeMs });
    }
  };
  await walk(source, '');
  return out;
}

/**
 * A hash of what `sources` hold now: paths, sizes and modification times.
 *
 * @example
 * const before = await fingerprint(['/models']);
 * // ... a new version folder is written ...
 * (await fingerprint(['/models'])) !== before; // true
 */
export async function fingerprint(sources: readonly string[]): Promise<string> {
  const hash = createHash('sha256');
  const budget = { left: MAX_ENTRIES };
  for (const [i, source] of sources.entries()) {
    hash.update(`#${i}\n`);
    for (const entry of await entriesOf(source, budget)) {
      hash.update(`${entry.kind} ${entry.path} ${entry.size} ${entry.mtimeMs}\n`);
    }
  }
  return hash.digest('hex');
}

/**
 * Copies `sources` into the new folder `into` (hard links where it can), each into a numbered
 * folder under its own name, so that a model named after its `.onnx` file keeps its name, and
 * returns the paths to give `berth serve` in their place.
 *
 * @example
 * const args = await snapshot(['/models', '/x/fraud.onnx'], '/tmp/r/2'); // ['/tmp/r/2/0/models', '/tmp/r/2/1/fraud.onnx']
 */
export async function snapshot(sources: readonly string[], into: string): Promise<string[]> {
  await mkdir(into, { recursive: true, mode: 0o700 });
  const budget = { left: MAX_ENTRIES };
  const args: string[] = [];
  for (const [i, source] of sources.entries()) {
    await mkdir(join(into, String(i)));
    const target = join(into, String(i), basename(source));
    for (const entry of await entriesOf(source, budget)) {
      const from = entry.path === '' ? source : join(source, entry.path);
      const to = entry.path === '' ? target : join(target, entry.path);
      if (entry.kind === 'dir') await mkdir(to, { recursive: true });
      else await link(from, to).catch(() => copyFile(from, to, constants.COPYFILE_FICLONE));
    }
    args.push(target);
  }
  return args;
}
