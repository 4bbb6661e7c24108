/**
 * Everything `berth serve` was given, as a catalog that can be read again at any time: repository
 * folders (re-scanned on every look, so models added, changed or removed on disk are seen),
 * single model files, and built-in models held in memory. Model control (load, unload, poll)
 * works through this.
 */
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { BerthError } from '../ground/index.js';
import type { ModelConfig } from './model-config.js';
import { checkUniqueNames, isValidModelName, parseVersionName } from './model-names.js';
import { modelFromFile, scanModel, unreadable, type ModelDescriptor } from './model-source.js';

export interface ModelCatalog {
  /** Names of every model the sources hold now, sorted. */
  names(): Promise<string[]>;
  /** A fresh descriptor of one model, or undefined when no source has it. */
  describe(name: string, override?: ModelConfig): Promise<ModelDescriptor | undefined>;
  /** A cheap summary of a model's files (names, sizes, times) that changes when they change. */
  fingerprint(name: string): Promise<string | undefined>;
  /** The repository folders, as given, that hold no model folder now (worth a warning). */
  emptyRepositories(): Promise<string[]>;
}

type Source =
  | { readonly kind: 'repository'; readonly root: string; readonly path: string }
  | { readonly kind: 'file'; readonly name: string; readonly path: string }
  | { readonly kind: 'memory'; readonly descriptor: ModelDescriptor };

async function repositoryNames(root: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries
    .filter((e) => (e.isDirectory() || e.isSymbolicLink()) && !e.name.startsWith('.'))
    .map((e) => e.name);
}

/** The folder a user meant when they gave a model folder: its parent, written as they wrote it. */
function parentOf(path: string): string {
  const parent = dirname(resolve(path));
  return isAbsolute(path) ? parent : relative(process.cwd(), parent) || '.';
}

/**
 * Refuses a model folder given as a repository (`berth serve repo/model`): it would serve its
 * version folders as models named "1", "2". A folder is one when its sub-folders are all version
 * numbers, or when it has a config file and no model folder.
 */
async function checkNotModelFolder(path: string, root: string): Promise<void> {
  const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
  const folders = entries
    .filter((e) => (e.isDirectory() || e.isSymbolicLink()) && !e.name.startsWith('.'))
    .map((e) => e.name);
  const versions = folders
    .filter((n) => parseVersionName(n) !== undefined)
    .sort((a, b) => Number(a) - Number(b));
  const configs = entries
    .filter((e) => e.isFile() && (e.name === 'config.pbtxt' || e.name === 'config.yaml'))
    .map((e) => e.name);
  if (versions.length < folders.length || (versions.length === 0 && configs.length === 0)) return;
  const holds =
    versions.length > 0
      ? `version folder${versions.length === 1 ? '' : 's'} ${versions.join(', ')}`
      : configs.join(' and ');
  throw new BerthError(
    'BERTH_ERR_REPOSITORY_MODEL_FOLDER',
    `${path} is a model folder (it holds ${holds}), not a model repository; serve its parent repository: berth serve ${parentOf(path)}`,
  );
}

/** Whether a repository has a folder (or a link, as repositoryNames counts them) of that name. */
async function hasModelFolder(root: string, name: string): Promise<boolean> {
  const info = await lstat(join(root, name)).catch(() => undefined);
  return info !== undefined && (info.isDirectory() || info.isSymbolicLink());
}

/** Entries of a folder, recursively to `depth`, as "path size mtime" lines. */
async function listing(dir: string, depth: number, prefix = ''): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const lines: string[] = [];
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const path = join(dir, entry.name);
    try {
      const info = await stat(path);
      lines.push(`${prefix}${entry.name} ${info.isDirectory() ? 'dir' : info.size} ${info.mtimeMs}`);
      if (info.isDirectory() && depth > 0)
        lines.push(...(await listing(path, depth - 1, `${prefix}${entry.name}/`)));
    } catch {
      lines.push(`${prefix}${entry.name} gone`);
    }
  }
  return lines;
}

/**
 * Resolves what `berth serve` was given, as it is now: folders are repositories, files are single
 * models. Two models of the same name are an error, since requests could not tell them apart.
 *
 * @example
 * const models = await resolveModelSources(['./models', 'extra.onnx']);
 */
export async function resolveModelSources(paths: readonly string[]): Promise<ModelDescriptor[]> {
  const catalog = await createModelCatalog(paths, []);
  const descriptors = await Promise.all((await catalog.names()).map((name) => catalog.describe(name)));
  return descriptors.filter((d): d is ModelDescriptor => d !== undefined);
}

/**
 * @example
 * const catalog = await createModelCatalog(['./models', 'extra.onnx'], []);
 * for (const name of await catalog.names()) console.log(await catalog.describe(name));
 */
export async function createModelCatalog(
  paths: readonly string[],
  builtins: readonly ModelDescriptor[],
): Promise<ModelCatalog> {
  const sources: Source[] = builtins.map((descriptor) => ({ kind: 'memory', descriptor }));
  for (const path of paths) {
    let info;
    try {
      info = await stat(path);
    } catch (error) {
      throw unreadable(path, error);
    }
    if (info.isDirectory()) {
      const root = await realpath(path);
      await checkNotModelFolder(path, root);
      sources.push({ kind: 'repository', root, path });
    } else {
      const descriptor = await modelFromFile(path);
      sources.push({ kind: 'file', name: descriptor.name, path });
    }
  }

  /** The source of a model name: the first that has it. */
  const sourceOf = async (name: string): Promise<Source | undefined> => {
    if (!isValidModelName(name)) return undefined;
    for (const source of sources) {
      if (source.kind === 'memory' && source.descriptor.name === name) return source;
      if (source.kind === 'file' && source.name === name) return source;
      if (source.kind === 'repository' && (await hasModelFolder(source.root, name))) return source;
    }
    return undefined;
  };

  const catalog: ModelCatalog = {
    async names() {
      const all: string[] = [];
      for (const source of sources) {
        if (source.kind === 'memory') all.push(source.descriptor.name);
        else if (source.kind === 'file') all.push(source.name);
        else all.push(...(await repositoryNames(source.root)));
      }
      checkUniqueNames(all);
      return all.sort();
    },
    async describe(name, override) {
      const source = await sourceOf(name);
      if (source === undefined) return undefined;
      if (source.kind === 'repository') return scanModel(source.root, name, override);
      const descriptor = source.kind === 'memory' ? source.descriptor : await modelFromFile(source.path);
      return override === undefined ? descriptor : { ...descriptor, config: override };
    },
    async fingerprint(name) {
      const source = await sourceOf(name);
      if (source === undefined) return undefined;
      if (source.kind === 'memory') return 'memory';
      if (source.kind === 'file') {
        const info = await stat(source.path).catch(() => undefined);
        return info === undefined ? undefined : `${info.size} ${info.mtimeMs}`;
      }
      // The model folder, its version folders and the files in them.
      return (await listing(join(source.root, name), 2)).join('\n');
    },
    async emptyRepositories() {
      const empty: string[] = [];
      for (const source of sources) {
        if (source.kind === 'repository' && (await repositoryNames(source.root)).length === 0)
          empty.push(source.path);
      }
      return empty;
    },
  };
  return catalog;
}
