/**
 * `berth render dockerfile|compose` through the real CLI, and what they render, used for real:
 * podman builds the rendered Dockerfile, and the image it makes is compared with `berth build`'s
 * for the same models (config, layers, files), then run read-only with an inference and its health
 * check; podman-compose runs the rendered compose.yaml, with the models baked in and mounted.
 *
 * No registry but npm's is reachable here, so the build runs offline from Docker Hub and gcr.io:
 * NODE_IMAGE (the build stage) is an image made here from the host's node, npm, sh and their
 * libraries; BASE_IMAGE is the distroless-like test base (test/helpers/base-image.ts) that
 * `berth build` uses too; BERTH_PACKAGE is this checkout, packed with `npm pack` and served on
 * 127.0.0.1 (berth is not published on npm yet). The build stage's `npm install` fetches berth's
 * dependencies from the npm registry (`podman build --network host`), as it would anywhere.
 *
 * podman needs `--runtime runc --ulimit nofile=1024:1024 --ulimit nproc=4096:4096` here; Debian's
 * podman-compose (1.0.3) runs compose files, with those flags passed through --podman-run-args, and
 * Debian's docker-compose (1.29, no daemon needed) validates them against the Compose schema.
 * Debian 12's podman (4.3) cannot do COPY --link (buildah 1.41+), so the build renders with --no-link;
 * the unit tests cover the --link form.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  createReadStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createClient, outputOf } from '../../src/client/index.js';
import { doubleModel, identityModel, writeModel } from '../fixtures/models.js';
import { testBaseImageForFile } from '../helpers/base-image.js';
import { runCli } from '../helpers/cli.js';
import { freePort } from '../helpers/free-port.js';
import { podman, readyClient, RUN_FLAGS } from '../helpers/podman.js';
import { tempDirsForFile } from '../helpers/temp-dir.js';

const baseImage = testBaseImageForFile();
const tempDir = tempDirsForFile('berth-render-node-');

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64' };
const TAG = 'localhost/berth-render-e2e:1';
const IMAGES = {
  base: 'localhost/berth-render-base:e2e',
  node: 'localhost/berth-render-node:e2e',
  dockerfile: 'localhost/berth-render-e2e:dockerfile',
  built: TAG,
  modelless: 'localhost/berth-render-e2e:runtime',
};

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A child process that does not block the event loop (the package server answers meanwhile). */
function spawnAsync(command: string, args: string[], cwd?: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

function render(args: string[]): Run {
  return runCli(['render', ...args], { timeoutMs: 60_000 });
}

/** The shared libraries `ldd` lists for binaries, as [path in the image, file on this machine]. */
function sharedLibraries(binaries: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const binary of binaries) {
    for (const line of execFileSync('ldd', [binary], { encoding: 'utf8' }).split('\n')) {
      const path = (/=>\s+(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line))?.[1];
      if (path !== undefined) out.set(path, realpathSync(path));
    }
  }
  return out;
}

/**
 * A stand-in for node:24-bookworm-slim: this machine's node, npm and sh (with their libraries and,
 * where the host trusts an extra CA for its egress, that CA), imported into podman.
 */
