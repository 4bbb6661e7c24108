/** `berth serve` as a real process: the quick start, single files, repositories, broken models. */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createClient, outputOf } from '../../src/client/index.js';
import { doubleModel, writeModel } from '../fixtures/models.js';
import { runCli, startServeForEachTest } from '../helpers/cli.js';

const serve = startServeForEachTest();

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
    const dir = mkdtempSync(join(tmpdir(), 'berth-e2e-'));
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

  it('serves a repository where one broken model does not stop the others, and says why', async () => {
    const repo = mkdtempSync(join(tmpdir(), 'berth-e2e-'));
    writeModel(repo, 'good', doubleModel(), 1);
    writeModel(repo, 'good', doubleModel(), 2);
    mkdirSync(join(repo, 'broken', '1'), { recursive: true });
    writeFileSync(join(repo, 'broken', '1', 'model.onnx'), 'this is not onnx');
    mkdirSync(join(repo, 'badconfig', '1'), { recursive: true });
    writeFileSync(join(repo, 'badconfig', '1', 'model.onnx'), doubleModel());
    writeFileSync(join(repo, 'badconfig', 'config.yaml'), 'maxBatchSize: 4\nbogusKey: 1\n');
    const p = await serve([repo]);
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
      reason: expect.stringMatching(/onnxruntime could not load/),
    });
    expect(index.find((e) => e.name === 'badconfig')).toMatchObject({
      state: 'UNAVAILABLE',
      reason: expect.stringMatching(/bogusKey/),
    });
    await expect(client.infer('broken', [])).rejects.toThrow(/HTTP 503 .*not ready/);
    expect(p.logs.some((l) => l.level === 50 && String(l.msg).includes('failed to load'))).toBe(true);
  });

  it('reports ready with --no-strict-readiness once any model is ready', async () => {
    const repo = mkdtempSync(join(tmpdir(), 'berth-e2e-'));
    writeModel(repo, 'good', doubleModel());
    mkdirSync(join(repo, 'broken', '1'), { recursive: true });
    writeFileSync(join(repo, 'broken', '1', 'model.onnx'), 'nope');
    const p = await serve([repo, '--no-strict-readiness']);
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
    ]) {
      expect(help.stdout).toContain(option);
    }
  });
});
