/**
 * Where berth's production dependencies are, however berth was installed, and where each goes in
 * an image. In a checkout (`npm ci`) they are in `<root>/node_modules`. Installed as a dependency
 * or with npx, npm hoists them beside berth: `<project>/node_modules/berth-ml` is the root and
 * `<project>/node_modules/<dep>` the dependency. A global install nests them under the root again.
 * The image keeps Node's resolution: berth at /app, every dependency under /app/node_modules.
 */
import { basename, dirname, relative, sep } from 'node:path';
import { BerthError } from '../ground/index.js';

function isModulesDir(dir: string): boolean {
  return basename(dir) === 'node_modules';
}

/**
 * The folder whose `node_modules` holds the packages berth resolves: the project that installed
 * berth when berth is itself in a `node_modules` folder (`@scope/name` included), else berth's root.
 *
 * @example
 * installBase('/srv/app/node_modules/berth-ml'); // '/srv/app'
 * installBase('/home/me/berth');                 // '/home/me/berth'
 */
export function installBase(root: string): string {
  const parent = dirname(root);
  if (isModulesDir(parent)) return dirname(parent);
  if (basename(parent).startsWith('@') && isModulesDir(dirname(parent))) return dirname(dirname(parent));
  return root;
}

function posix(path: string): string {
  return path.split(sep).join('/');
}

/**
 * A dependency's path under the image's node_modules: its path below berth's own node_modules,
 * else below the installing project's.
 */
export function modulePathInImage(root: string, packageDir: string): string {
  for (const base of [root, installBase(root)]) {
    const rel = relative(`${base}${sep}node_modules`, packageDir);
    if (rel !== '' && !rel.startsWith('..') && !rel.startsWith(sep)) return posix(rel);
  }
  throw new BerthError(
    'BERTH_ERR_PACKAGING_INVALID_IMAGE',
    `dependency ${packageDir} is outside ${root}/node_modules and ${installBase(root)}/node_modules (npm link?)`,
  );
}
