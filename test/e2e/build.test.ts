/**
 * `berth build` through the real CLI: reproducible digests, one layer per model, the image config
 * (user, entrypoint, ports, health check, labels), and what the berth layer holds. The images are
 * built on a base made from the host's node (test/helpers/base-image.ts), since no registry is
 * reachable here. Running them in podman is in test/e2e/container.test.ts.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BuildResult } from '../../src/packaging/index.js';
import { doubleModel, identityModel, writeModel } from '../fixtures/models.js';
import { testBaseImageForFile } from '../helpers/base-image.js';
import { BERTH_BIN, runCli } from '../helpers/cli.js';
import { tempDirsForFile } from '../helpers/temp-dir.js';

const baseImage = testBaseImageForFile();
const tempDir = tempDirsForFile('berth-out-');

let base: string;
let repo: string;

beforeAll(async () => {
  // A layer cache of this file's own, so the first build is cold.
  process.env.BERTH_CACHE_DIR = tempDir('berth-cache-');
  const image = await baseImage();
  base = `oci:${image.dir}:${image.ref}`;
  repo = tempDir('berth-build-models-');
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
    const outA = tempDir();
    const outB = tempDir();
    const outC = tempDir();
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
    const changed = tempDir('berth-build-models-');
    writeModel(changed, 'double', doubleModel(), 1);
    writeModel(changed, 'double', doubleModel(), 2);
    writeModel(changed, 'strings', identityModel('STRING', ['batch', 3]));
    writeFileSync(join(changed, 'double', 'config.yaml'), 'maxBatchSize: 8\n');
    const before = build([repo, '--output', `oci:${tempDir()}`]);
    const after = build([changed, '--output', `oci:${tempDir()}`]);
    const digests = (r: BuildResult) => new Map(r.layers.map((l) => [l.name, l.digest]));
    const [b, a] = [digests(before), digests(after)];
    expect(a.get('berth')).toBe(b.get('berth'));
    expect(a.get('model:double')).toBe(b.get('model:double'));
    expect(a.get('model:strings')).not.toBe(b.get('model:strings'));
    expect(after.digest).not.toBe(before.digest);
  }, 240_000);

  it('writes docker-archive and oci-archive files that name the image', async () => {
    const dir = tempDir();
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
          `oci:${tempDir()}`,
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
    const dir = tempDir('berth-spec-');
    const spec = join(dir, 'berth.yaml');
    writeFileSync(
      spec,
      `name: fraud\nrepository: ${repo}\nimage: { name: localhost/from-spec, tag: "3", platforms: [linux/amd64] }\n`,
    );
    const out = tempDir();
    const built = build(['-f', spec, '--output', `oci:${out}`]);
    expect(built.reference).toBe('localhost/from-spec:3');
    expect(built.layers.map((l) => l.name)).toEqual(['base', 'berth', 'model:double', 'model:strings']);
    writeFileSync(spec, 'image: { platforms: [linux/s390x] }\n');
    const bad = runCli(['build', '-f', spec, '--base', base, '--output', `oci:${out}`]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/berth\.yaml: image\.platforms\.0: .*BERTH_ERR_SPEC_INVALID/);
  }, 240_000);

  it('refuses a docker-archive base whose manifest.json points outside the archive', async () => {
    const dir = tempDir('berth-evil-');
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
  });

  it('ends quietly with status 141, as SIGPIPE ends a Unix tool, when its reader has gone', async () => {
    // The reader closes before berth writes anything: `berth build --help | true`, made certain.
    const child = spawn(process.execPath, [BERTH_BIN, 'build', '--help'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const status = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(stderr).toBe('');
    expect(status).toBe(141);
  });
});

/** Where a build's scratch folders go: a TMPDIR of the test's own, to see that none is left. */
function ownTmp(): string {
  return tempDir('berth-build-tmp-');
}

/**
 * Starts `berth build ARGS` and, once its first progress line is out, breaks it the way a user
 * would: `pipe` closes the reader of its standard error (`berth build 2>&1 | head -1`), a signal
 * is Ctrl-C or a `kill`. Resolves with the exit status.
 */
function interruptedBuild(args: string[], how: 'pipe' | NodeJS.Signals, tmp: string): Promise<number | null> {
  const child = spawn(process.execPath, [BERTH_BIN, 'build', ...args, '--base', base], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, TMPDIR: tmp, BERTH_CACHE_DIR: join(tmp, 'cache') },
  });
  return new Promise((resolve) => {
    child.stderr.once('data', () => {
      if (how === 'pipe') child.stderr.destroy();
      else child.kill(how);
    });
    child.on('exit', (code, signal) => {
      resolve(code ?? (signal === null ? null : -1));
    });
  });
}

