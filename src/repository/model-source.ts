/**
 * Where models come from: a Triton-layout repository folder, single model files, or bytes in
 * memory (the built-in example). Scanning never throws for one bad model: that model carries
 * its error so the others still load and its state and reason are visible.
 */
import { readFile, readdir, realpath, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, sep } from 'node:path';
import { BerthError, toBerthError } from '../ground/index.js';
import {
  DEFAULT_MODEL_CONFIG,
  parseModelConfig,
  selectVersions,
  toModelConfig,
  type ModelConfig,
} from './model-config.js';
import { parseTritonConfig } from './triton-config.js';
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
  /** The model's own folder in a repository (for warm-up data files). */
  readonly modelDir?: string;
  /** What the server should log about the model's config (fields of a config.pbtxt it ignored). */
  readonly notes?: readonly string[];
}

const CONFIG_FILE = 'config.yaml';
const TRITON_CONFIG_FILE = 'config.pbtxt';
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

/** A config file's text, or undefined when there is none. */
async function readConfigText(root: string, path: string): Promise<string | undefined> {
  let info;
  try {
    info = await stat(path);
  } catch {
    return undefined;
  }
  // Like model files, a config must not be a symlink out of the repository (errors quote it).
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
  return readFile(path, 'utf8');
}

/** The model's config.yaml, or its Triton config.pbtxt, or the defaults; with what was ignored. */
async function readConfig(root: string, dir: string): Promise<{ config: ModelConfig; notes: string[] }> {
  const yamlPath = join(dir, CONFIG_FILE);
  const pbtxtPath = join(dir, TRITON_CONFIG_FILE);
  const yaml = await readConfigText(root, yamlPath);
  const pbtxt = await readConfigText(root, pbtxtPath);
  if (yaml !== undefined && pbtxt !== undefined) {
    throw new BerthError(
      'BERTH_ERR_REPOSITORY_INVALID_CONFIG',
      `${dir}: has both ${CONFIG_FILE} and ${TRITON_CONFIG_FILE}; keep one`,
    );
  }
  if (yaml !== undefined) return { config: parseModelConfig(yaml, yamlPath), notes: [] };
  if (pbtxt !== undefined) {
    const { config, ignored } = parseTritonConfig(pbtxt, pbtxtPath);
    return {
      config: toModelConfig(config, pbtxtPath),
      notes: ignored.map((field) => `${TRITON_CONFIG_FILE}: ignored ${field}`),
    };
  }
  return { config: DEFAULT_MODEL_CONFIG, notes: [] };
}

/**
 * Scans one model folder of a repository. `override` replaces its config file (the repository
 * API's load with a config).
 */
export async function scanModel(
  root: string,
  name: string,
  override?: ModelConfig,
): Promise<ModelDescriptor> {
  const dir = join(root, name);
  let config = override ?? DEFAULT_MODEL_CONFIG;
  let notes: string[] = [];
  try {
    checkModelName(name, root);
    await resolveInside(root, dir);
    if (override === undefined) ({ config, notes } = await readConfig(root, dir));
    if (config.name !== undefined && config.name !== '' && config.name !== name) {
      throw new BerthError(
        'BERTH_ERR_REPOSITORY_INVALID_CONFIG',
        `${dir}: config name "${config.name}" differs from its folder name "${name}"`,
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
      modelDir: dir,
      notes,
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
