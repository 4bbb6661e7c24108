/**
 * How the image targets open a base image: berth's own openBase (packaging/image-source.ts) for a
 * platform of linux/amd64, and for archives, the tar written first; every file removed after.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as Packaging from '../src/packaging/image-source.js';
import { berth } from './target.ts';
import { ustar } from './ustar.ts';

const source = await berth<typeof Packaging>('packaging/image-source.js');

type Context = Parameters<typeof Packaging.openBase>[2];

let runs = 0;

/**
 * openBase(spec) with `scratch` for unpacking and, for a registry, `client`.
 *
 * @example
 * await openBaseImage({ kind: 'oci', path: dir }, scratch);
 */
export function openBaseImage(
  spec: Packaging.BaseSpec,
  scratch: string,
  extra: Partial<Pick<Context, 'cache' | 'client'>> = {},
): Promise<Packaging.BaseImage> {
  return source.openBase(
    spec,
    { os: 'linux', architecture: 'amd64' },
    {
      scratch,
      cache: extra.cache ?? (undefined as never),
      client:
        extra.client ??
        (() => {
          throw new Error('no registry in this target');
        }),
    },
  );
}

/** Runs `work` in a fresh folder under `root`, removed afterwards whatever happens. */
export async function inRunFolder<T>(root: string, work: (dir: string) => Promise<T>): Promise<T> {
  const dir = join(root, String(runs++));
  try {
    return await work(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `files` packed into a tar in `root`, opened as an archive of `kind`. */
export function openArchive(
  kind: 'oci-archive' | 'docker-archive',
  files: Readonly<Record<string, Uint8Array>>,
  root: string,
): Promise<Packaging.BaseImage> {
  return inRunFolder(root, (dir) => {
    mkdirSync(dir);
    const archive = join(dir, 'base.tar');
    writeFileSync(archive, ustar(files));
    return openBaseImage({ kind, path: archive }, join(dir, 'scratch'));
  });
}