describe('berth build on a base that keeps node elsewhere, or has none', () => {
  it("finds node on the base's PATH, behind an entrypoint script (the official node:*-slim images)", () => {
    const image = base.replace(/:node$/, ':slim');
    const result = runCli([
      'build',
      repo,
      '--base',
      image,
      '--output',
      `oci-archive:${join(ownTmp(), 'slim.tar')}`,
      '--json',
    ]);
    expect(result.stderr).toBe('');
    const built = JSON.parse(result.stdout) as BuildResult;
    expect(built.layers.filter((l) => l.name === 'base')).toHaveLength(2);
    const out = tempDir();
    const layout = runCli(['build', repo, '--base', image, '--output', `oci:${out}/image`, '--json']);
    const config = JSON.parse(
      readFileSync(
        join(
          out,
          'image',
          'blobs',
          'sha256',
          (JSON.parse(layout.stdout) as BuildResult).configDigest.slice(7),
        ),
        'utf8',
      ),
    ) as { config: { Entrypoint: string[]; Healthcheck: { Test: string[] } } };
    expect(config.config.Entrypoint).toEqual(['/usr/local/bin/node', '/app/bin/berth.js']);
    expect(config.config.Healthcheck.Test.slice(0, 2)).toEqual(['CMD', '/usr/local/bin/node']);
    rmSync(out, { recursive: true });
  }, 60_000);

  it('refuses a base without node, naming the base and the paths it tried, and writes nothing', () => {
    const out = tempDir();
    const result = runCli([
      'build',
      repo,
      '--base',
      base.replace(/:node$/, ':nonode'),
      '--output',
      `oci:${out}/image`,
    ]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(
      /base image nonode has no node at \/nodejs\/bin\/node, \/usr\/local\/sbin\/node, .*\/bin\/node \(its entrypoint, its PATH and distroless's path\); give a base with Node.js 22 or later, or --node PATH .*\(BERTH_ERR_PACKAGING_NO_NODE\)/,
    );
    expect(readdirSync(out)).toEqual([]);
    const wrongNode = runCli([
      'build',
      repo,
      '--base',
      base,
      '--node',
      '/usr/bin/node',
      '--output',
      `oci:${out}/image`,
    ]);
    expect(wrongNode.status).toBe(2);
    expect(wrongNode.stderr).toContain('has no node at /usr/bin/node;');
    rmSync(out, { recursive: true });
  });
});

describe('berth build outputs', () => {
  const leftovers = (dir: string) => readdirSync(dir).filter((name) => name !== 'cache');

  it('end with a failing status on a broken pipe, and leave no partial image or scratch folder', async () => {
    for (const output of ['oci-archive', 'oci', 'docker-archive']) {
      const tmp = ownTmp();
      const out = tempDir();
      const target = join(out, 'image');
      expect(await interruptedBuild([repo, '--output', `${output}:${target}`], 'pipe', tmp)).toBe(141);
      expect(readdirSync(out)).toEqual([]);
      expect(leftovers(tmp)).toEqual([]);
      rmSync(out, { recursive: true });
      rmSync(tmp, { recursive: true });
    }
  }, 120_000);

  it('leave nothing behind when interrupted by SIGINT or SIGTERM', async () => {
    for (const [signal, status] of [
      ['SIGINT', 130],
      ['SIGTERM', 143],
    ] as const) {
      const tmp = ownTmp();
      const out = tempDir();
      expect(
        await interruptedBuild([repo, '--output', `oci-archive:${join(out, 'image.tar')}`], signal, tmp),
      ).toBe(status);
      expect(readdirSync(out)).toEqual([]);
      expect(leftovers(tmp)).toEqual([]);
      rmSync(out, { recursive: true });
      rmSync(tmp, { recursive: true });
    }
  }, 120_000);

  it('replace an existing archive only when the new one is whole', async () => {
    const tmp = ownTmp();
    const out = tempDir();
    const target = join(out, 'image.tar');
    writeFileSync(target, 'the previous image');
    expect(await interruptedBuild([repo, '--output', `oci-archive:${target}`], 'pipe', tmp)).toBe(141);
    expect(readFileSync(target, 'utf8')).toBe('the previous image');
    expect(readdirSync(out)).toEqual(['image.tar']);
    const done = build([repo, '--output', `oci-archive:${target}`], { TMPDIR: tmp });
    expect(done.digest).toMatch(/^sha256:/);
    expect(readdirSync(out)).toEqual(['image.tar']);
    expect(leftovers(tmp)).toEqual([]);
    rmSync(out, { recursive: true });
    rmSync(tmp, { recursive: true });
  }, 120_000);

  it('refuse an upper-case image name instead of changing it', () => {
    const result = runCli(['build', repo, '--base', base, '--output', 'oci:/tmp/never', '-t', 'Foo/Bar:1']);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(
      /^berth: --tag: image reference "Foo\/Bar:1": repository part "Foo" must be lower-case.*\(BERTH_ERR_PACKAGING_INVALID_REFERENCE\)\n$/,
    );
    expect(existsSync('/tmp/never')).toBe(false);
  });

  it('say which base could not be pulled, and how to build without a registry', () => {
    const result = runCli([
      'build',
      repo,
      '--base',
      '127.0.0.1:9/distroless/nodejs24:nonroot',
      '--output',
      'oci:/tmp/never',
    ]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(
      'cannot pull the base image 127.0.0.1:9/distroless/nodejs24:nonroot: 127.0.0.1:9: ECONNREFUSED',
    );
    expect(result.stderr).toContain(
      '--base oci-archive:FILE, docker-archive:FILE or oci:DIR (docs/images.md#without-a-registry)',
    );
  });
});
