/**
 * Model lifecycle on a real `berth serve` process: control modes, the repository API over REST,
 * gRPC and the `berth models` CLI, a Triton repository with config.pbtxt, and zero failed
 * requests while versions are added, reloaded and removed under load.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createClient, outputOf } from '../../src/client/index.js';
import { BerthError } from '../../src/protocol/index.js';
import { doubleModel, identityModel, writeModel } from '../fixtures/models.js';
import { runCli, startServeForEachTest, type ServeProcess } from '../helpers/cli.js';
import { until } from '../helpers/until.js';
import { tempDirsForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirsForFile('berth-lifecycle-');

const startServe = startServeForEachTest();

async function serve(args: string[]): Promise<ServeProcess> {
  const p = await startServe(args);
  await p.waitForLog((l) => String(l.msg).startsWith('models loaded'));
  return p;
}

function repository(): string {
  return tempDir();
}

const input = [{ name: 'INPUT0', datatype: 'FP32' as const, shape: [1, 4], data: [1, 2, 3, 4] }];

describe('explicit model control', () => {
  it('loads only --load-model at start, then loads and unloads on request over REST, gRPC and the CLI', async () => {
    const repo = repository();
    writeModel(repo, 'a', doubleModel());
    writeModel(repo, 'b', doubleModel());
    const p = await serve([repo, '--model-control-mode', 'explicit', '--load-model', 'a']);
    const rest = createClient({ url: p.url });
    const grpc = createClient({ url: `grpc://${p.grpcAddress ?? ''}` });
    expect(await rest.repositoryIndex()).toEqual([
      { name: 'a', version: '1', state: 'READY', reason: '' },
      { name: 'b', version: '', state: 'UNAVAILABLE', reason: 'not loaded' },
    ]);
    expect(await rest.ready()).toBe(true);

    await rest.loadModel('b');
    expect(Array.from(outputOf(await grpc.infer('b', input), 'OUTPUT0').data as Float32Array)).toEqual([
      2, 4, 6, 8,
    ]);

    await grpc.unloadModel('b');
    expect((await grpc.repositoryIndex()).find((e) => e.name === 'b')).toEqual({
      name: 'b',
      version: '1',
      state: 'UNAVAILABLE',
      reason: 'unloaded',
    });
    const refused = await rest.infer('b', input).catch((e: unknown) => e as BerthError);
    expect(refused).toBeInstanceOf(BerthError);
    expect((refused as BerthError).code).toBe('BERTH_ERR_MODEL_NOT_READY');

    // The CLI, as a script would use it.
    const loadCli = runCli(['models', 'load', 'b', '--url', p.url, '--json']);
    expect(loadCli.status).toBe(0);
    expect(JSON.parse(loadCli.stdout)).toMatchObject({
      model: 'b',
      versions: [{ name: 'b', version: '1', state: 'READY', reason: '' }],
    });
    const list = runCli(['models', 'list', '--url', `grpc://${p.grpcAddress ?? ''}`]);
    expect(list.status).toBe(0);
    expect(list.stdout).toMatch(/MODEL\s+VERSION\s+STATE\s+REASON/);
    expect(list.stdout).toMatch(/b\s+1\s+READY/);
    const stats = runCli(['models', 'stats', 'b', '--url', p.url]);
    expect(stats.status).toBe(0);
    expect(stats.stdout).toMatch(/MODEL\s+VERSION\s+SUCCESS\s+FAIL\s+EXECUTIONS/);
    expect(stats.stdout).toMatch(/b\s+1\s+0\s+0\s+0/);
    const unloadCli = runCli(['models', 'unload', 'b', '--url', p.url]);
    expect(unloadCli.stdout).toBe('unloaded b\n');
    const help = runCli(['models', 'load', '--help']);
    expect(help.stdout).toMatch(/--config <file-or-json>/);
    expect(help.stdout).toMatch(/--url <url>/);

    const missing = runCli(['models', 'load', 'nope', '--url', p.url]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(
      /no model "nope" in the model repository \(BERTH_ERR_REPOSITORY_NOT_FOUND\)/,
    );
    const unreachable = runCli(['models', 'list', '--url', 'http://127.0.0.1:9', '--timeout', '2s']);
    expect(unreachable.status).toBe(2);
    expect(unreachable.stderr).toMatch(/BERTH_ERR_CLIENT_REQUEST_FAILED/);
    grpc.close();
  });

  it('loads with a config from the request, and reports a config that cannot apply', async () => {
    const repo = repository();
    writeModel(repo, 'm', doubleModel());
    const p = await serve([repo, '--model-control-mode', 'explicit', '--load-model', '*']);
    const client = createClient({ url: p.url });
    await client.loadModel('m', {
      config: JSON.stringify({ max_batch_size: 8, dynamic_batching: { max_queue_delay_microseconds: 500 } }),
    });
    const config = (await (await fetch(`${p.url}/v2/models/m/config`)).json()) as Record<string, unknown>;
    expect(config).toMatchObject({
      name: 'm',
      max_batch_size: 8,
      dynamic_batching: { max_queue_delay_microseconds: 500 },
      input: [{ name: 'INPUT0', data_type: 'TYPE_FP32', dims: [4] }],
    });
    const bad = await client
      .loadModel('m', { config: JSON.stringify({ max_batch_size: 8, sequence_batching: {} }) })
      .catch((e: unknown) => e as BerthError);
    expect((bad as BerthError).code).toBe('BERTH_ERR_REPOSITORY_INVALID_CONFIG');
    expect((bad as BerthError).message).toMatch(/sequence_batching/);
    // The model still serves with the config it had.
    expect((await client.infer('m', input)).modelVersion).toBe('1');
  });

  it('answers load and unload with a clear error in the default mode', async () => {
    const repo = repository();
    writeModel(repo, 'm', doubleModel());
    const p = await serve([repo]);
    const response = await fetch(`${p.url}/v2/repository/models/m/unload`, { method: 'POST' });
    expect(response.status).toBe(400);
    expect(response.headers.get('berth-error-code')).toBe('BERTH_ERR_REPOSITORY_CONTROL_DISABLED');
    expect(((await response.json()) as { error: string }).error).toMatch(/--model-control-mode none/);
  });
});

describe('a Triton model repository', () => {
  it('serves config.pbtxt models with two versions under the version policy, and Triton statistics', async () => {
    const repo = repository();
    writeModel(repo, 'tri', doubleModel(), 1);
    writeModel(repo, 'tri', doubleModel(), 2);
    writeModel(repo, 'tri', doubleModel(), 3);
    writeFileSync(
      join(repo, 'tri', 'config.pbtxt'),
      `name: "tri"
platform: "onnxruntime_onnx"
max_batch_size: 8
version_policy: { specific: { versions: [1, 3] } }
input [ { name: "INPUT0" data_type: TYPE_FP32 dims: [ 4 ] } ]
output [ { name: "OUTPUT0" data_type: TYPE_FP32 dims: [ 4 ] } ]
dynamic_batching { preferred_batch_size: [ 4 ] max_queue_delay_microseconds: 100 }
instance_group [ { count: 1 kind: KIND_CPU } ]
optimization { graph { level: 1 } }
`,
    );
    writeModel(repo, 'flat', identityModel('INT32', [2, 3]));
    writeFileSync(
      join(repo, 'flat', 'config.pbtxt'),
      'max_batch_size: 0\ninput [{ name: "INPUT0" data_type: TYPE_INT32 dims: [6] reshape: { shape: [2, 3] } }]\noutput [{ name: "OUTPUT0" data_type: TYPE_INT32 dims: [6] reshape: { shape: [2, 3] } }]\n',
    );
    const p = await serve([repo]);
    expect(p.logs.some((l) => String(l.msg).includes('config.pbtxt: ignored optimization'))).toBe(true);
    const client = createClient({ url: p.url });
    expect((await client.modelMetadata('tri')).versions).toEqual(['3', '1']);
    expect((await client.infer('tri', input)).modelVersion).toBe('3');
    expect((await client.infer('tri', input, { version: '1' })).modelVersion).toBe('1');
    await expect(client.infer('tri', input, { version: '2' })).rejects.toThrow(/has no version "2"/);

    // reshape: clients send [6], the model takes [2, 3].
    expect((await client.modelMetadata('flat')).inputs).toEqual([
      { name: 'INPUT0', datatype: 'INT32', shape: [6] },
    ]);
    const flat = await client.infer('flat', [
      { name: 'INPUT0', datatype: 'INT32', shape: [6], data: [1, 2, 3, 4, 5, 6] },
    ]);
    expect(outputOf(flat, 'OUTPUT0').shape).toEqual([6]);
    expect(Array.from(outputOf(flat, 'OUTPUT0').data as Int32Array)).toEqual([1, 2, 3, 4, 5, 6]);

    const grpc = createClient({ url: `grpc://${p.grpcAddress ?? ''}` });
    for (const c of [client, grpc]) {
      const [stats] = await c.modelStatistics('tri', '3');
      expect(stats).toMatchObject({ name: 'tri', version: '3', inference_count: 1, execution_count: 1 });
      expect(stats?.inference_stats.success.count).toBe(1);
      expect(stats?.inference_stats.compute_infer.ns).toBeGreaterThan(0);
      expect(stats?.batch_stats).toEqual([expect.objectContaining({ batch_size: 1 })]);
    }
    const all = (await (await fetch(`${p.url}/v2/models/stats`)).json()) as {
      model_stats: { name: string }[];
    };
    expect(all.model_stats.map((s) => s.name)).toEqual(['flat', 'tri', 'tri']);
    grpc.close();
  });
});

describe('poll model control', () => {
  it('loads new models and versions, reloads changed configs, and unloads removed models', async () => {
    const repo = repository();
    writeModel(repo, 'm', doubleModel(), 1);
    const p = await serve([repo, '--model-control-mode', 'poll', '--repository-poll-secs', '0.2']);
    const client = createClient({ url: p.url });
    writeModel(repo, 'm', doubleModel(), 2);
    await until(async () => (await client.modelMetadata('m')).versions[0] === '2', 'version 2 to load');
    writeFileSync(join(repo, 'm', 'config.yaml'), 'versions: { policy: all }\n');
    await until(async () => (await client.modelMetadata('m')).versions.length === 2, 'the config reload');
    writeModel(repo, 'n', doubleModel());
    await until(async () => client.modelReady('n').catch(() => false), 'new model n');
    rmSync(join(repo, 'n'), { recursive: true });
    await until(
      async () => (await client.repositoryIndex()).some((e) => e.name === 'n' && e.reason === 'unloaded'),
      'model n to unload',
    );
    // Explicit control is refused in poll mode.
    await expect(client.unloadModel('m')).rejects.toThrow(/--model-control-mode poll/);
    // A broken model dropped in later fails alone: the server stays ready (docs/adr/0004) and
    // keeps running (exit-on-error is about the models given at start).
    mkdirSync(join(repo, 'broken', '1'), { recursive: true });
    writeFileSync(join(repo, 'broken', '1', 'model.onnx'), 'this is not onnx');
    await until(
      async () => (await client.repositoryIndex()).some((e) => e.name === 'broken' && e.version === '1'),
      'the broken model to fail its load',
    );
    expect(await client.ready()).toBe(true);
    expect(await client.modelReady('broken')).toBe(false);
    expect(await client.modelReady('m')).toBe(true);
    expect(p.process.exitCode).toBeNull();
  });
});

describe('zero-downtime swaps', () => {
  it('fails no request while versions are added, reloaded and removed under continuous load', async () => {
    const repo = repository();
    writeModel(repo, 'm', doubleModel(), 1);
    const p = await serve([repo, '--model-control-mode', 'explicit', '--load-model', 'm']);
    const client = createClient({ url: p.url });
    const grpc = createClient({ url: `grpc://${p.grpcAddress ?? ''}` });
    let stop = false;
    const failures: unknown[] = [];
    const versions = new Set<string>();
    let answered = 0;
    const loop = async (c: typeof client) => {
      while (!stop) {
        try {
          const response = await c.infer('m', input);
          versions.add(response.modelVersion);
          const out = Array.from(outputOf(response, 'OUTPUT0').data as Float32Array);
          if (out.join() !== '2,4,6,8') failures.push(new Error(`wrong answer ${out.join()}`));
          answered++;
        } catch (error) {
          failures.push(error);
        }
      }
    };
    const loops = [client, client, client, grpc, grpc].map((c) => loop(c));
    const settle = () => new Promise((resolve) => setTimeout(resolve, 300));
    await settle();
    writeModel(repo, 'm', doubleModel(), 2); // a new version: replaces 1 (latest policy)
    await client.loadModel('m');
    await settle();
    writeFileSync(join(repo, 'm', 'config.yaml'), 'maxBatchSize: 8\n'); // a config change: reload
    await client.loadModel('m');
    await settle();
    rmSync(join(repo, 'm', '2'), { recursive: true }); // the new version removed: back to 1
    await client.loadModel('m');
    await settle();
    stop = true;
    await Promise.all(loops);
    grpc.close();
    expect(failures).toEqual([]);
    expect(answered).toBeGreaterThan(100);
    expect([...versions].sort()).toEqual(['1', '2']);
    expect((await client.modelMetadata('m')).versions).toEqual(['1']);
  });
});
