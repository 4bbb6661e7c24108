import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { doubleModel, identityModel, writeModel } from '../../test/fixtures/models.js';
import { BerthError } from '../ground/index.js';
import { DEFAULT_MODEL_CONFIG } from './model-config.js';
import { modelFromBytes, modelFromFile, scanRepository, type ModelDescriptor } from './model-source.js';
import { resolveModelSources } from './model-catalog.js';

let base: string;
let repo: string;

beforeEach(() => {
  base = realpathSync(mkdtempSync(join(tmpdir(), 'berth-source-')));
  repo = join(base, 'repo');
  mkdirSync(repo);
});

afterEach(() => {
  rmSync(base, { recursive: true, force: true });
});

function writeConfig(name: string, yaml: string): void {
  mkdirSync(join(repo, name), { recursive: true });
  writeFileSync(join(repo, name, 'config.yaml'), yaml);
}

/** Writes a model file into a version folder of any name, valid or not. */
function writeVersionFolder(name: string, folder: string): void {
  mkdirSync(join(repo, name, folder), { recursive: true });
  writeFileSync(join(repo, name, folder, 'model.onnx'), doubleModel());
}

function byName(models: readonly ModelDescriptor[], name: string): ModelDescriptor {
  const model = models.find((m) => m.name === name);
  if (model === undefined) throw new Error(`no model "${name}" in ${models.map((m) => m.name).join(', ')}`);
  return model;
}

function versionsOf(model: ModelDescriptor): number[] {
  return model.versions.map((v) => v.version);
}

