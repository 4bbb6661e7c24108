/**
 * How the image targets open a base image: berth's own openBase (packaging/image-source.ts) for a
 * platform of linux/amd64, and for archives, the tar written first; every file removed after.
 */
import { rmSync, writeFileSync } from 'node:fs';
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

/** `files` packed into a tar in `root`, opened as an archive of `kind`. */
export async function openArchive(
  kind: 'oci-archive' | 'docker-archive',
  files: Readonly<Record<string, Uint8Array>>,
  root: string,
): Promise<Packaging.BaseImage> {
  const run = runs++;
  const archive = join(root, `${run}.tar`);
  const scratch = join(root, `scratch-${run}`);
  try {
    writeFileSync(archive, ustar(files));
    return await openBaseImage({ kind, path: archive }, scratch);
  } finally {
    rmSync(archive, { force: true });
    rmSync(scratch, { recursive: true, force: true });
  }
}
