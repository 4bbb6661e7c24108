/**
 * `berth build` through the real CLI: reproducible digests, one layer per model, the image config
 * (user, entrypoint, ports, health check, labels), and what the berth layer holds. The images are
 * built on a base made from the host's node (test/helpers/base-image.ts), since no registry is
 * reachable here. Running them in podman is in test/e2e/container.test.ts.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BuildResult } from '../../src/packaging/index.js';
import { doubleModel, identityModel, writeModel } from '../fixtures/models.js';
import { testBaseImage } from '../helpers/base-image.js';
import { runCli } from '../helpers/cli.js';

let base: string;
let repo: string;

beforeAll(async () => {
  const image = await testBaseImage();
  base = `oci:${image.dir}:${image.ref}`;
  repo = mkdtempSync(join(tmpdir(), 'berth-build-models-'));
  writeModel(repo, 'double', doubleModel(), 1);
  writeModel(repo, 'double', doubleModel(), 2);
  writeModel(repo, 'strings', identityModel('STRING', ['batch', 2]));
  writeFileSync(join(repo, 'double', 'config.yaml'), 'maxBatchSize: 8\n');
}, 120_000);

function build(args: string[], env: Record<string, string> = {}): BuildResult & { ms: number } {
  const result = runCliEnv(['build', ...args, '--base', base, '--json'], env);
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  return JSON.parse(result.stdout) as BuildResult & { ms: number };
}

function runCliEnv(args: string[], env: Record<string, string>) {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    return runCli(args, { timeoutMs: 120_000 });
  } finally {
    process.env = saved;
  }
}

async function tarEntries(bytes: Buffer): Promise<Map<string, Buffer>> {
  const extract = tar.extract();
  const out = new Map<string, Buffer>();
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => chunks.push(c as Buffer));
      stream.on('end', () => {
        out.set(header.name, Buffer.concat(chunks));
        next();
      });
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  extract.end(bytes);
  await done;
  return out;
}

describe('berth build', () => {
  it('writes a reproducible OCI layout with one layer for berth and one per model', async () => {
    const outA = mkdtempSync(join(tmpdir(), 'berth-out-'));
    const outB = mkdtempSync(join(tmpdir(), 'berth-out-'));
    const first = build([repo, '--output', `oci:${outA}:v1`, '-t', 'localhost/fraud:1.0'], {
      SOURCE_DATE_EPOCH: '1700000000',
    });
    const again = build([repo, '--output', `oci:${outB}:v1`, '-t', 'localhost/fraud:1.0'], {
      SOURCE_DATE_EPOCH: '1700000000',
    });
    expect(again.digest).toBe(first.digest);
    expect(first.layers.map((l) => l.name)).toEqual(['base', 'berth', 'model:double', 'model:strings']);
    // The berth layers stay small: under 60 MB compressed (issue 5's target).
    expect(first.addedSize).toBeLessThan(60 * 1024 * 1024);

    const index = JSON.parse(readFileSync(join(outA, 'index.json'), 'utf8')) as {
      manifests: { digest: string; annotations: Record<string, string> }[];
    };
    expect(index.manifests[0]).toMatchObject({
      digest: first.digest,
      annotations: {
        'org.opencontainers.image.ref.name': 'v1',
        'io.containerd.image.name': 'localhost/fraud:1.0',
      },
    });
    const blob = (digest: string) => readFileSync(join(outA, 'blobs', 'sha256', digest.slice(7)));
    const config = JSON.parse(blob(first.configDigest).toString('utf8')) as {
      created: string;
      config: Record<string, unknown>;
      rootfs: { diff_ids: string[] };
    };
    expect(config.created).toBe('2023-11-14T22:13:20.000Z');
    expect(config.config).toMatchObject({
      User: '65532:65532',
      Entrypoint: ['/nodejs/bin/node', '/app/bin/berth.js'],
      Cmd: [
        'serve',
        '/models',
        '--host',
        '0.0.0.0',
        '--port',
        '8000',
        '--grpc-port',
        '8001',
        '--log-format',
        'json',
      ],
      WorkingDir: '/app',
      ExposedPorts: { '8000/tcp': {}, '8001/tcp': {} },
      StopSignal: 'SIGTERM',
      Healthcheck: {
        Test: ['CMD', '/nodejs/bin/node', '/app/bin/berth.js', 'health', '--url', 'http://127.0.0.1:8000'],
      },
      Labels: {
        'org.opencontainers.image.title': 'fraud',
        'org.opencontainers.image.version': '1.0',
        'berth.model.double.version': '2',
        'berth.model.double.sha256': expect.stringMatching(/^[0-9a-f]{64}$/),
      },
    });
    expect(config.config.Env).toEqual(expect.arrayContaining(['NODE_ENV=production', 'HOME=/tmp']));
    expect(config.rootfs.diff_ids).toEqual(first.layers.map((l) => l.diffId));

    // What the berth layer holds: compiled code without tests, maps or declarations; onnxruntime
    // for this platform only.
    const berthLayer = first.layers.find((l) => l.name === 'berth');
    const files = [...(await tarEntries(gunzipSync(blob(berthLayer?.digest ?? '')))).keys()];
    expect(files).toContain('app/bin/berth.js');
    expect(files).toContain('app/dist/cli/main.js');
    expect(files.some((f) => f.endsWith('.test.js') || f.endsWith('.d.ts') || f.endsWith('.js.map'))).toBe(
      false,
    );
    expect(
      files.some((f) => f.includes('node_modules/vitest/') || f.includes('node_modules/typescript/')),
    ).toBe(false);
    expect(files.filter((f) => f.includes('onnxruntime-node/bin/') && f.endsWith('.so.1'))).toEqual([
      expect.stringMatching(/onnxruntime-node\/bin\/napi-v\d+\/linux\/x64\/libonnxruntime\.so\.1$/),
    ]);
    const modelLayer = first.layers.find((l) => l.name === 'model:double');
    expect([...(await tarEntries(gunzipSync(blob(modelLayer?.digest ?? '')))).keys()]).toEqual([
      'models/',
      'models/double/',
      'models/double/1/',
      'models/double/1/model.onnx',
      'models/double/2/',
      'models/double/2/model.onnx',
      'models/double/config.yaml',
    ]);
  }, 240_000);

  it('changes only the layer of the model that changed', () => {
    const changed = mkdtempSync(join(tmpdir(), 'berth-build-models-'));
    writeModel(changed, 'double', doubleModel(), 1);
    writeModel(changed, 'double', doubleModel(), 2);
    writeModel(changed, 'strings', identityModel('STRING', ['batch', 3]));
    writeFileSync(join(changed, 'double', 'config.yaml'), 'maxBatchSize: 8\n');
    const before = build([repo, '--output', `oci:${mkdtempSync(join(tmpdir(), 'berth-out-'))}`]);
    const after = build([changed, '--output', `oci:${mkdtempSync(join(tmpdir(), 'berth-out-'))}`]);
    const digests = (r: BuildResult) => new Map(r.layers.map((l) => [l.name, l.digest]));
    const [b, a] = [digests(before), digests(after)];
    expect(a.get('berth')).toBe(b.get('berth'));
    expect(a.get('model:double')).toBe(b.get('model:double'));
    expect(a.get('model:strings')).not.toBe(b.get('model:strings'));
    expect(after.digest).not.toBe(before.digest);
  }, 240_000);

  it('writes docker-archive and oci-archive files that name the image', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-out-'));
    const docker = build([
      join(repo, 'double', '2', 'model.onnx'),
      '--output',
      `docker-archive:${join(dir, 'd.tar')}`,
      '-t',
      'localhost/m:2',
    ]);
    const entries = await tarEntries(readFileSync(join(dir, 'd.tar')));
    const manifest = JSON.parse(entries.get('manifest.json')?.toString('utf8') ?? '[]') as {
      Config: string;
      RepoTags: string[];
      Layers: string[];
    }[];
    expect(manifest).toEqual([
      {
        Config: `blobs/sha256/${docker.configDigest.slice(7)}`,
        RepoTags: ['localhost/m:2'],
        Layers: docker.layers.map((l) => `blobs/sha256/${l.digest.slice(7)}`),
      },
    ]);
    expect(entries.has('index.json')).toBe(false);
    build([
      join(repo, 'double', '2', 'model.onnx'),
      '--output',
      `oci-archive:${join(dir, 'o.tar')}`,
      '-t',
      'localhost/m:2',
    ]);
    const oci = await tarEntries(readFileSync(join(dir, 'o.tar')));
    expect(JSON.parse(oci.get('index.json')?.toString('utf8') ?? '{}')).toMatchObject({
      manifests: [{ annotations: { 'io.containerd.image.name': 'localhost/m:2' } }],
    });
  }, 240_000);

  it('names what is wrong with its options', () => {
    const noBase = runCli(['build', repo, '--base', 'docker.io/library/node:20', '--output', 'oci:/tmp/x']);
    expect(noBase.status).toBe(2);
    expect(noBase.stderr).toMatch(/--base: .*pulling a base from a registry is not implemented yet/);
    const badOutput = runCli(['build', repo, '--base', base, '--output', 'zip:/tmp/x']);
    expect(badOutput.stderr).toMatch(/--output: unknown transport "zip"/);
    const badPlatform = runCli([
      'build',
      repo,
      '--base',
      base,
      '--output',
      'oci:/tmp/x',
      '--platform',
      'windows/x86',
    ]);
    expect(badPlatform.stderr).toMatch(/--platform: expected linux\/amd64 or linux\/arm64/);
    const otherPlatform = runCli([
      'build',
      repo,
      '--base',
      base,
      '--output',
      'oci:/tmp/x',
      '--platform',
      'linux/arm64',
    ]);
    expect(otherPlatform.status).toBe(2);
    expect(otherPlatform.stderr).toMatch(/the base image is linux\/amd64, not linux\/arm64/);
    expect(runCli(['build', '--help']).stdout).toMatch(/docker-archive:FILE/);
  });
});