describe('scanRepository', () => {
  it('finds every model folder, sorted by name, with the latest version by default', async () => {
    writeModel(repo, 'zeta', identityModel('FLOAT', [2]), 1);
    writeModel(repo, 'alpha', doubleModel(), 1);
    const latest = writeModel(repo, 'alpha', doubleModel(), 2);
    const models = await scanRepository(repo);
    expect(models.map((m) => m.name)).toEqual(['alpha', 'zeta']);
    const alpha = byName(models, 'alpha');
    expect(alpha.error).toBeUndefined();
    expect(alpha.config).toEqual(DEFAULT_MODEL_CONFIG);
    expect(alpha.versions).toEqual([{ version: 2, artifact: { kind: 'file', path: latest } }]);
  });

  it('applies the version policy of config.yaml, highest version first', async () => {
    for (const v of [1, 2, 3]) writeModel(repo, 'all', doubleModel(), v);
    writeConfig('all', 'versions: { policy: all }\n');
    for (const v of [1, 2, 3]) writeModel(repo, 'some', doubleModel(), v);
    writeConfig('some', 'versions: { policy: specific, versions: [1, 3] }\n');
    for (const v of [1, 2, 3]) writeModel(repo, 'two', doubleModel(), v);
    writeConfig('two', 'versions: { policy: latest, count: 2 }\nmaxBatchSize: 8\n');
    const models = await scanRepository(repo);
    expect(versionsOf(byName(models, 'all'))).toEqual([3, 2, 1]);
    expect(versionsOf(byName(models, 'some'))).toEqual([3, 1]);
    expect(versionsOf(byName(models, 'two'))).toEqual([3, 2]);
    expect(byName(models, 'two').config.maxBatchSize).toBe(8);
  });

  it('reads the model file named by defaultModelFilename', async () => {
    mkdirSync(join(repo, 'custom', '1'), { recursive: true });
    writeFileSync(join(repo, 'custom', '1', 'custom.onnx'), doubleModel());
    writeConfig('custom', 'defaultModelFilename: custom.onnx\n');
    const [custom] = await scanRepository(repo);
    expect(custom?.error).toBeUndefined();
    expect(custom?.versions).toEqual([
      { version: 1, artifact: { kind: 'file', path: join(repo, 'custom', '1', 'custom.onnx') } },
    ]);
  });

  it('ignores version folders that are not positive integers without leading zeros', async () => {
    for (const folder of ['0', '01', 'abc', '-1', '1.0']) writeVersionFolder('m', folder);
    writeModel(repo, 'm', doubleModel(), 3);
    writeConfig('m', 'versions: { policy: all }\n');
    const [m] = await scanRepository(repo);
    expect(m?.error).toBeUndefined();
    expect(m === undefined ? [] : versionsOf(m)).toEqual([3]);
  });

  it('reports a model whose only version folders are invalid', async () => {
    for (const folder of ['0', '01', 'abc']) writeVersionFolder('m', folder);
    const [m] = await scanRepository(repo);
    expect(m?.versions).toEqual([]);
    expect(m?.error?.code).toBe('BERTH_ERR_REPOSITORY_NO_VERSIONS');
    expect(m?.error?.message).toBe(`${join(repo, 'm')}: no version folder (1, 2, ...) holding model.onnx`);
  });

  it('skips a version folder without its model file', async () => {
    writeModel(repo, 'm', doubleModel(), 1);
    mkdirSync(join(repo, 'm', '2'));
    mkdirSync(join(repo, 'm', '3', 'model.onnx'), { recursive: true }); // a folder, not a file
    const [m] = await scanRepository(repo);
    expect(m?.error).toBeUndefined();
    expect(m === undefined ? [] : versionsOf(m)).toEqual([1]);
  });

  it('reports a version policy that selects none of the versions present', async () => {
    writeModel(repo, 'm', doubleModel(), 1);
    writeModel(repo, 'm', doubleModel(), 2);
    writeConfig('m', 'versions: { policy: specific, versions: [5] }\n');
    const [m] = await scanRepository(repo);
    expect(m?.error?.code).toBe('BERTH_ERR_REPOSITORY_NO_VERSIONS');
    expect(m?.error?.message).toContain('selects none of versions');
  });

  it('reports a model folder with no versions at all', async () => {
    mkdirSync(join(repo, 'empty'));
    const [m] = await scanRepository(repo);
    expect(m?.name).toBe('empty');
    expect(m?.error?.code).toBe('BERTH_ERR_REPOSITORY_NO_VERSIONS');
  });

  it('refuses a model folder that is a symlink out of the repository', async () => {
    const outside = join(base, 'outside');
    writeModel(outside, 'secret', doubleModel(), 1);
    symlinkSync(join(outside, 'secret'), join(repo, 'evil'));
    writeModel(repo, 'good', doubleModel(), 1);
    const models = await scanRepository(repo);
    const evil = byName(models, 'evil');
    expect(evil.versions).toEqual([]);
    expect(evil.error?.code).toBe('BERTH_ERR_REPOSITORY_INVALID_NAME');
    expect(evil.error?.message).toContain('resolves outside the repository');
    expect(byName(models, 'good').error).toBeUndefined();
  });

  it('refuses a model file that is a symlink out of the repository', async () => {
    const outsideFile = writeModel(join(base, 'outside'), 'secret', doubleModel(), 1);
    mkdirSync(join(repo, 'm', '1'), { recursive: true });
    symlinkSync(outsideFile, join(repo, 'm', '1', 'model.onnx'));
    const [m] = await scanRepository(repo);
    expect(m?.versions).toEqual([]);
    expect(m?.error?.code).toBe('BERTH_ERR_REPOSITORY_INVALID_NAME');
    expect(m?.error?.message).toContain('resolves outside the repository');
  });

  it('refuses a config.yaml that is a symlink out of the repository', async () => {
    const secret = join(base, 'secret.txt');
    writeFileSync(secret, 'password: hunter2\n');
    writeModel(repo, 'm', doubleModel(), 1);
    symlinkSync(secret, join(repo, 'm', 'config.yaml'));
    const [m] = await scanRepository(repo);
    expect(m?.versions).toEqual([]);
    expect(m?.error?.code).toBe('BERTH_ERR_REPOSITORY_INVALID_NAME');
    expect(m?.error?.message).toContain('resolves outside the repository');
    expect(m?.error?.message).not.toContain('hunter2');
  });

  it('follows symlinks that stay inside the repository', async () => {
    const target = writeModel(repo, 'real', doubleModel(), 1);
    mkdirSync(join(repo, 'alias'));
    symlinkSync(join(repo, 'real', '1'), join(repo, 'alias', '4'));
    const models = await scanRepository(repo);
    expect(byName(models, 'alias').versions).toEqual([
      { version: 4, artifact: { kind: 'file', path: target } },
    ]);
  });

  it('reports a folder with a disallowed model name', async () => {
    writeModel(repo, 'bad name', doubleModel(), 1);
    writeModel(repo, '-dash', doubleModel(), 1);
    const models = await scanRepository(repo);
    for (const name of ['bad name', '-dash']) {
      const model = byName(models, name);
      expect(model.versions).toEqual([]);
      expect(model.error?.code).toBe('BERTH_ERR_REPOSITORY_INVALID_NAME');
      expect(model.error?.message).toContain(JSON.stringify(name));
    }
  });

  it('ignores hidden folders and plain files at the top', async () => {
    writeModel(repo, '.git', doubleModel(), 1);
    writeFileSync(join(repo, 'README.md'), '# models\n');
    writeModel(repo, 'm', doubleModel(), 1);
    expect((await scanRepository(repo)).map((m) => m.name)).toEqual(['m']);
  });

  it('keeps scanning when one model is broken, giving that one its error', async () => {
    writeModel(repo, 'a_good', doubleModel(), 1);
    writeModel(repo, 'b_bad_yaml', doubleModel(), 1);
    writeConfig('b_bad_yaml', 'versions: [\n');
    writeModel(repo, 'c_unknown_key', doubleModel(), 1);
    writeConfig('c_unknown_key', 'maxBatchsize: 4\n');
    writeModel(repo, 'd_renamed', doubleModel(), 1);
    writeConfig('d_renamed', 'name: other\n');
    writeModel(repo, 'e_good', identityModel('INT32', [3]), 2);

    const models = await scanRepository(repo);
    expect(models.map((m) => [m.name, m.error?.code])).toEqual([
      ['a_good', undefined],
      ['b_bad_yaml', 'BERTH_ERR_REPOSITORY_INVALID_CONFIG'],
      ['c_unknown_key', 'BERTH_ERR_REPOSITORY_INVALID_CONFIG'],
      ['d_renamed', 'BERTH_ERR_REPOSITORY_INVALID_CONFIG'],
      ['e_good', undefined],
    ]);
    expect(byName(models, 'b_bad_yaml').error?.message).toContain(join(repo, 'b_bad_yaml', 'config.yaml'));
    expect(byName(models, 'c_unknown_key').error?.message).toContain('"maxBatchsize"');
    expect(byName(models, 'd_renamed').error?.message).toContain(
      'name "other" differs from its folder name "d_renamed"',
    );
    expect(byName(models, 'b_bad_yaml').versions).toEqual([]);
    expect(versionsOf(byName(models, 'e_good'))).toEqual([2]);
  });

  it('accepts a config.yaml whose name matches its folder', async () => {
    writeModel(repo, 'm', doubleModel(), 1);
    writeConfig('m', 'name: m\n');
    const [m] = await scanRepository(repo);
    expect(m?.error).toBeUndefined();
    expect(m?.config.name).toBe('m');
  });

  it('refuses a missing repository', async () => {
    const missing = join(base, 'nope');
    await expect(scanRepository(missing)).rejects.toBeInstanceOf(BerthError);
    await expect(scanRepository(missing)).rejects.toMatchObject({
      code: 'BERTH_ERR_REPOSITORY_NOT_FOUND',
      message: `${missing}: cannot read (ENOENT)`,
    });
  });

  it('gives an empty list for an empty repository', async () => {
    expect(await scanRepository(repo)).toEqual([]);
  });
});

