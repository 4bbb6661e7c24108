/**
 * `berth models pull` through the real CLI against a real OCI registry (Debian's docker-registry,
 * with token auth): the models of an image `berth build --push` wrote come back file for file,
 * a folder that holds the image already is left alone, and an
 * image without berth models, a missing one, and wrong credentials are clear errors. Which layers
 * are fetched (the model layers only) is models-pull.test.ts's. `berth render k8s --pin` looks the
 * pushed tag up in the same registry.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { doubleModel, identityModel, writeModel } from '../fixtures/models.js';
import { testBaseImageForFile } from '../helpers/base-image.js';
import { runCli } from '../helpers/cli.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { tempDirsForFile } from '../helpers/temp-dir.js';

const baseImage = testBaseImageForFile();
const tempDir = tempDirsForFile('berth-models-pull-');
let registry: TestRegistry;
let repo: string;
let pushed: { digest: string; reference: string };
let env: Record<string, string>;

/** Every file under `dir` with its bytes, for comparison. */
function files(dir: string, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) Object.assign(out, files(path, `${prefix}${name}/`));
    else if (name !== '.berth-models.json') out[`${prefix}${name}`] = readFileSync(path).toString('base64');
  }
  return out;
}

beforeAll(async () => {
  process.env['BERTH_CACHE_DIR'] = tempDir();
  const base = await baseImage();
  repo = tempDir();
  writeModel(repo, 'double', doubleModel());
  writeModel(repo, 'identity', identityModel('FLOAT', [1, 4]), 3);
  writeFileSync(join(repo, 'double', 'config.yaml'), 'batching: { maxBatchSize: 8 }\n');
  registry = await startRegistry({ auth: 'token' });
  env = { BERTH_REGISTRY_USERNAME: registry.username, BERTH_REGISTRY_PASSWORD: registry.password };
  const built = runCli(
    [
      'build',
      repo,
      '--base',
      `oci:${base.dir}:${base.ref}`,
      '--push',
      `${registry.host}/ml/fraud:1`,
      '--insecure-registry',
      registry.host,
      '--json',
    ],
    { timeoutMs: 180_000, env },
  );
  if (built.status !== 0) throw new Error(built.stderr);
  pushed = JSON.parse(built.stdout) as typeof pushed;
}, 180_000);

afterAll(async () => {
  await registry.stop();
});

describe('berth models pull', () => {
  it('fetches the models of a pushed image, file for file, and leaves a folder that has them', () => {
    const dir = join(tempDir(), 'models');
    const image = `${registry.host}/ml/fraud@${pushed.digest}`;
    const first = runCli(['models', 'pull', image, dir, '--insecure-registry', registry.host, '--json'], {
      env,
    });
    expect(first.stderr).toBe('');
    expect(first.status).toBe(0);
    const result = JSON.parse(first.stdout) as {
      fetched: boolean;
      digest: string;
      models: { name: string; version: number }[];
    };
    expect(result).toMatchObject({ fetched: true, digest: pushed.digest });
    expect(result.models.map((m) => [m.name, m.version])).toEqual([
      ['double', 1],
      ['identity', 3],
    ]);
    expect(files(dir)).toEqual(files(repo));
    const again = runCli(['models', 'pull', image, dir, '--insecure-registry', registry.host], { env });
    expect(again.status).toBe(0);
    expect(again.stdout).toMatch(/^already there: double \(version 1\), identity \(version 3\)/);
  });

  it('says what is wrong: an image with no berth models, no such image, no credentials', () => {
    const dir = tempDir();
    const denied = runCli([
      'models',
      'pull',
      `${registry.host}/ml/fraud@${pushed.digest}`,
      dir,
      '--insecure-registry',
      registry.host,
    ]);
    expect(denied.status).not.toBe(0);
    expect(denied.stderr).toMatch(/has no credentials for .*BERTH_ERR_PACKAGING_REGISTRY_UNAUTHORIZED/);
    const missing = runCli(
      ['models', 'pull', `${registry.host}/ml/nothing:1`, dir, '--insecure-registry', registry.host],
      { env },
    );
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/nothing/);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('berth render k8s --pin', () => {
  it('renders the digest the tag names in the registry, and says when the tag names nothing', () => {
    const out = join(tempDir(), 'k8s');
    const pinned = runCli(
      [
        'render',
        'k8s',
        '--image',
        `${registry.host}/ml/fraud:1`,
        '--pin',
        '--insecure-registry',
        registry.host,
        '--name',
        'fraud',
        '-o',
        out,
        '--json',
      ],
      { env },
    );
    expect(pinned.stderr).toBe('');
    expect(pinned.status).toBe(0);
    const summary = JSON.parse(pinned.stdout) as { image: string; warnings: string[] };
    expect(summary.image).toBe(`${registry.host}/ml/fraud:1@${pushed.digest}`);
    expect(summary.warnings).toEqual([]);
    expect(readFileSync(join(out, 'deployment.yaml'), 'utf8')).toContain(`image: ${summary.image}`);

    const missing = runCli(
      [
        'render',
        'k8s',
        '--image',
        `${registry.host}/ml/fraud:no-such-tag`,
        '--pin',
        '--insecure-registry',
        registry.host,
        '-o',
        join(tempDir(), 'k8s'),
      ],
      { env },
    );
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(
      /manifest ml\/fraud:no-such-tag: HTTP 404.*BERTH_ERR_PACKAGING_IMAGE_NOT_FOUND/,
    );
  });
});
