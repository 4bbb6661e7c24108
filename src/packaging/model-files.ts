/**
 * The models of an image, one layer each, laid out as a repository under /models: what
 * `berth build` was given (a repository folder, .onnx files, or both) becomes
 * `models/<name>/<version>/<file>` plus the model's config file and warm-up data. Each model's
 * layer depends only on that model's files, so changing one model changes one layer.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { basename, extname, join, relative, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { BerthError } from '../ground/index.js';
import { checkModelName, checkUniqueNames, parseVersionName } from '../repository/index.js';
import { MODELS_DIR } from './image-contract.js';
import type { LayerEntry } from './layer-builder.js';

export interface ModelFiles {
  readonly name: string;
  /** The highest version folder (for the berth.model.<name>.version label). */
  readonly version: number;
  /** sha256 of the model file of that version. */
  readonly sha256: string;
  readonly entries: readonly LayerEntry[];
}

/** The hex sha256 of a file's bytes (what the berth.model.<name>.sha256 labels record). */
export async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    const real = await realpath(path);
    const info = await stat(real);
    if (info.isDirectory()) out.push(...(await filesUnder(path)));
    else if (info.isFile()) out.push(path);
  }
  return out;
}

async function modelFolder(root: string, name: string): Promise<ModelFiles> {
  checkModelName(name, root);
  const dir = join(root, name);
  const files = await filesUnder(dir);
  const versions = files
    .map((f) => parseVersionName(relative(dir, f).split(sep)[0] ?? ''))
    .filter((v): v is number => v !== undefined);
  if (versions.length === 0) {
    throw new BerthError(
      'BERTH_ERR_REPOSITORY_NO_VERSIONS',
      `${dir}: no version folder (1, 2, ...) with a model file`,
    );
  }
  const version = Math.max(...versions);
  const inVersion = files.filter((f) => relative(dir, f).split(sep)[0] === String(version));
  const model = inVersion.find((f) => extname(f) === '.onnx') ?? inVersion[0];
  return {
    name,
    version,
    sha256: model === undefined ? '' : await fileSha256(model),
    entries: files.map((path) => ({
      type: 'file',
      path: `${MODELS_DIR}/${name}/${relative(dir, path).split(sep).join('/')}`,
      mode: 0o644,
      source: path,
    })),
  };
}

/**
 * The model layers' contents for what `berth build` was given, sorted by model name.
 *
 * @throws BerthError when two models share a name, or a model folder has no version.
 */
export async function collectModels(paths: readonly string[]): Promise<ModelFiles[]> {
  const models: ModelFiles[] = [];
  for (const path of paths) {
    const info = await stat(path).catch((error: unknown) => {
      throw new BerthError(
        'BERTH_ERR_REPOSITORY_NOT_FOUND',
        `${path}: cannot read (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
      );
    });
    if (info.isDirectory()) {
      for (const entry of (await readdir(path, { withFileTypes: true })).sort((a, b) =>
        a.name.localeCompare(b.name),
      )) {
        if (entry.name.startsWith('.') || !(entry.isDirectory() || entry.isSymbolicLink())) continue;
        models.push(await modelFolder(path, entry.name));
      }
    } else {
      const name = basename(path, extname(path));
      checkModelName(name, path);
      models.push({
        name,
        version: 1,
        sha256: await fileSha256(path),
        entries: [{ type: 'file', path: `${MODELS_DIR}/${name}/1/model.onnx`, mode: 0o644, source: path }],
      });
    }
  }
  checkUniqueNames(models.map((m) => m.name));
  return models.sort((a, b) => a.name.localeCompare(b.name));
}