describe('modelFromFile', () => {
  it('serves a file as version 1 of a model named after the file', async () => {
    const file = join(base, 'my.model.onnx');
    writeFileSync(file, doubleModel());
    expect(await modelFromFile(file)).toEqual({
      name: 'my.model',
      config: DEFAULT_MODEL_CONFIG,
      location: base,
      versions: [{ version: 1, artifact: { kind: 'file', path: file } }],
    });
  });

  it('names a file without an extension after the whole file name', async () => {
    const file = join(base, 'plain');
    writeFileSync(file, doubleModel());
    expect((await modelFromFile(file)).name).toBe('plain');
  });

  it('resolves a symlinked file to its real path', async () => {
    const real = join(base, 'real.onnx');
    writeFileSync(real, doubleModel());
    const link = join(base, 'link.onnx');
    symlinkSync(real, link);
    const model = await modelFromFile(link);
    expect(model.name).toBe('link');
    expect(model.versions[0]?.artifact).toEqual({ kind: 'file', path: real });
  });

  it('refuses a missing file and a folder', async () => {
    await expect(modelFromFile(join(base, 'nope.onnx'))).rejects.toMatchObject({
      code: 'BERTH_ERR_REPOSITORY_NOT_FOUND',
    });
    await expect(modelFromFile(repo)).rejects.toMatchObject({ code: 'BERTH_ERR_REPOSITORY_NOT_FOUND' });
  });

  it('refuses a file whose name is not a valid model name', async () => {
    const file = join(base, 'bad name.onnx');
    writeFileSync(file, doubleModel());
    await expect(modelFromFile(file)).rejects.toMatchObject({
      code: 'BERTH_ERR_REPOSITORY_INVALID_NAME',
      message: expect.stringContaining('"bad name"') as unknown,
    });
  });
});

