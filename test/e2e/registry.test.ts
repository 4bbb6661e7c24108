/**
 * `berth build` against a real OCI registry (Debian's docker-registry, the CNCF distribution
 * registry, started on 127.0.0.1 by test/helpers/registry.ts): push, what skopeo reports of the
 * pushed image, a second push that uploads nothing, an image index of two platforms, the SBOM
 * attached as a referrer, a base pulled from the registry with its layers mounted across
 * repositories, pulling the image back into podman and running it, and the three ways a registry
 * asks for credentials (none, Basic, Bearer tokens), including a refused push.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outputOf } from '../../src/client/index.js';
import type { BuildResult } from '../../src/packaging/index.js';
import { doubleModel, writeModel } from '../fixtures/models.js';
import { testBaseImageForFile } from '../helpers/base-image.js';
import { runCli } from '../helpers/cli.js';
import { freePort } from '../helpers/free-port.js';
import { podman, readyClient, RUN_FLAGS } from '../helpers/podman.js';
import { startRegistry, type TestRegistry } from '../helpers/registry.js';
import { tempDirsForFile } from '../helpers/temp-dir.js';

const baseImage = testBaseImageForFile();
const tempDir = tempDirsForFile('berth-cache-');

let base: { dir: string; ref: string; multiRef: string };
let repo: string;
const registries: TestRegistry[] = [];

beforeAll(async () => {
  process.env.BERTH_CACHE_DIR = tempDir();
  base = await baseImage();
  repo = tempDir('berth-registry-models-');
  writeModel(repo, 'double', doubleModel());
}, 120_000);

afterAll(async () => {
  for (const registry of registries) await registry.stop();
});

async function registry(auth: 'none' | 'basic' | 'token' = 'none'): Promise<TestRegistry> {
  const started = await startRegistry({ auth });
  registries.push(started);
  return started;
}

interface Pushed extends BuildResult {
  ms: number;
}

function build(
  args: string[],
  env: Record<string, string> = {},
): { status: number | null; stdout: string; stderr: string } {
  return runCli(['build', repo, ...args], { timeoutMs: 180_000, env });
}

function push(reg: TestRegistry, ref: string, args: string[], env: Record<string, string> = {}): Pushed {
  const result = build(
    ['--push', `${reg.host}/${ref}`, '--insecure-registry', reg.host, '--json', ...args],
    env,
  );
  if (result.status !== 0) throw new Error(`berth build failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as Pushed;
}

function skopeo(args: string[]): string {
  const result = spawnSync('skopeo', args, { encoding: 'utf8', timeout: 60_000 });
  if (result.status !== 0) throw new Error(`skopeo ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

interface Inspected {
  Digest: string;
  Labels: Record<string, string>;
  Architecture: string;
  Os: string;
  Layers: string[];
}

function inspect(reference: string, raw = false): unknown {
  return JSON.parse(
    skopeo(['inspect', '--tls-verify=false', ...(raw ? ['--raw'] : []), `docker://${reference}`]),
  ) as unknown;
}

async function blob(reg: TestRegistry, repository: string, digest: string): Promise<Buffer> {
  const res = await fetch(`${reg.url}/v2/${repository}/blobs/${digest}`);
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
}

describe('berth build --push', () => {
  it('pushes an image that skopeo reads back with the digest, labels and layers berth reported', async () => {
    const reg = await registry();
    const pushed = push(reg, 'team/fraud:1.0', ['--base', `oci:${base.dir}:${base.ref}`]);
    expect(pushed.reference).toBe(`${reg.host}/team/fraud:1.0`);
    const seen = inspect(`${reg.host}/team/fraud:1.0`) as Inspected;
    expect(seen.Digest).toBe(pushed.digest);
    expect(seen.Os).toBe('linux');
    expect(seen.Architecture).toBe(pushed.platform.architecture);
    expect(seen.Layers).toEqual(pushed.layers.map((l) => l.digest));
    expect(seen.Labels).toMatchObject({
      'org.opencontainers.image.title': 'fraud',
      'org.opencontainers.image.version': '1.0',
      'berth.model.double.version': '1',
      'berth.model.double.sha256': expect.stringMatching(/^[0-9a-f]{64}$/),
    });

    // The SBOM: a referrer listed under the fallback tag (this registry has no referrers API).
    expect(pushed.sbom.referrer?.via).toBe('tag');
    const referrers = inspect(`${reg.host}/team/fraud:sha256-${pushed.digest.slice(7)}`, true) as {
      manifests: { digest: string; artifactType: string }[];
    };
    expect(referrers.manifests).toEqual([
      expect.objectContaining({
        digest: pushed.sbom.referrer?.digest,
        artifactType: 'application/vnd.cyclonedx+json',
      }),
    ]);
    const artifact = inspect(`${reg.host}/team/fraud@${pushed.sbom.referrer?.digest ?? ''}`, true) as {
      subject: { digest: string };
      layers: { digest: string }[];
    };
    expect(artifact.subject.digest).toBe(pushed.digest);
    const sbom = JSON.parse((await blob(reg, 'team/fraud', artifact.layers[0]?.digest ?? '')).toString()) as {
      bomFormat: string;
      components: { type: string; name: string; hashes?: { content: string }[] }[];
    };
    expect(sbom.bomFormat).toBe('CycloneDX');
    expect(sbom.components).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          type: 'machine-learning-model',
          name: 'double',
          hashes: [expect.objectContaining({ content: seen.Labels['berth.model.double.sha256'] })],
        }),
        expect.objectContaining({ type: 'library', name: 'onnxruntime-node' }),
      ]),
    );

    // Pushing the same image again uploads nothing and gives the same digest and referrer.
    const again = build([
      '--push',
      `${reg.host}/team/fraud:1.0`,
      '--insecure-registry',
      reg.host,
      '--base',
      `oci:${base.dir}:${base.ref}`,
    ]);
    expect(again.status).toBe(0);
    expect(again.stderr).not.toMatch(/: uploaded/);
    expect(again.stderr).toMatch(/: exists/);
    expect(again.stdout).toContain(pushed.digest);
    const stillOne = inspect(`${reg.host}/team/fraud:sha256-${pushed.digest.slice(7)}`, true) as {
      manifests: unknown[];
    };
    expect(stillOne.manifests).toHaveLength(1);

    // --push without a tag takes the one -t names.
    const tagged = push(reg, 'team/fraud', ['--base', `oci:${base.dir}:${base.ref}`, '-t', 'fraud:2.0']);
    expect(tagged.reference).toBe(`${reg.host}/team/fraud:2.0`);
    expect(
      (inspect(`${reg.host}/team/fraud:2.0`) as Inspected).Labels['org.opencontainers.image.version'],
    ).toBe('2.0');
  }, 300_000);

  it('pushes an index of two platforms', () => {
    const reg = registries[0] as TestRegistry;
    const pushed = push(reg, 'team/multi:2', [
      '--base',
      `oci:${base.dir}:${base.multiRef}`,
      '--platform',
      'linux/amd64,linux/arm64',
    ]);
    expect(pushed.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(pushed.images.map((i) => i.platform.architecture)).toEqual(['amd64', 'arm64']);
    const index = inspect(`${reg.host}/team/multi:2`, true) as {
      manifests: { digest: string; platform: { os: string; architecture: string } }[];
    };
    expect(index.manifests.map((m) => [m.digest, m.platform])).toEqual(
      pushed.images.map((i) => [i.digest, { os: 'linux', architecture: i.platform.architecture }]),
    );
    expect((inspect(`${reg.host}/team/multi:2`) as Inspected).Digest).toBe(pushed.digest);
    // The model layer is the same on both; berth's differs (onnxruntime's binaries).
    const [amd, arm] = pushed.images;
    const layer = (image: typeof amd, name: string) => image?.layers.find((l) => l.name === name)?.digest;
    expect(layer(arm, 'model:double')).toBe(layer(amd, 'model:double'));
    expect(layer(arm, 'berth')).not.toBe(layer(amd, 'berth'));
    expect(
      build([
        '--output',
        `docker-archive:${join(tempDir('berth-out-'), 'x.tar')}`,
        '--base',
        `oci:${base.dir}:${base.multiRef}`,
        '--platform',
        'linux/amd64,linux/arm64',
      ]).stderr,
    ).toMatch(/docker-archive: holds one platform/);
  }, 300_000);

  it('builds on a base from the registry, mounting its layers, and the pulled image serves', async () => {
    const reg = registries[0] as TestRegistry;
    skopeo([
      'copy',
      '--dest-tls-verify=false',
      `oci:${base.dir}:${base.ref}`,
      `docker://${reg.host}/base/node:1`,
    ]);
    const result = build([
      '--base',
      `${reg.host}/base/node:1`,
      '--push',
      `${reg.host}/team/served:1`,
      '--insecure-registry',
      reg.host,
    ]);
    expect(result.status).toBe(0);
    expect(result.stderr).toMatch(/: mounted/);
    expect(result.stderr).toMatch(new RegExp(`base linux/\\w+: ${reg.host}/base/node:1`));

    // The same base from the registry into a local layout: its blobs are fetched.
    const layout = tempDir('berth-out-');
    const local = build([
      '--base',
      `${reg.host}/base/node:1`,
      '--output',
      `oci:${layout}`,
      '--insecure-registry',
      reg.host,
      '--json',
    ]);
    expect(local.status).toBe(0);
    const localResult = JSON.parse(local.stdout) as BuildResult;
    expect(
      readFileSync(join(layout, 'blobs', 'sha256', (localResult.layers[0]?.digest ?? '').slice(7)))
        .byteLength,
    ).toBe(localResult.layers[0]?.size);

    const image = `${reg.host}/team/served:1`;
    podman(['pull', '--tls-verify=false', image], 180_000);
    const port = await freePort();
    const container = podman([
      'run',
      '-d',
      ...RUN_FLAGS,
      '--read-only',
      '-p',
      `127.0.0.1:${port}:8000`,
      image,
    ]);
    try {
      const client = await readyClient(container, port);
      const response = await client.infer('double', [
        { name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] },
      ]);
      expect(Array.from(outputOf(response, 'OUTPUT0').data as Float32Array)).toEqual([2, 4, 6, 8]);
    } finally {
      spawnSync('podman', ['rm', '-f', container], { encoding: 'utf8' });
      spawnSync('podman', ['rmi', '-f', image], { encoding: 'utf8' });
    }
  }, 300_000);

  it('logs in with Basic credentials from the environment, and names the registry when it has none', async () => {
    const reg = await registry('basic');
    const denied = build(
      [
        '--push',
        `${reg.host}/team/secure:1`,
        '--insecure-registry',
        reg.host,
        '--base',
        `oci:${base.dir}:${base.ref}`,
      ],
      { DOCKER_CONFIG: tempDir('berth-empty-config-') },
    );
    expect(denied.status).toBe(2);
    expect(denied.stderr).toMatch(
      new RegExp(`${reg.host} wants a user name and password.*BERTH_ERR_PACKAGING_REGISTRY_UNAUTHORIZED`),
    );
    const pushed = push(reg, 'team/secure:1', ['--base', `oci:${base.dir}:${base.ref}`], {
      BERTH_REGISTRY_USERNAME: reg.username,
      BERTH_REGISTRY_PASSWORD: reg.password,
    });
    expect(
      JSON.parse(
        skopeo([
          'inspect',
          '--tls-verify=false',
          '--creds',
          `${reg.username}:${reg.password}`,
          `docker://${reg.host}/team/secure:1`,
        ]),
      ),
    ).toMatchObject({ Digest: pushed.digest });
    const wrong = build(
      [
        '--push',
        `${reg.host}/team/secure:1`,
        '--insecure-registry',
        reg.host,
        '--base',
        `oci:${base.dir}:${base.ref}`,
      ],
      { BERTH_REGISTRY_USERNAME: reg.username, BERTH_REGISTRY_PASSWORD: 'wrong' },
    );
    expect(wrong.stderr).toMatch(/HTTP 401.*BERTH_ERR_PACKAGING_REGISTRY_UNAUTHORIZED/);
  }, 300_000);

  it('gets Bearer tokens with the Docker config, caches them, and reports a push the token does not allow', async () => {
    const reg = await registry('token');
    const pushed = push(reg, 'team/tokens:1', ['--base', `oci:${base.dir}:${base.ref}`], {
      DOCKER_CONFIG: reg.dockerConfig,
    });
    // One token for the push scope serves every blob and manifest of the push.
    expect(reg.tokenRequests).toBe(1);
    expect(reg.tokenLog[0]).toMatchObject({
      account: reg.username,
      scopes: ['repository:team/tokens:pull,push'],
    });
    const seen = JSON.parse(
      skopeo([
        'inspect',
        '--tls-verify=false',
        '--creds',
        `${reg.username}:${reg.password}`,
        `docker://${reg.host}/team/tokens:1`,
      ]),
    ) as Inspected;
    expect(seen.Digest).toBe(pushed.digest);

    const reader = reg.reader;
    if (reader === undefined) throw new Error('the token registry has a read-only user');
    const readerConfig = tempDir('berth-reader-config-');
    writeFileSync(
      join(readerConfig, 'config.json'),
      JSON.stringify({
        auths: {
          [reg.host]: { auth: Buffer.from(`${reader.username}:${reader.password}`).toString('base64') },
        },
      }),
    );
    const refused = build(
      [
        '--push',
        `${reg.host}/team/tokens:2`,
        '--insecure-registry',
        reg.host,
        '--base',
        `oci:${base.dir}:${base.ref}`,
      ],
      { DOCKER_CONFIG: readerConfig },
    );
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(
      /HTTP 401 .*the credentials from .*config\.json do not allow it \(insufficient_scope\) \(BERTH_ERR_PACKAGING_REGISTRY_DENIED\)/,
    );
    expect(refused.stderr).not.toContain(reader.password);
  }, 300_000);
});
