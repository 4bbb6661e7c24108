/**
 * An image from `berth build`, run in a real container: podman (Debian) loads the docker-archive,
 * runs it as the image's non-root user with a read-only root filesystem, the port published on
 * 127.0.0.1, and an Open Inference Protocol request gets the right answer; the image's health
 * check passes; `podman stop` ends it promptly through berth's own SIGTERM drain.
 *
 * podman needs `--runtime runc --ulimit nofile=1024:1024 --ulimit nproc=4096:4096` here
 * (docs/architecture.md, "Real components in tests"); scripts/test-deps.sh installs it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, outputOf } from '../../src/client/index.js';
import { doubleModel, writeModel } from '../fixtures/models.js';
import { testBaseImageForFile } from '../helpers/base-image.js';
import { runCli } from '../helpers/cli.js';
import { freePort } from '../helpers/free-port.js';
import { podman, readyClient, RUN_FLAGS } from '../helpers/podman.js';
import { tempDirsForFile } from '../helpers/temp-dir.js';

const baseImage = testBaseImageForFile();
const tempDir = tempDirsForFile('berth-container-models-');

const IMAGE = 'localhost/berth-e2e-double:1';

let container: string | undefined;

beforeAll(async () => {
  const base = await baseImage();
  const repo = tempDir();
  writeModel(repo, 'double', doubleModel());
  const archive = join(tempDir('berth-container-'), 'image.tar');
  const built = runCli(
    [
      'build',
      repo,
      '--base',
      `oci:${base.dir}:${base.ref}`,
      '--output',
      `docker-archive:${archive}`,
      '-t',
      IMAGE,
    ],
    { timeoutMs: 180_000 },
  );
  if (built.status !== 0) throw new Error(`berth build failed: ${built.stderr}`);
  expect(podman(['load', '-i', archive])).toMatch(IMAGE);
}, 300_000);

afterAll(() => {
  if (container !== undefined) spawnSync('podman', ['rm', '-f', container], { encoding: 'utf8' });
  spawnSync('podman', ['rmi', '-f', IMAGE], { encoding: 'utf8' });
});

describe('a berth image in podman', () => {
  it('serves inference as a non-root user on a read-only filesystem, passes its health check, and stops on SIGTERM', async () => {
    const [http, grpc] = [await freePort(), await freePort()];
    container = podman([
      'run',
      '-d',
      ...RUN_FLAGS,
      '--read-only',
      '-p',
      `127.0.0.1:${http}:8000`,
      '-p',
      `127.0.0.1:${grpc}:8001`,
      IMAGE,
    ]);
    const client = await readyClient(container, http);
    const response = await client.infer('double', [
      { name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] },
    ]);
    expect(Array.from(outputOf(response, 'OUTPUT0').data as Float32Array)).toEqual([2, 4, 6, 8]);
    const overGrpc = createClient({ url: `grpc://127.0.0.1:${grpc}` });
    expect(await overGrpc.ready()).toBe(true);
    overGrpc.close();

    expect(podman(['inspect', '--format', '{{.Config.User}}', container])).toBe('65532:65532');
    expect(podman(['top', container, 'user', 'args'])).toMatch(
      /(65532|nonroot)\s+\/nodejs\/bin\/node \/app\/bin\/berth.js serve/,
    );
    expect(spawnSync('podman', ['healthcheck', 'run', container], { encoding: 'utf8' }).status).toBe(0);

    const started = Date.now();
    podman(['stop', '-t', '20', container]);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(podman(['inspect', '--format', '{{.State.ExitCode}}', container])).toBe('0');
    // berth logs to standard error, which `podman logs` gives back on its own standard error.
    const logs = spawnSync('podman', ['logs', container], { encoding: 'utf8' });
    expect(logs.stderr).toMatch(/"msg":"stopped"/);
    execFileSync('podman', ['rm', container]);
    container = undefined;
  }, 180_000);
});
