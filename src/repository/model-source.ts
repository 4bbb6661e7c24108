/**
 * Where models come from: a Triton-layout repository folder, single model files, or bytes in
 * memory (the built-in example). Scanning never throws for one bad model: that model carries
 * its error so the others still load and its state and reason are visible.
 */
import { readFile, readdir, realpath, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, sep } from 'node:path';
import { BerthError, toBerthError } from '../protocol/index.js';
import { DEFAULT_MODEL_CONFIG, parseModelConfig, selectVersions, type ModelConfig } from './model-config.js';
import { checkModelName, isValidModelName, parseVersionName } from './model-names.js';

export type ModelArtifact =
  { readonly kind: 'file'; readonly path: string } | { readonly kind: 'bytes'; readonly bytes: Uint8Array };

export interface ModelVersionSource {
  readonly version: number;
  readonly artifact: ModelArtifact;
}

export interface ModelDescriptor {
  readonly name: string;
  readonly config: ModelConfig;
  /** Versions selected by the version policy, highest first. */
  readonly versions: readonly ModelVersionSource[];
  /** Set when the model folder itself is broken; nothing of it can load. */
  readonly error?: BerthError;
  /** The folder the model's paths start with; hidden from clients in state reasons. */
  readonly location?: string;
}

const CONFIG_FILE = 'config.yaml';
const MAX_CONFIG_BYTES = 1024 * 1024;

/** A file or folder that cannot be read, with the system's reason (ENOENT, EACCES...). */
export function unreadable(path: string, error: unknown): BerthError {
  return new BerthError(
    'BERTH_ERR_REPOSITORY_NOT_FOUND',
    `${path}: cannot read (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
    {
      cause: error,
    },
  );
}

/** Resolves `path` and refuses it when it (or a symlink in it) points outside `root`. */
async function resolveInside(root: string, path: string): Promise<string> {
  const real = await realpath(path);
  if (real !== root && !real.startsWith(root + sep)) {
    throw new BerthError(
      'BERTH_ERR_REPOSITORY_INVALID_NAME',
      `${path}: resolves outside the repository (${real})`,
    );
  }
  return real;
}

async function readConfig(root: string, dir: string): Promise<ModelConfig> {
  const path = join(dir, CONFIG_FILE);
  let info;
  try {
    info = await stat(path);
  } catch {
    return DEFAULT_MODEL_CONFIG;
  }
  // Like model files, config.yaml must not be a symlink out of the repository (YAML errors quote it).
  await resolveInside(root, path);
  if (!info.isFile()) {
    throw new BerthError('BERTH_ERR_REPOSITORY_INVALID_CONFIG', `${path}: is not a regular file`);
  }
  if (info.size > MAX_CONFIG_BYTES) {
    throw new BerthError(
      'BERTH_ERR_REPOSITORY_INVALID_CONFIG',
      `${path}: larger than ${MAX_CONFIG_BYTES} bytes`,
    );
  }
  return parseModelConfig(await readFile(path, 'utf8'), path);
}

async function scanModel(root: string, name: string): Promise<ModelDescriptor> {
  const dir = join(root, name);
  let config = DEFAULT_MODEL_CONFIG;
  try {
    checkModelName(name, root);
    await resolveInside(root, dir);
    config = await readConfig(root, dir);
    if (config.name !== undefined && config.name !== name) {
      throw new BerthError(
        'BERTH_ERR_REPOSITORY_INVALID_CONFIG',
        `${join(dir, CONFIG_FILE)}: name "${config.name}" differs from its folder name "${name}"`,
      );
    }
    const available = new Map<number, string>();
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const version = parseVersionName(entry.name);
      if (version === undefined || !(entry.isDirectory() || entry.isSymbolicLink())) continue;
      const file = join(dir, entry.name, config.defaultModelFilename);
      try {
        const real = await resolveInside(root, file);
        if ((await stat(real)).isFile()) available.set(version, real);
      } catch (error) {
        if (error instanceof BerthError) throw error;
        // A version folder without its model file is skipped, as Triton does.
      }
    }
    const selected = selectVersions([...available.keys()], config.versions);
    if (selected.length === 0) {
      const why =
        available.size === 0
          ? `no version folder (1, 2, ...) holding ${config.defaultModelFilename}`
          : `version policy ${JSON.stringify(config.versions)} selects none of versions ${[...available.keys()].join(', ')}`;
      throw new BerthError('BERTH_ERR_REPOSITORY_NO_VERSIONS', `${dir}: ${why}`);
    }
    return {
      name,
      config,
      location: root,
      versions: selected.map((version) => ({
        version,
        artifact: { kind: 'file', path: available.get(version) ?? '' },
      })),
    };
  } catch (error) {
    return { name, config, versions: [], error: toBerthError(error), location: root };
  }
}

/**
 * Scans a repository folder: every sub-folder is a model (`<model>/<version>/model.onnx`,
 * optional `<model>/config.yaml`). Hidden entries and plain files at the top are ignored.
 *
 * @example
 * const models = await scanRepository('./models');
 */
export async function scanRepository(path: string): Promise<ModelDescriptor[]> {
  let root: string;
  let entries;
  try {
    root = await realpath(path);
    entries = await readdir(root, { withFileTypes: true });
  } catch (error) {
    throw unreadable(path, error);
  }
  const names = entries
    .filter((e) => (e.isDirectory() || e.isSymbolicLink()) && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
  return Promise.all(names.map((name) => scanModel(root, name)));
}

/** A single `.onnx` file served as version 1 of a model named after the file. */
export async function modelFromFile(path: string): Promise<ModelDescriptor> {
  let real: string;
  try {
    real = await realpath(path);
    if (!(await stat(real)).isFile()) throw new Error('not a file');
  } catch (error) {
    throw unreadable(path, error);
  }
  const name = basename(path, extname(path));
  if (!isValidModelName(name)) checkModelName(name, path);
  return {
    name,
    config: DEFAULT_MODEL_CONFIG,
    location: dirname(real),
    versions: [{ version: 1, artifact: { kind: 'file', path: real } }],
  };
}

/** A model held in memory, such as the built-in example. */
export function modelFromBytes(
  name: string,
  bytes: Uint8Array,
  config: Partial<ModelConfig> = {},
): ModelDescriptor {
  checkModelName(name, 'model');
  return {
    name,
    config: { ...DEFAULT_MODEL_CONFIG, ...config },
    versions: [{ version: 1, artifact: { kind: 'bytes', bytes } }],
  };
}

/**
 * Resolves what `berth serve` was given: folders are repositories, files are single models.
 * Two models of the same name are an error, since requests could not tell them apart.
 */
export async function resolveModelSources(paths: readonly string[]): Promise<ModelDescriptor[]> {
  const models: ModelDescriptor[] = [];
  for (const path of paths) {
    let info;
    try {
      info = await stat(path);
    } catch (error) {
      throw unreadable(path, error);
    }
    if (info.isDirectory()) models.push(...(await scanRepository(path)));
    else models.push(await modelFromFile(path));
  }
  const seen = new Set<string>();
  for (const model of models) {
    if (seen.has(model.name)) {
      throw new BerthError(
        'BERTH_ERR_REPOSITORY_INVALID_NAME',
        `two models are named "${model.name}"; names must be unique`,
      );
    }
    seen.add(model.name);
  }
  return models;
}
