/** `berth init` through the real CLI: a commented berth.yaml (and its schema) for a model repository. */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  loadSpec,
  parseSpec,
  replicasSection,
  resilienceSection,
  rolloutSection,
} from '../../src/spec/index.js';
import { addSubModel, doubleModel, writeModel } from '../fixtures/models.js';
import { runCli } from '../helpers/cli.js';
import { tempDirsForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirsForFile('berth-init-');

/** A project folder with a repository (`models/`) of two models: one of two versions, one of one. */
function project(folder = 'models'): { dir: string; repo: string } {
  const dir = tempDir();
  const repo = join(dir, folder);
  writeModel(repo, 'double', doubleModel(), 1);
  writeModel(repo, 'double', doubleModel(), 2);
  writeModel(repo, 'simple', addSubModel());
  writeFileSync(join(repo, 'simple', 'config.yaml'), 'maxBatchSize: 8\n');
  return { dir, repo };
}

describe('berth init', () => {
  it('writes berth.yaml and berth.schema.json beside it, and the spec loads with the defaults', async () => {
    const { dir, repo } = project('Fraud_Scoring.v2');
    const file = join(dir, 'berth.yaml');
    const result = runCli(['init', repo, '-o', file]);
    expect(result.status).toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      `berth: wrote ${file} and ${join(dir, 'berth.schema.json')} (2 models in ./Fraud_Scoring.v2); next: berth up -f ${file}\n`,
    );
    expect(readdirSync(dir).sort()).toEqual(['Fraud_Scoring.v2', 'berth.schema.json', 'berth.yaml']);
    expect(readFileSync(join(dir, 'berth.schema.json'), 'utf8')).toBe(runCli(['schema']).stdout);

    const text = readFileSync(file, 'utf8');
    expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=./berth.schema.json');
    expect(text).toMatch(/^# {3}double {2}version 2$/m);
    expect(text).toMatch(/^# {3}simple {2}version 1 {2}\(config\.yaml\)$/m);
    const loaded = await loadSpec(file);
    expect(loaded?.spec.name).toBe('fraud-scoring-v2'); // the folder's name, made a DNS label
    expect(loaded?.repository).toBe(repo);
    expect(loaded?.spec.replicas).toEqual(replicasSection.parse({}));
    expect(loaded?.spec.rollout).toEqual(rolloutSection.parse({}));
    expect(loaded?.spec.resilience).toEqual(resilienceSection.parse({}));
  });

  it('names the repository relative to the spec file, and takes --name', async () => {
    const { dir, repo } = project();
    const file = join(dir, 'deploy', 'berth.yaml');
    const result = runCli(['init', repo, '-o', file, '--name', 'fraud-scoring', '--no-schema']);
    expect(result.status).toBe(0);
    expect(result.stderr).toBe(`berth: wrote ${file} (2 models in ../models); next: berth up -f ${file}\n`);
    expect(readdirSync(join(dir, 'deploy'))).toEqual(['berth.yaml']);
    const loaded = await loadSpec(file);
    expect(loaded?.spec.name).toBe('fraud-scoring');
    expect(loaded?.repository).toBe(repo);

    const bad = runCli(['init', repo, '-o', join(dir, 'other.yaml'), '--name', 'Fraud_Scoring']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--name: expected a DNS label');
    expect(bad.stderr).toContain('BERTH_ERR_CLI_INVALID_OPTION');
    expect(existsSync(join(dir, 'other.yaml'))).toBe(false);
  });

  it('refuses to replace an existing berth.yaml without --force, naming it', () => {
    const { dir, repo } = project();
    const file = join(dir, 'berth.yaml');
    writeFileSync(file, 'name: mine\n');
    const refused = runCli(['init', repo, '-o', file]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toBe(
      `berth: --output: ${file} exists; pass --force to replace it (BERTH_ERR_CLI_INVALID_OPTION)\n`,
    );
    expect(readFileSync(file, 'utf8')).toBe('name: mine\n');
    expect(existsSync(join(dir, 'berth.schema.json'))).toBe(false);

    const forced = runCli(['init', repo, '-o', file, '--force']);
    expect(forced.status).toBe(0);
    expect(parseSpec(readFileSync(file, 'utf8'), file).repository).toBe('./models');
  });

  it('prints the spec with --stdout and writes nothing', () => {
    const { dir, repo } = project();
    const before = readdirSync(process.cwd()).sort();
    const result = runCli(['init', repo, '--stdout', '--name', 'fraud']);
    expect(result.status).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout.split('\n')[0]).toBe('# yaml-language-server: $schema=./berth.schema.json');
    expect(parseSpec(result.stdout, 'stdout').name).toBe('fraud');
    expect(readdirSync(dir)).toEqual(['models']);
    expect(readdirSync(process.cwd()).sort()).toEqual(before);

    const both = runCli(['init', repo, '--stdout', '-o', join(dir, 'berth.yaml')]);
    expect(both.status).toBe(2);
    expect(both.stderr).toContain('BERTH_ERR_CLI_USAGE');
  });

  it('refuses a missing repository folder, a file and a model folder, with what to give instead', () => {
    const dir = tempDir();
    const missing = join(dir, 'nope');
    const result = runCli(['init', missing, '-o', join(dir, 'berth.yaml')]);
    expect(result.status).toBe(2);
    expect(result.stderr).toBe(
      `berth: ${missing}: no such folder; give the model repository folder (${missing}/<model>/<version>/model.onnx) (BERTH_ERR_REPOSITORY_NOT_FOUND)\n`,
    );
    expect(readdirSync(dir)).toEqual([]);

    const { repo } = project();
    const file = join(repo, 'stray.onnx');
    writeFileSync(file, doubleModel());
    const asFile = runCli(['init', file, '-o', join(dir, 'berth.yaml')]);
    expect(asFile.status).toBe(2);
    expect(asFile.stderr).toContain(`${file} is a file, not a model repository folder`);
    expect(asFile.stderr).toContain('REPOSITORY/stray/1/model.onnx');

    const asModel = runCli(['init', join(repo, 'double'), '-o', join(dir, 'berth.yaml')]);
    expect(asModel.status).toBe(2);
    expect(asModel.stderr).toContain(`give its parent repository: berth init ${repo}`);
    expect(asModel.stderr).toContain('BERTH_ERR_REPOSITORY_MODEL_FOLDER');
    expect(readdirSync(dir)).toEqual([]);

    // A .onnx file at the top of a repository is not served: the spec says so, and where it goes.
    mkdirSync(join(dir, 'loose'));
    writeFileSync(join(dir, 'loose', 'a.onnx'), doubleModel());
    const loose = runCli(['init', join(dir, 'loose'), '--stdout']);
    expect(loose.status).toBe(0);
    expect(loose.stderr).toContain('holds no model to serve');
    expect(loose.stdout).toMatch(
      /# {3}a\.onnx: a file at the top is not served; move it to .*\/a\/1\/model\.onnx/,
    );
  });
});
