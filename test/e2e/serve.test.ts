/** `berth serve` as a real process: the quick start, single files, repositories, broken models. */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { createClient, outputOf } from '../../src/client/index.js';
import { doubleModel, writeModel } from '../fixtures/models.js';
import { grpcCode, inferMessage } from '../helpers/grpc-call.js';
import { tempDirsForFile } from '../helpers/temp-dir.js';
import { until } from '../helpers/until.js';
import { runCli, startServeForEachTest } from '../helpers/cli.js';
import { probeReady, requestOptions } from '../../src/gateway/index.js';
import { request as httpRequest } from 'node:http';

const serve = startServeForEachTest();
const tempDir = tempDirsForFile('berth-e2e-');

describe('berth serve', () => {
  it('serves the built-in iris example when given no model', async () => {
    const p = await serve([]);
    await p.waitForLog((l) => String(l.msg).startsWith('models loaded'));
    const client = createClient({ url: p.url });
    expect(await client.ready()).toBe(true);
    const response = await client.infer('iris', [
      { name: 'features', datatype: 'FP32', shape: [2, 4], data: [5.1, 3.5, 1.4, 0.2, 7.7, 3.0, 6.1, 2.3] },
    ]);
    const labels = (outputOf(response, 'label').data as Uint8Array[]).map((b) => new TextDecoder().decode(b));
    expect(labels).toEqual(['setosa', 'virginica']);
    const probabilities = outputOf(response, 'probabilities').data as Float32Array;
    expect(probabilities[0]).toBeGreaterThan(0.99);
  });

  it('names a single model after its file, version 1', async () => {
    const dir = tempDir();
    const file = join(dir, 'double.onnx');
    writeFileSync(file, doubleModel());
    const p = await serve([file]);
    const client = createClient({ url: p.url });
    await p.waitForLog((l) => String(l.msg).startsWith('models loaded'));
    const meta = await client.modelMetadata('double');
    expect(meta).toMatchObject({ name: 'double', versions: ['1'], platform: 'onnxruntime_onnx' });
    const result = await client.infer(
      'double',
      [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }],
      { version: '1', binaryInputs: false, binaryOutputs: false },
    );
    expect(Array.from(outputOf(result, 'OUTPUT0').data as Float32Array)).toEqual([2, 4, 6, 8]);
  });

  it('with --no-exit-on-error, serves a repository where one broken model does not stop the others, and says why', async () => {
    const repo = tempDir();
    writeModel(repo, 'good', doubleModel(), 1);
    writeModel(repo, 'good', doubleModel(), 2);
    mkdirSync(join(repo, 'broken', '1'), { recursive: true });
    writeFileSync(join(repo, 'broken', '1', 'model.onnx'), 'this is not onnx');
    mkdirSync(join(repo, 'badconfig', '1'), { recursive: true });
    writeFileSync(join(repo, 'badconfig', '1', 'model.onnx'), doubleModel());
    writeFileSync(join(repo, 'badconfig', 'config.yaml'), 'maxBatchSize: 4\nbogusKey: 1\n');
    const p = await serve([repo, '--no-exit-on-error']);
    await p.waitForLog((l) => String(l.msg).startsWith('models loaded'));
    const client = createClient({ url: p.url });
    // Strict readiness: not ready while a model is broken, but the good one serves.
    expect(await client.ready()).toBe(false);
    expect(await client.modelReady('good')).toBe(true);
    // The default version policy serves the latest version only.
    expect((await client.modelMetadata('good')).versions).toEqual(['2']);
    const index = await client.repositoryIndex();
    expect(index.find((e) => e.name === 'broken')).toMatchObject({
      state: 'UNAVAILABLE',
      reason:
        'broken/1/model.onnx: not an ONNX model: protobuf decoding failed (invalid wire type 4 at offset 1)',
    });
    expect(index.find((e) => e.name === 'badconfig')).toMatchObject({
      state: 'UNAVAILABLE',
      reason: expect.stringMatching(/bogusKey/),
    });
    await expect(client.infer('broken', [])).rejects.toThrow(/HTTP 503 .*not ready/);
    // A bad file and a bad config are the user's to fix: warnings with the reason, no stack.
    expect(
      p.logs.find((l) => l.model === 'broken' && String(l.msg).includes('failed to load')),
    ).toMatchObject({
      level: 40,
      code: 'BERTH_ERR_RUNTIME_INVALID_MODEL',
    });
    expect(p.logs.find((l) => l.model === 'badconfig')).toMatchObject({
      level: 40,
      code: 'BERTH_ERR_REPOSITORY_INVALID_CONFIG',
    });
    expect(p.logs.filter((l) => l.err !== undefined)).toEqual([]);
    expect(p.process.exitCode).toBeNull();
  });

  it('exits 2 when a model given at start is not ONNX, naming the model and why (Triton --exit-on-error)', () => {
    const dir = tempDir();
    const file = join(dir, 'notonnx.onnx');
    writeFileSync(file, 'this is not onnx');
    const result = runCli(['serve', file, '--port', '0', '--grpc-port', '0', '--log-format', 'json']);
    expect(result.status).toBe(2);
    const lines = result.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.find((l) => l.level === 50 && l.model === 'notonnx')).toMatchObject({
      code: 'BERTH_ERR_RUNTIME_INVALID_MODEL',
      msg: 'model "notonnx" failed to load: version 1: notonnx.onnx: not an ONNX model: protobuf decoding failed (invalid wire type 4 at offset 1)',
    });
    // By order, not position: under load another line (a worker's) may be written after them.
    const exiting = lines.findIndex((l) => String(l.msg).startsWith('exiting with status 2'));
    expect(lines[exiting], result.stderr).toMatchObject({
      level: 50,
      failed: ['notonnx'],
      msg: 'exiting with status 2: 1 model given at start did not load (--no-exit-on-error serves the others)',
    });
    expect(
      lines.findIndex((l) => l.msg === 'stopped'),
      result.stderr,
    ).toBeGreaterThan(exiting);
  });

  it('exits 2 for a --load-model that the repository does not have (explicit mode)', () => {
    const repo = tempDir();
    writeModel(repo, 'good', doubleModel());
    const args = ['serve', repo, '--port', '0', '--grpc-port', '0', '--model-control-mode', 'explicit'];
    const result = runCli([...args, '--load-model', 'good', '--load-model', 'nope']);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('--load-model nope: no such model in the repository (it has \\"good\\")');
  });

  it('refuses a model folder given as the repository, saying which repository was meant', () => {
    const repo = tempDir();
    writeModel(repo, 'fraud', doubleModel(), 1);
    writeModel(repo, 'fraud', doubleModel(), 2);
    const result = runCli(['serve', join(repo, 'fraud'), '--port', '0']);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain(
      `berth: ${join(repo, 'fraud')} is a model folder (it holds version folders 1, 2), not a model repository; serve its parent repository: berth serve ${repo} (BERTH_ERR_REPOSITORY_MODEL_FOLDER)\n`,
    );
  });

  it('warns about a repository with no models, and logs one listening line', async () => {
    const repo = tempDir();
    const p = await serve([repo]);
    await p.waitForLog((l) => String(l.msg).startsWith('models loaded'));
    expect(p.logs.find((l) => l.repository === repo)).toMatchObject({
      level: 40,
      msg: `${repo}: the model repository holds no model folder (expected ${repo}/<model>/<version>/model.onnx)`,
    });
    // fastify's own "Server listening at" line would repeat berth's.
    expect(p.logs.filter((l) => /listening/i.test(String(l.msg)))).toHaveLength(1);
  });

  it('reports ready with --no-strict-readiness once any model is ready', async () => {
    const repo = tempDir();
    writeModel(repo, 'good', doubleModel());
    mkdirSync(join(repo, 'broken', '1'), { recursive: true });
    writeFileSync(join(repo, 'broken', '1', 'model.onnx'), 'nope');
    const p = await serve([repo, '--no-strict-readiness', '--no-exit-on-error']);
    await p.waitForLog((l) => String(l.msg).startsWith('models loaded'));
    expect(await createClient({ url: p.url }).ready()).toBe(true);
  });

  it('exits 2 with a clear message for a missing model path or a bad option', () => {
    const missing = runCli(['serve', '/nonexistent/model.onnx', '--port', '0']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/\/nonexistent\/model.onnx: cannot read \(ENOENT\)/);
    const port = runCli(['serve', '--port', 'eighty']);
    expect(port.status).toBe(2);
    expect(port.stderr).toMatch(/--port: expected an integer from 0 to 65535, got "eighty"/);
    const unknown = runCli(['serve', '--frobnicate']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/unknown option '--frobnicate'/);
  });

  it('exits 2 when its HTTP or gRPC port is in use, naming the address', async () => {
    const p = await serve([]);
    const [httpPort, grpcPort] = [new URL(p.url).port, (p.grpcAddress ?? '').split(':')[1] ?? ''];
    const http = runCli(['serve', '--port', httpPort, '--grpc-port', '0']);
    expect(http.status).toBe(2);
    expect(http.stderr).toMatch(
      new RegExp(
        `berth: cannot listen for HTTP on 127\\.0\\.0\\.1:${httpPort}: .*EADDRINUSE.* \\(BERTH_ERR_SERVER_LISTEN_FAILED\\)`,
      ),
    );
    const grpc = runCli(['serve', '--port', '0', '--grpc-port', grpcPort]);
    expect(grpc.status).toBe(2);
    expect(grpc.stderr).toMatch(
      new RegExp(`berth: cannot listen for gRPC on 127\\.0\\.0\\.1:${grpcPort}: .*EADDRINUSE`),
    );
  });

  it('prints its version and documents every option in --help', () => {
    const version = runCli(['--version']);
    expect(version.status).toBe(0);
    expect(version.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
    const help = runCli(['serve', '--help']);
    expect(help.status).toBe(0);
    for (const option of [
      '--host',
      '--port',
      '--grpc-port',
      '--no-grpc',
      '--grpc-max-message-size',
      '--intra-op-threads',
      '--inter-op-threads',
      '--log-level',
      '--log-format',
      '--max-body-size',
      '--max-tensor-elements',
      '--drain-timeout',
      '--no-strict-readiness',
      '--no-exit-on-error',
    ]) {
      expect(help.stdout).toContain(option);
    }
    // Triton repositories are served as they are: the help says so.
    expect(help.stdout).toContain('config.pbtxt');
  });

  it('serves REST and gRPC on unix sockets with --socket and --grpc-socket, and removes the files when it stops', async () => {
    const dir = tempDir();
    writeModel(dir, 'double', doubleModel());
    const socket = join(dir, 'berth.sock');
    const grpcSocket = join(dir, 'berth.grpc.sock');
    const server = await serve([dir, '--socket', socket, '--grpc-socket', grpcSocket]);
    expect(server.url).toBe(`unix:${socket}`);
    expect(server.grpcAddress).toBe(`unix:${grpcSocket}`);
    await until(() => probeReady(server.url, 5000), 'readiness over the socket');
    expect(await grpcCode(`unix:${grpcSocket}`, 'ModelInfer', inferMessage())).toBe(status.OK);
    const body = JSON.stringify({
      inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }],
    });
    const answer = await new Promise<string>((resolve, reject) => {
      const request = httpRequest(
        requestOptions(server.url, '/v2/models/double/infer', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
        }),
        (response) => {
          let text = '';
          response.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
          response.once('end', () => resolve(text));
        },
      );
      request.once('error', reject);
      request.end(body);
    });
    expect((JSON.parse(answer) as { outputs: { data: number[] }[] }).outputs[0]?.data).toEqual([2, 4, 6, 8]);
    expect(await server.stop()).toBe(0);
    expect(existsSync(socket)).toBe(false);
    expect(existsSync(grpcSocket)).toBe(false);
  });
});