function importNodeImage(name: string): void {
  const root = tempDir();
  const node = realpathSync(process.execPath);
  const sh = realpathSync('/bin/sh');
  // npm's own folder, wherever this npm is installed (not under the node on PATH, which may be
  // scripts/node.sh's): its bin/npm-cli.js, two folders up.
  const npmCli = realpathSync(execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim());
  const npmRoot = dirname(dirname(npmCli));
  const put = (from: string, to: string, mode = 0o755) => {
    mkdirSync(dirname(join(root, to)), { recursive: true });
    copyFileSync(from, join(root, to));
    chmodSync(join(root, to), mode);
  };
  put(node, 'usr/local/bin/node');
  put(sh, 'bin/sh');
  for (const [path, real] of sharedLibraries([node, sh])) put(real, path.slice(1));
  cpSync(npmRoot, join(root, 'usr/local/lib/node_modules/npm'), { recursive: true, dereference: true });
  writeFileSync(
    join(root, 'usr/local/bin/npm'),
    '#!/bin/sh\nexec /usr/local/bin/node /usr/local/lib/node_modules/npm/bin/npm-cli.js "$@"\n',
    { mode: 0o755 },
  );
  mkdirSync(join(root, 'etc'), { recursive: true });
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\n');
  mkdirSync(join(root, 'root'));
  mkdirSync(join(root, 'tmp'), { mode: 0o1777 });
  chmodSync(join(root, 'tmp'), 0o1777);
  const changes = ['--change', 'ENV PATH=/usr/local/bin:/usr/bin:/bin'];
  const ca = process.env.NODE_EXTRA_CA_CERTS;
  if (ca !== undefined && existsSync(ca)) {
    put(ca, 'etc/ssl/certs/extra-ca.pem', 0o644);
    changes.push('--change', 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/extra-ca.pem');
  }
  // Beside the root, not in it (tar would pack itself), in a folder this file removes.
  const tarball = join(tempDir('berth-render-node-tar-'), 'root.tar');
  execFileSync('tar', ['-C', root, '-cf', tarball, '.']);
  podman(['import', ...changes, tarball, name]);
}

/** Every file under a folder, as paths relative to it. */
function filesUnder(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`],
  );
}

interface ImageInspect {
  Config: Record<string, unknown> & { Labels?: Record<string, string> };
  Healthcheck?: unknown;
  RootFS: { Layers: string[] };
}

function inspectImage(ref: string): ImageInspect {
  return (JSON.parse(podman(['image', 'inspect', ref])) as ImageInspect[])[0] as ImageInspect;
}

async function expectDoubles(url: string): Promise<void> {
  const client = createClient({ url, timeoutMs: 5000 });
  const response = await client.infer('double', [
    { name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] },
  ]);
  expect(Array.from(outputOf(response, 'OUTPUT0').data as Float32Array)).toEqual([2, 4, 6, 8]);
}

/**
 * The file checked against the Compose schema by a second implementation: Debian's docker-compose
 * (v1, Python, a YAML 1.1 reader), which validates without a daemon.
 */
function composeConfig(file: string): { status: number | null; stderr: string } {
  const result = spawnSync('docker-compose', ['-f', file, 'config', '-q'], { encoding: 'utf8' });
  if (result.error !== undefined)
    throw new Error(`docker-compose: ${result.error.message} (scripts/test-deps.sh installs it)`);
  return { status: result.status, stderr: result.stderr };
}

describe('berth render (CLI)', () => {
  let context: string;
  beforeAll(() => {
    context = tempDir('berth-render-cli-');
    writeModel(join(context, 'models'), 'double', doubleModel());
    writeModel(join(context, 'models'), 'strings', identityModel('STRING', ['batch', 2]));
  });

  it('writes Dockerfile and .dockerignore, says so, and refuses to replace them without --force', () => {
    const out = render(['dockerfile', join(context, 'models'), '-o', context, '-t', 'localhost/fraud:2.0']);
    expect(out.stderr).toBe('');
    expect(out.status).toBe(0);
    expect(out.stdout).toContain(
      `wrote ${join(context, 'Dockerfile')}\nwrote ${join(context, '.dockerignore')}\n`,
    );
    expect(out.stdout).toContain(`docker buildx build -t localhost/fraud:2.0 ${context}`);
    const dockerfile = readFileSync(join(context, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^COPY --link --chown=0:0 models\/double \/models\/double$/m);
    expect(dockerfile).toMatch(/^LABEL org\.opencontainers\.image\.title="fraud" \\$/m);
    expect(readFileSync(join(context, '.dockerignore'), 'utf8')).toContain('\n*\n!models/double\n');

    const again = render(['dockerfile', join(context, 'models'), '-o', context]);
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(
      /--output: .*Dockerfile exists; pass --force to replace it \(BERTH_ERR_CLI_INVALID_OPTION\)/,
    );
    const json = render([
      'dockerfile',
      join(context, 'models'),
      '-o',
      context,
      '--force',
      '--json',
      '--no-link',
    ]);
    expect(json.status).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      files: [join(context, 'Dockerfile'), join(context, '.dockerignore')],
      image: `berth-models:${JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string}`,
      models: [
        { name: 'double', version: 1, source: 'models/double', target: '/models/double' },
        { name: 'strings', version: 1, source: 'models/strings', target: '/models/strings' },
      ],
      warnings: [],
    });
    expect(readFileSync(join(context, 'Dockerfile'), 'utf8')).not.toContain('--link');
  });

  it('writes compose.yaml for baked or mounted models', () => {
    const deploy = join(context, 'deploy');
    const out = render(['compose', join(context, 'models'), '-o', deploy, '--cpus', '1.5', '--memory', '1g']);
    expect(out.status).toBe(0);
    expect(out.stdout).toContain(`wrote ${join(deploy, 'compose.yaml')}`);
    const baked = parse(readFileSync(join(deploy, 'compose.yaml'), 'utf8')) as {
      services: Record<string, Record<string, unknown>>;
    };
    expect(Object.keys(baked.services)).toEqual(['models']);
    expect(baked.services.models).toMatchObject({
      image: expect.stringMatching(/^berth-models:/),
      read_only: true,
      user: '65532:65532',
      deploy: { resources: { limits: { cpus: '1.5', memory: '1g' } } },
    });
    expect(composeConfig(join(deploy, 'compose.yaml'))).toEqual({ status: 0, stderr: '' });

    const mounted = render([
      'compose',
      join(context, 'models'),
      '-o',
      deploy,
      '--models-volume',
      '--force',
      '--json',
    ]);
    expect(mounted.status).toBe(0);
    expect(JSON.parse(mounted.stdout)).toMatchObject({
      image: expect.stringMatching(/^berth:/),
      service: 'berth',
      mounts: [{ source: '../models', target: '/models' }],
    });
    expect(composeConfig(join(deploy, 'compose.yaml'))).toEqual({ status: 0, stderr: '' });
  });

  it('names what is wrong, and what is not there yet', () => {
    const helm = render(['helm', '--whatever']);
    expect(helm.status).toBe(2);
    expect(helm.stderr).toMatch(
      /render: "helm" is not available yet .*use dockerfile, compose, k8s, nomad or terraform/,
    );
    expect(render(['kustomize']).stderr).toMatch(
      /unknown "kustomize": use dockerfile, compose, k8s, nomad or terraform \(helm: not yet available\)/,
    );
    expect(render([]).stderr).toMatch(/expected what to render/);
    const outside = render(['dockerfile', join(context, 'models'), '-o', join(context, 'elsewhere')]);
    expect(outside.status).toBe(2);
    expect(outside.stderr).toMatch(/models: ".*" is outside the build context/);
    const cases: [string[], RegExp][] = [
      [['compose', '--memory', '2x'], /--memory: expected a size such as 2g/],
      [['compose', '--memory', '1024'], /--memory: expected at least 6m/],
      [['compose', '--cpus', '0'], /--cpus: expected a number of CPUs above 0/],
      [
        ['compose', '--models-volume'],
        /--models-volume: give the .onnx files or repository folders to mount/,
      ],
      [
        ['compose', '--image', 'Fraud:1'],
        /--image: image reference "Fraud:1": repository part "Fraud" must be lower-case/,
      ],
      [['compose', '--host', 'localhost'], /--host: expected an IP address/],
      [['compose', '--port', '70000'], /--port: expected a port from 1 to 65535/],
      [['dockerfile', '-t', 'fraud'], /--tag: expected NAME:TAG/],
      [
        ['dockerfile', '--berth-package', 'berth@1 && curl x'],
        /--berth-package: expected a value without spaces/,
      ],
      [['dockerfile', '--node', 'node'], /--node: expected an absolute path/],
      [
        ['runtime', join(context, 'rt'), '--platform', 'windows/x86'],
        /--platform: expected linux\/amd64 or linux\/arm64/,
      ],
    ];
    for (const [args, message] of cases) {
      const result = render(args[0] === 'runtime' ? args : [...args, '-o', join(context, 'bad')]);
      expect(result.status, args.join(' ')).toBe(2);
      expect(result.stderr, args.join(' ')).toMatch(message);
      expect(result.stderr).toContain('(BERTH_ERR_CLI_INVALID_OPTION)');
    }
    expect(existsSync(join(context, 'bad', 'compose.yaml'))).toBe(false);
  });

  it('explains itself in --help, with examples', () => {
    expect(render(['--help']).stdout).toMatch(/dockerfile[\s\S]*compose[\s\S]*not\s+available yet/);
    expect(render(['dockerfile', '--help']).stdout).toMatch(
      /Examples:\n {2}berth render dockerfile \.\/models/,
    );
    expect(render(['compose', '--help']).stdout).toMatch(/--models-volume[\s\S]*Examples:/);
  });
});

describe('a rendered Dockerfile and compose.yaml, built and run', () => {
  const arch = ARCH[process.arch] ?? process.arch;
  let context: string;
  let server: Server | undefined;
  let packageUrl: string;
  let buildMs = 0;
  const projects: string[] = [];
  const intermediate: string[] = [];
  const containers: string[] = [];

  beforeAll(async () => {
    const base = await baseImage();
    // podman names an image pulled from a layout after its folder, which must be lower case.
    const link = join(tmpdir(), `berth-render-base-${process.pid}`);
    symlinkSync(base.dir, link);
    try {
      const id = podman(['pull', '-q', `oci:${link}:${base.ref}`]);
      podman(['tag', id, IMAGES.base]);
      podman(['untag', id, `localhost${link}:latest`]);
    } finally {
      unlinkSync(link);
    }
    importNodeImage(IMAGES.node);

    // berth itself, as npm would fetch it: this checkout packed, served on the loopback interface.
    const packed = tempDir('berth-render-pack-');
    const [{ filename }] = JSON.parse(
      execFileSync('npm', ['pack', '--json', '--pack-destination', packed], { cwd: ROOT, encoding: 'utf8' }),
    ) as [{ filename: string }];
    server = createServer((_request, response) => createReadStream(join(packed, filename)).pipe(response));
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    packageUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/${filename}`;

    // The build context: a repository (with a hidden file .dockerignore keeps out) and an .onnx file.
    context = tempDir('berth-render-build-');
    chmodSync(context, 0o755);
    const repo = join(context, 'models');
    writeModel(repo, 'double', doubleModel(), 1);
    writeModel(repo, 'double', doubleModel(), 2);
    writeFileSync(join(repo, 'double', 'config.yaml'), 'maxBatchSize: 8\n');
    writeFileSync(join(repo, 'double', '.notes'), 'kept out of the image\n');
    writeFileSync(join(context, 'extra.onnx'), identityModel('FLOAT', ['batch', 2]));
    const models = [repo, join(context, 'extra.onnx')];

    // podman 4.3 (Debian 12) has no COPY --link, hence --no-link.
    const rendered = render(['dockerfile', ...models, '-o', context, '-t', TAG, '--no-link']);
    if (rendered.status !== 0) throw new Error(`berth render failed: ${rendered.stderr}`);
    const started = performance.now();
    const build = await spawnAsync('podman', [
      'build',
      ...RUN_FLAGS,
      '--format',
      'docker',
      '--network',
      'host',
      '--platform',
      `linux/${arch}`,
      '--build-arg',
      `NODE_IMAGE=${IMAGES.node}`,
      '--build-arg',
      `BASE_IMAGE=${IMAGES.base}`,
      '--build-arg',
      `BERTH_PACKAGE=${packageUrl}`,
      '-t',
      IMAGES.dockerfile,
      context,
    ]);
    buildMs = performance.now() - started;
    // Each step's image, removed after the test (not those reused from the cache: not ours).
    intermediate.push(...[...build.stdout.matchAll(/^--> ([0-9a-f]{11,})$/gm)].map((m) => m[1] ?? ''));
    if (build.status !== 0) throw new Error(`podman build failed:\n${build.stdout}\n${build.stderr}`);

    // berth build of the same models, on the same base, for comparison.
    const archive = join(tempDir('berth-render-archive-'), 'image.tar');
    const built = runCli(
      [
        'build',
        ...models,
        '--base',
        `oci:${base.dir}:${base.ref}`,
        '--output',
        `docker-archive:${archive}`,
        '-t',
        TAG,
      ],
      { timeoutMs: 180_000 },
    );
    if (built.status !== 0) throw new Error(`berth build failed: ${built.stderr}`);
    podman(['load', '-i', archive]);
    const modelless = join(dirname(archive), 'runtime.tar');
    const runtime = runCli(
      [
        'build',
        '--base',
        `oci:${base.dir}:${base.ref}`,
        '--output',
        `docker-archive:${modelless}`,
        '-t',
        IMAGES.modelless,
      ],
      { timeoutMs: 180_000 },
    );
    if (runtime.status !== 0) throw new Error(`berth build failed: ${runtime.stderr}`);
    podman(['load', '-i', modelless]);
  }, 480_000);

  afterAll(async () => {
    for (const project of projects) {
      spawnSync('podman-compose', ['-p', project, 'down'], { cwd: context, encoding: 'utf8' });
      spawnSync('podman', ['network', 'rm', '-f', `${project}_default`], { encoding: 'utf8' });
    }
    for (const container of containers) spawnSync('podman', ['rm', '-f', container], { encoding: 'utf8' });
    spawnSync('podman', ['rmi', '-f', ...Object.values(IMAGES)], { encoding: 'utf8' });
    for (const id of intermediate.reverse()) spawnSync('podman', ['rmi', id], { encoding: 'utf8' });
    server?.closeAllConnections();
    await new Promise((resolve) => (server === undefined ? resolve(undefined) : server.close(resolve)));
  });

  it('builds the image berth build writes: same config, layers and files', () => {
    // How long the build took is for the record (docs/render.md), not a pass/fail condition.
    console.info(`podman build of the rendered Dockerfile: ${Math.round(buildMs)} ms`);
    const fromDockerfile = inspectImage(IMAGES.dockerfile);
    const fromBerth = inspectImage(IMAGES.built);
    const fields = ['User', 'Entrypoint', 'Cmd', 'ExposedPorts', 'Env', 'WorkingDir', 'StopSignal'];
    expect(fromBerth.Config).toMatchObject({
      User: '65532:65532',
      WorkingDir: '/app',
      StopSignal: 'SIGTERM',
    });
    for (const field of fields) expect(fromDockerfile.Config[field], field).toEqual(fromBerth.Config[field]);
    // buildah adds a label naming itself.
    const labels = { ...fromDockerfile.Config.Labels };
    delete labels['io.buildah.version'];
    expect(labels).toEqual(fromBerth.Config.Labels);
    expect(labels['berth.model.double.version']).toBe('2');
    expect(fromDockerfile.Healthcheck).toEqual(fromBerth.Healthcheck);
    expect(fromDockerfile.Healthcheck).toMatchObject({
      Test: ['CMD', '/nodejs/bin/node', '/app/bin/berth.js', 'health', '--url', 'http://127.0.0.1:8000'],
      Interval: 10_000_000_000,
      Retries: 3,
    });
    // The base's layer, berth's, and one per model.
    expect(fromDockerfile.RootFS.Layers).toHaveLength(fromBerth.RootFS.Layers.length);
    expect(fromBerth.RootFS.Layers).toHaveLength(4);

    const mounted = [IMAGES.dockerfile, IMAGES.built].map((ref) => podman(['image', 'mount', ref]));
    try {
      const [a, b] = mounted as [string, string];
      const models = filesUnder(join(a, 'models'));
      expect(models).toEqual([
        'double/1/model.onnx',
        'double/2/model.onnx',
        'double/config.yaml',
        'extra/1/model.onnx',
      ]);
      expect(filesUnder(join(b, 'models'))).toEqual(models);
      for (const file of models)
        expect(
          readFileSync(join(a, 'models', file)).equals(readFileSync(join(b, 'models', file))),
          file,
        ).toBe(true);
      // berth's own files are the same; its dependencies were resolved by npm afresh, so only
      // their pruning is compared.
      const app = filesUnder(join(a, 'app'));
      const own = (files: string[]) => files.filter((f) => !f.startsWith('node_modules/')).sort();
      expect(own(app)).toEqual(own(filesUnder(join(b, 'app'))));
      expect(app.filter((f) => /\.(d\.ts|map)$|\.test\.js$/.test(f))).toEqual([]);
      expect(app.filter((f) => f.includes('onnxruntime-node/bin/') && f.endsWith('.node'))).toEqual([
        expect.stringMatching(new RegExp(`/napi-v\\d+/linux/${process.arch}/onnxruntime_binding\\.node$`)),
      ]);
    } finally {
      for (const ref of [IMAGES.dockerfile, IMAGES.built]) spawnSync('podman', ['image', 'unmount', ref]);
    }
  });

  it('runs read-only as user 65532, serves inference, passes its health check and stops on SIGTERM', async () => {
    const [http, grpc] = [await freePort(), await freePort()];
    const container = podman([
      'run',
      '-d',
      ...RUN_FLAGS,
      '--read-only',
      '-p',
      `127.0.0.1:${http}:8000`,
      '-p',
      `127.0.0.1:${grpc}:8001`,
      IMAGES.dockerfile,
    ]);
    containers.push(container);
    await readyClient(container, http);
    await expectDoubles(`http://127.0.0.1:${http}`);
    expect(podman(['top', container, 'user', 'args'])).toMatch(
      /(65532|nonroot)\s+\/nodejs\/bin\/node \/app\/bin\/berth.js serve \/models/,
    );
    expect(spawnSync('podman', ['healthcheck', 'run', container], { encoding: 'utf8' }).status).toBe(0);
    podman(['stop', '-t', '20', container]);
    expect(podman(['inspect', '--format', '{{.State.ExitCode}}', container])).toBe('0');
  }, 120_000);

  async function composeUp(args: string[], project: string): Promise<{ url: string; container: string }> {
    const [http, grpc] = [await freePort(), await freePort()];
    const dir = join(context, project);
    const rendered = render([
      'compose',
      ...args,
      '-o',
      dir,
      '--port',
      String(http),
      '--grpc-port',
      String(grpc),
    ]);
    if (rendered.status !== 0) throw new Error(`berth render compose failed: ${rendered.stderr}`);
    projects.push(project);
    const up = await spawnAsync(
      'podman-compose',
      [
        '-p',
        project,
        '-f',
        join(dir, 'compose.yaml'),
        `--podman-run-args=${RUN_FLAGS.join(' ')}`,
        'up',
        '-d',
      ],
      dir,
    );
    if (up.status !== 0)
      throw new Error(`podman-compose up failed (is podman-compose installed?):\n${up.stderr}`);
    const container = podman(['ps', '-q', '--filter', `label=io.podman.compose.project=${project}`]);
    expect(container).toMatch(/^[0-9a-f]+$/);
    await readyClient(container, http);
    return { url: `http://127.0.0.1:${http}`, container };
  }

  it('runs the compose.yaml with podman-compose: hardened, limited, models baked in', async () => {
    const project = `berthrender${process.pid}baked`;
    const { url, container } = await composeUp(
      ['--image', IMAGES.dockerfile, '--memory', '512m', '--cpus', '1'],
      project,
    );
    await expectDoubles(url);
    const state = JSON.parse(podman(['inspect', container]))[0] as {
      Config: { User: string };
      EffectiveCaps: string[] | null;
      HostConfig: { ReadonlyRootfs: boolean; SecurityOpt: string[]; Memory: number; NanoCpus: number };
    };
    expect(state.Config.User).toBe('65532:65532');
    expect(state.EffectiveCaps ?? []).toEqual([]);
    expect(state.HostConfig).toMatchObject({ ReadonlyRootfs: true, Memory: 512 * 1024 ** 2, NanoCpus: 1e9 });
    expect(state.HostConfig.SecurityOpt).toContain('no-new-privileges');
    // podman-compose 1.0.3 wraps a CMD health check in /bin/sh -c, which a distroless image has
    // not; the image's own check passed above, so it is not run here.
    expect((await spawnAsync('podman-compose', ['-p', project, 'down'], join(context, project))).status).toBe(
      0,
    );
  }, 120_000);

  it('runs the compose.yaml with the models mounted read-only into an image without them', async () => {
    const project = `berthrender${process.pid}mounted`;
    const { url, container } = await composeUp(
      [join(context, 'models'), '--models-volume', '--image', IMAGES.modelless],
      project,
    );
    await expectDoubles(url);
    expect(
      podman(['inspect', '--format', '{{range .Mounts}}{{.Destination}} {{.RW}}{{end}}', container]),
    ).toBe('/models false');
    expect((await spawnAsync('podman-compose', ['-p', project, 'down'], join(context, project))).status).toBe(
      0,
    );
  }, 120_000);
});
