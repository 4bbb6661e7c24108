/**
 * The files of berth itself that an image needs at run time: package.json, bin/, the compiled
 * dist/ (without tests, type declarations or source maps) and the production dependencies from
 * node_modules, found by following `dependencies` from package.json the way Node resolves them.
 * Dependencies are pruned of what never runs (their top-level test and documentation folders,
 * test files, type declarations, source maps, markdown other than licences) and onnxruntime-node
 * of its binaries for other platforms.
 */
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BerthError } from '../ground/index.js';
import { APP_DIR } from './image-contract.js';
import { installBase, modulePathInImage } from './install-layout.js';
import type { LayerEntry } from './layer-builder.js';
import type { Platform } from './oci-layout.js';

/** Where berth is installed: the folder with its package.json. */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

const DROPPED_FILE =
  /(\.test\.[cm]?js|\.spec\.[cm]?js|\.d\.ts|\.d\.mts|\.d\.cts|\.map|\.tsbuildinfo|\.md|\.markdown)$|^(\.npmignore|\.eslintrc.*|\.prettierrc.*|tsconfig\.json|CHANGELOG.*|HISTORY.*)$/i;
const KEPT_MARKDOWN = /^(LICEN[CS]E|NOTICE|COPYING)/i;
const DROPPED_DIR = /^(test|tests|__tests__|docs?|examples?|\.github|coverage|benchmarks?)$/i;

const ONNX_PLATFORM: Record<string, string> = { linux: 'linux', darwin: 'darwin', windows: 'win32' };
const ONNX_ARCH: Record<string, string> = { amd64: 'x64', arm64: 'arm64' };

interface PackageJson {
  readonly name?: string;
  readonly version?: string;
  readonly dependencies?: Record<string, string>;
  readonly optionalDependencies?: Record<string, string>;
}

async function readPackage(dir: string): Promise<PackageJson> {
  return JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as PackageJson;
}

/**
 * Node's lookup of `name` from a package folder: its own node_modules, then each parent's, up to
 * the folder berth was installed in (installBase).
 */
async function resolvePackage(from: string, name: string, top: string): Promise<string | undefined> {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (
      await stat(join(candidate, 'package.json')).then(
        () => true,
        () => false,
      )
    )
      return realpath(candidate);
    if (dir === top || dirname(dir) === dir) return undefined;
  }
}

/**
 * berth's own dependencies that only commands run on a workstation or in CI use, never a server
 * in a container: the Kubernetes client of `berth deploy` (about 80 MB with its own). Left out
 * of the image with whatever only they depend on.
 */
export const NOT_IN_IMAGE: ReadonlySet<string> = new Set(['@kubernetes/client-node']);

/** Every production package folder reachable from the root package, each once. */
export async function productionPackages(root: string): Promise<string[]> {
  const top = installBase(root);
  const found = new Set<string>();
  const visit = async (dir: string, optional: boolean, name: string): Promise<void> => {
    if (found.has(dir)) return;
    found.add(dir);
    const pkg = await readPackage(dir);
    const deps = Object.keys(pkg.dependencies ?? {});
    const optionalDeps = Object.keys(pkg.optionalDependencies ?? {});
    for (const dep of [...deps, ...optionalDeps]) {
      if (dir === root && NOT_IN_IMAGE.has(dep)) continue;
      const resolved = await resolvePackage(dir, dep, top);
      if (resolved === undefined) {
        if (optionalDeps.includes(dep) || optional) continue;
        throw new BerthError(
          'BERTH_ERR_PACKAGING_INVALID_IMAGE',
          `dependency "${dep}" of ${name} is not installed; run npm ci (or npm install) first`,
        );
      }
      await visit(resolved, optionalDeps.includes(dep), dep);
    }
  };
  await visit(root, false, 'berth');
  found.delete(root);
  return [...found].sort();
}

/** Whether a file of onnxruntime-node is a binary for another platform than the image's. */
function foreignBinary(pathInPackage: string, platform: Platform): boolean {
  const match = /^bin\/napi-v\d+\/([^/]+)\/([^/]+)\//.exec(pathInPackage);
  if (match === null) return false;
  return match[1] !== ONNX_PLATFORM[platform.os] || match[2] !== ONNX_ARCH[platform.architecture];
}

async function walk(
  dir: string,
  keep: (relativePath: string, isDir: boolean) => boolean,
  base = dir,
): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    const rel = relative(base, path).split(sep).join('/');
    if (entry.isDirectory()) {
      if (keep(rel, true)) out.push(...(await walk(path, keep, base)));
    } else if (entry.isFile() && keep(rel, false)) {
      out.push(path);
    }
  }
  return out;
}

function fileEntry(path: string, inImage: string, executable: boolean): LayerEntry {
  return { type: 'file', path: inImage, mode: executable ? 0o755 : 0o644, source: path };
}

async function isExecutable(path: string): Promise<boolean> {
  return ((await stat(path)).mode & 0o111) !== 0;
}

/**
 * The runtime layer's entries, under app/.
 *
 * @example
 * const entries = await runtimeEntries(PACKAGE_ROOT, { os: 'linux', architecture: 'amd64' });
 */
export async function runtimeEntries(root: string, platform: Platform): Promise<LayerEntry[]> {
  const dist = join(root, 'dist');
  if (
    !(await stat(dist).then(
      (s) => s.isDirectory(),
      () => false,
    ))
  ) {
    throw new BerthError('BERTH_ERR_PACKAGING_INVALID_IMAGE', `${dist} is missing; run npm run build first`);
  }
  const entries: LayerEntry[] = [
    fileEntry(join(root, 'package.json'), `${APP_DIR}/package.json`, false),
    fileEntry(join(root, 'bin', 'berth.js'), `${APP_DIR}/bin/berth.js`, true),
  ];
  for (const path of await walk(
    dist,
    (rel, isDir) => isDir || (/\.js$/.test(rel) && !/\.test\.js$/.test(rel)),
  )) {
    entries.push(fileEntry(path, `${APP_DIR}/dist/${relative(dist, path).split(sep).join('/')}`, false));
  }
  const placed = new Map<string, string>();
  for (const pkgDir of await productionPackages(root)) {
    const inModules = modulePathInImage(root, pkgDir);
    const other = placed.get(inModules);
    if (other !== undefined) {
      throw new BerthError(
        'BERTH_ERR_PACKAGING_INVALID_IMAGE',
        `${pkgDir} and ${other} would both be node_modules/${inModules} in the image; install berth in a folder of its own (npm install -g, or a project with only berth)`,
      );
    }
    placed.set(inModules, pkgDir);
    const isOnnx = inModules === 'onnxruntime-node';
    const files = await walk(pkgDir, (rel, isDir) => {
      const name = rel.split('/').pop() ?? rel;
      if (rel === 'node_modules' || rel.startsWith('node_modules/')) return false; // nested packages come on their own
      // Only a package's own top-level test/docs folders: deeper ones can be code (yaml/dist/doc).
      if (isDir)
        return (
          !(DROPPED_DIR.test(name) && !rel.includes('/')) && !(isOnnx && foreignBinary(`${rel}/`, platform))
        );
      if (isOnnx && foreignBinary(rel, platform)) return false;
      return KEPT_MARKDOWN.test(name) || !DROPPED_FILE.test(name);
    });
    for (const path of files) {
      const rel = relative(pkgDir, path).split(sep).join('/');
      entries.push(fileEntry(path, `${APP_DIR}/node_modules/${inModules}/${rel}`, await isExecutable(path)));
    }
  }
  return entries;
}