describe('modelFromBytes', () => {
  it('holds the bytes as version 1 with the config merged over the defaults', () => {
    const bytes = doubleModel();
    const model = modelFromBytes('iris', bytes, { maxBatchSize: 4 });
    expect(model).toEqual({
      name: 'iris',
      config: { ...DEFAULT_MODEL_CONFIG, maxBatchSize: 4 },
      versions: [{ version: 1, artifact: { kind: 'bytes', bytes } }],
    });
  });

  it('refuses an invalid name', () => {
    expect(() => modelFromBytes('../x', new Uint8Array(0))).toThrow(BerthError);
  });
});

describe('resolveModelSources', () => {
  it('combines repositories and single files', async () => {
    writeModel(repo, 'a', doubleModel(), 1);
    const file = join(base, 'b.onnx');
    writeFileSync(file, doubleModel());
    const models = await resolveModelSources([repo, file]);
    expect(models.map((m) => m.name)).toEqual(['a', 'b']);
  });

  it('refuses two models of the same name', async () => {
    writeModel(repo, 'double', doubleModel(), 1);
    const file = join(base, 'double.onnx');
    writeFileSync(file, doubleModel());
    await expect(resolveModelSources([repo, file])).rejects.toMatchObject({
      code: 'BERTH_ERR_REPOSITORY_INVALID_NAME',
      message: 'two models are named "double"; names must be unique',
    });
    await expect(resolveModelSources([file, file])).rejects.toMatchObject({
      code: 'BERTH_ERR_REPOSITORY_INVALID_NAME',
    });
  });

  it('refuses a path that does not exist', async () => {
    const missing = join(base, 'missing');
    await expect(resolveModelSources([repo, missing])).rejects.toMatchObject({
      code: 'BERTH_ERR_REPOSITORY_NOT_FOUND',
      message: expect.stringContaining(missing) as unknown,
    });
  });

  it('keeps a broken model of a repository as a descriptor with its error', async () => {
    writeModel(repo, 'ok', doubleModel(), 1);
    mkdirSync(join(repo, 'broken'));
    const models = await resolveModelSources([repo]);
    expect(models.map((m) => [m.name, m.error?.code])).toEqual([
      ['broken', 'BERTH_ERR_REPOSITORY_NO_VERSIONS'],
      ['ok', undefined],
    ]);
  });
});
