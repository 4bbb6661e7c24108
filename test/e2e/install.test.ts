/**
 * berth outside its checkout, as a user gets it: `npm pack`, then `npm install` of the tarball
 * into an empty project by the offline route of docs/install.md (onnxruntime-node's download of
 * CUDA libraries skipped; everything else from the npm registry, or npm's cache). Then the
 * installed `berth` command: its version, serving the example model, a client that imports
 * `berth-ml/client`, and `berth build` from the installed package (its dependencies hoisted
 * beside it, not under it).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testBaseImageForFile } from '../helpers/base-image.js';
import { startServe } from '../helpers/cli.js';
import { tempDirsForFile } from '../helpers/temp-dir.js';

const baseImage = testBaseImageForFile();
const tempDir = tempDirsForFile('berth-install-');

const ROOT = new URL('../../', import.meta.url).pathname;
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

let work: string;
let project: string;
let bin: string;

beforeAll(() => {
  work = tempDir();
  execFileSync('npm', ['pack', '--silent', '--pack-destination', work], { cwd: ROOT, encoding: 'utf8' });
  const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
  if (tarball === undefined) throw new Error(`npm pack wrote no tarball in ${work}`);
  project = join(work, 'app');
  execFileSync('mkdir', [project]);
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'app', private: true, type: 'module' }),
  );
  const install = spawnSync(
    'npm',
    ['install', '--no-audit', '--no-fund', '--prefer-offline', join(work, tarball)],
    {
      cwd: project,
      encoding: 'utf8',
      env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' },
      timeout: 240_000,
    },
  );
  if (install.status !== 0) throw new Error(`npm install failed:\n${install.stdout}\n${install.stderr}`);
  bin = join(project, 'node_modules', 'berth-ml', 'bin', 'berth.js');
}, 300_000);

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

function installed(args: string[], timeout = 60_000) {
  return spawnSync(process.execPath, [bin, ...args], { cwd: project, encoding: 'utf8', timeout });
}

describe('berth installed from its npm tarball', () => {
  it('answers its version through the installed command', () => {
    const npx = spawnSync('npx', ['--no-install', 'berth', '--version'], { cwd: project, encoding: 'utf8' });
    expect(npx.stdout.trim()).toBe(VERSION);
    expect(npx.status).toBe(0);
  });

  it('serves the example model, and berth-ml/client from the project classifies with it', async () => {
    const server = await startServe([], 30_000, bin);
    try {
      const script = [
        "import { createClient } from 'berth-ml/client';",
        `const client = createClient({ url: ${JSON.stringify(server.url)} });`,
        'for (let i = 0; i < 100 && !(await client.ready().catch(() => false)); i++) await new Promise((r) => setTimeout(r, 100));',
        "const result = await client.infer('iris', [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: new Float32Array([5.1, 3.5, 1.4, 0.2]) }]);",
        "const labels = result.outputs.find((o) => o.name === 'label').data;",
        'console.log(JSON.stringify(labels.map((b) => new TextDecoder().decode(b))));',
      ].join('\n');
      writeFileSync(join(project, 'classify.mjs'), script);
      const run = spawnSync(process.execPath, ['classify.mjs'], {
        cwd: project,
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(run.stderr).toBe('');
      expect(JSON.parse(run.stdout)).toEqual(['setosa']);
    } finally {
      await server.stop();
    }
  }, 60_000);

  it('builds an image from the installed package, its dependencies hoisted beside it', async () => {
    const image = await baseImage();
    const out = join(work, 'image.tar');
    const result = installed(
      ['build', '--base', `oci:${image.dir}:${image.ref}`, '--output', `oci-archive:${out}`, '--json'],
      120_000,
    );
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const built = JSON.parse(result.stdout) as { layers: { name: string }[]; digest: string };
    expect(built.layers.map((l) => l.name)).toEqual(['base', 'berth']);
    expect(built.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  }, 180_000);
});
