/**
 * `berth build` through the real CLI: reproducible digests, one layer per model, the image config
 * (user, entrypoint, ports, health check, labels), and what the berth layer holds. The images are
 * built on a base made from the host's node (test/helpers/base-image.ts), since no registry is
 * reachable here. Running them in podman is in test/e2e/container.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BuildResult } from '../../src/packaging/index.js';
import { doubleModel, identityModel, writeModel } from '../fixtures/models.js';
import { testBaseImage } from '../helpers/base-image.js';
import { BERTH_BIN, runCli } from '../helpers/cli.js';

let base: string;
let repo: string;

beforeAll(async () => {
  // A layer cache of this file's own, so the first build is cold.
  process.env.BERTH_CACHE_DIR = mkdtempSync(join(tmpdir(), 'berth-cache-'));
  const image = await testBaseImage();
  base = `oci:${image.dir}:${image.ref}`;
  repo = mkdtempSync(join(tmpdir(), 'berth-build-models-'));
  writeModel(repo, 'double', doubleModel(), 1);
  writeModel(repo, 'double', doubleModel(), 2);
  writeModel(repo, 'strings', identityModel('STRING', ['batch', 2]));
  writeFileSync(join(repo, 'double', 'config.yaml'), 'maxBatchSize: 8\n');
}, 120_000);

function build(args: string[], env: Record<string, string> = {}): BuildResult & { ms: number } {
  const result = runCli(['build', ...args, '--base', base, '--json'], { timeoutMs: 120_000, env });
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  return JSON.parse(result.stdout) as BuildResult & { ms: number };
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
    const outC = mkdtempSync(join(tmpdir(), 'berth-out-'));
    const epoch = { SOURCE_DATE_EPOCH: '1700000000' };
    const first = build([repo, '--output', `oci:${outA}:v1`, '-t', 'localhost/fraud:1.0'], epoch);
    expect(first.layers.filter((l) => l.name !== 'base').map((l) => l.cached)).toEqual([false, false, false]);
    // Again from the layer cache, and again compressing everything: the same image each time.
    const cached = build([repo, '--output', `oci:${outB}:v1`, '-t', 'localhost/fraud:1.0'], epoch);
    expect(cached.layers.filter((l) => l.name !== 'base').map((l) => l.cached)).toEqual([true, true, true]);
    expect(cached.digest).toBe(first.digest);
    const fresh = build(
      [repo, '--output', `oci:${outC}:v1`, '-t', 'localhost/fraud:1.0', '--no-cache'],
      epoch,
    );
    expect(fresh.layers.some((l) => l.cached === true)).toBe(false);
    expect(fresh.digest).toBe(first.digest);
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
    const modelFiles = await tarEntries(gunzipSync(blob(modelLayer?.digest ?? '')));
    expect([...modelFiles.keys()]).toEqual([
      'models/',
      'models/double/',
      'models/double/1/',
      'models/double/1/model.onnx',
      'models/double/2/',
      'models/double/2/model.onnx',
      'models/double/config.yaml',
      'usr/',
      'usr/share/',
      'usr/share/sbom/',
      'usr/share/sbom/model-double.cdx.json',
    ]);
    // Each layer carries its part of the SBOM: the model's hash, berth's npm packages.
    const modelSbom = JSON.parse(
      modelFiles.get('usr/share/sbom/model-double.cdx.json')?.toString() ?? '{}',
    ) as {
      components: { type: string; name: string; hashes: { alg: string; content: string }[] }[];
    };
    expect(modelSbom.components).toEqual([
      expect.objectContaining({
        type: 'machine-learning-model',
        name: 'double',
        hashes: [
          {
            alg: 'SHA-256',
            content: (config.config.Labels as Record<string, string>)['berth.model.double.sha256'],
          },
        ],
      }),
    ]);
    const berthFiles = await tarEntries(gunzipSync(blob(berthLayer?.digest ?? '')));
    const berthSbom = JSON.parse(berthFiles.get('usr/share/sbom/berth.cdx.json')?.toString() ?? '{}') as {
      components: { name: string; purl?: string }[];
    };
    expect(berthSbom.components.map((c) => c.purl)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^pkg:npm\/onnxruntime-node@/),
        expect.stringMatching(/^pkg:npm\/fastify@/),
      ]),
    );
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

    // Both archives work as bases: their layers come first, unchanged.
    for (const archive of [`docker-archive:${join(dir, 'd.tar')}`, `oci-archive:${join(dir, 'o.tar')}`]) {
      const result = runCli(
        [
          'build',
          join(repo, 'double', '1', 'model.onnx'),
          '--base',
          archive,
          '--output',
          `oci:${mkdtempSync(join(tmpdir(), 'berth-out-'))}`,
          '--json',
        ],
        { timeoutMs: 120_000 },
      );
      expect(result.stderr).toBe('');
      const onTop = JSON.parse(result.stdout) as BuildResult;
      expect(onTop.layers.slice(0, docker.layers.length).map((l) => l.digest)).toEqual(
        docker.layers.map((l) => l.digest),
      );
      expect(onTop.layers.slice(docker.layers.length).map((l) => l.name)).toEqual(['berth', 'model:model']);
    }
  }, 240_000);

  it('takes the repository, image name, tag and platforms from berth.yaml', () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-spec-'));
    const spec = join(dir, 'berth.yaml');
    writeFileSync(
      spec,
      `name: fraud\nrepository: ${repo}\nimage: { name: localhost/from-spec, tag: "3", platforms: [linux/amd64] }\n`,
    );
    const out = mkdtempSync(join(tmpdir(), 'berth-out-'));
    const built = build(['-f', spec, '--output', `oci:${out}`]);
    expect(built.reference).toBe('localhost/from-spec:3');
    expect(built.layers.map((l) => l.name)).toEqual(['base', 'berth', 'model:double', 'model:strings']);
    writeFileSync(spec, 'image: { platforms: [linux/s390x] }\n');
    const bad = runCli(['build', '-f', spec, '--base', base, '--output', `oci:${out}`]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/berth\.yaml: image\.platforms\.0: .*BERTH_ERR_SPEC_INVALID/);
  }, 240_000);

  it('refuses a docker-archive base whose manifest.json points outside the archive', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'berth-evil-'));
    const pack = tar.pack();
    pack.entry(
      { name: 'manifest.json' },
      JSON.stringify([{ Config: '../../../../../etc/hostname', RepoTags: ['x:1'], Layers: [] }]),
    );
    pack.finalize();
    const chunks: Buffer[] = [];
    for await (const chunk of pack) chunks.push(chunk as Buffer);
    writeFileSync(join(dir, 'evil.tar'), Buffer.concat(chunks));
    const result = runCli(
      ['build', '--base', `docker-archive:${join(dir, 'evil.tar')}`, '--output', `oci:${join(dir, 'out')}`],
      { timeoutMs: 60_000 },
    );
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(
      /manifest\.json names "\.\.\/\.\.\/\.\.\/\.\.\/\.\.\/etc\/hostname", which is not a file in the archive/,
    );
  });

  it('names what is wrong with its options', () => {
    const badReference = runCli(['build', repo, '--base', 'Docker.io/Node:20', '--output', 'oci:/tmp/x']);
    expect(badReference.status).toBe(2);
    expect(badReference.stderr).toMatch(
      /image reference "Docker.io\/Node:20": repository part "Node" must be lower-case.*BERTH_ERR_PACKAGING_INVALID_REFERENCE/,
    );
    const unreachable = runCli(['build', repo, '--base', '127.0.0.1:9/base:1', '--output', 'oci:/tmp/x']);
    expect(unreachable.status).toBe(2);
    expect(unreachable.stderr).toMatch(
      /127\.0\.0\.1:9: ECONNREFUSED \(nothing listens there; a plain-HTTP registry needs --insecure-registry 127\.0\.0\.1:9\).*BERTH_ERR_PACKAGING_REGISTRY_UNAVAILABLE/,
    );
    const both = runCli([
      'build',
      repo,
      '--base',
      base,
      '--output',
      'oci:/tmp/x',
      '--push',
      'localhost:5000/x',
    ]);
    expect(both.stderr).toMatch(/give exactly one of --output TARGET and --push REF/);
    const neither = runCli(['build', repo, '--base', base]);
    expect(neither.stderr).toMatch(/give exactly one of --output TARGET and --push REF/);
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
    const twice = runCli([
      'build',
      repo,
      '--base',
      base,
      '--output',
      'oci:/tmp/x',
      '--platform',
      'linux/amd64,linux/amd64',
    ]);
    expect(twice.stderr).toMatch(/--platform: linux\/amd64 is given twice/);
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
    // Help piped into a reader that stops early ends quietly (no EPIPE crash).
    const piped = spawnSync(
      'bash',
      ['-o', 'pipefail', '-c', `"${process.execPath}" "${BERTH_BIN}" build --help | head -1`],
      {
        encoding: 'utf8',
      },
    );
    expect(piped.stderr).toBe('');
    expect(piped.status).toBe(0);
  });
});
