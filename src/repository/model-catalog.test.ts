/** What berth serve is given: a repository, not one model's folder; an empty one is worth a warning. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BerthError } from '../ground/index.js';
import { createModelCatalog } from './model-catalog.js';
import { tempDirsForFile } from '../../test/helpers/temp-dir.js';

const tempDir = tempDirsForFile('berth-catalog-');

/** A fresh folder with `files` (relative path -> content; a trailing / makes a folder). */
function layout(files: Record<string, string>): string {
  const dir = tempDir();
  for (const [path, content] of Object.entries(files)) {
    if (path.endsWith('/')) mkdirSync(join(dir, path), { recursive: true });
    else {
      mkdirSync(join(dir, path, '..'), { recursive: true });
      writeFileSync(join(dir, path), content);
    }
  }
  return dir;
}

async function refusal(paths: string[]): Promise<BerthError> {
  const error: unknown = await createModelCatalog(paths, []).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BerthError);
  return error as BerthError;
}

describe('createModelCatalog', () => {
  it('refuses a model folder given as the repository, and names the repository meant', async () => {
    const repo = layout({ 'model/1/model.onnx': 'x', 'model/2/model.onnx': 'x', 'model/config.pbtxt': '' });
    const error = await refusal([join(repo, 'model')]);
    expect(error.code).toBe('BERTH_ERR_REPOSITORY_MODEL_FOLDER');
    expect(error.message).toBe(
      `${join(repo, 'model')} is a model folder (it holds version folders 1, 2), not a model repository; serve its parent repository: berth serve ${repo}`,
    );
  });

  it('writes the parent as the user wrote the path: relative stays relative', async () => {
    const repo = layout({ 'fraud/10/model.onnx': 'x', 'fraud/9/model.onnx': 'x' });
    const given = relative(process.cwd(), join(repo, 'fraud'));
    const error = await refusal([given]);
    expect(error.message).toContain('(it holds version folders 9, 10)');
    expect(error.message).toMatch(new RegExp(`berth serve ${relative(process.cwd(), repo)}$`));
  });

  it('refuses a model folder that has a config file and no version folder yet', async () => {
    const repo = layout({ 'm/config.yaml': 'maxBatchSize: 4\n' });
    const error = await refusal([join(repo, 'm')]);
    expect(error.message).toContain('is a model folder (it holds config.yaml)');
  });

  it('takes a repository whose models hold version folders, and lists no empty repository', async () => {
    const repo = layout({ 'a/1/model.onnx': 'x', 'b/config.pbtxt': '', 'b/3/': '' });
    const catalog = await createModelCatalog([repo], []);
    expect(await catalog.names()).toEqual(['a', 'b']);
    expect(await catalog.emptyRepositories()).toEqual([]);
  });

  it('reports a repository with no model folder as empty, as it was given', async () => {
    const repo = layout({ 'README.md': 'models go here' });
    const catalog = await createModelCatalog([repo], []);
    expect(await catalog.names()).toEqual([]);
    expect(await catalog.emptyRepositories()).toEqual([repo]);
  });
});
