/**
 * One Open Inference Protocol conformance suite, run over both transports of one real
 * `berth serve` process: REST (http://) and gRPC (grpc://), through berth's client, which has
 * the same API on both. Each case states what the protocol requires, so a transport that differs
 * from the other fails here.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, outputOf, type OipClient } from '../../src/client/index.js';
import { BerthError, type Datatype } from '../../src/protocol/index.js';
import { addSubModel, doubleModel, identityModel, writeModel } from '../fixtures/models.js';
import { startServe, type ServeProcess } from '../helpers/cli.js';
import { freePort } from '../helpers/free-port.js';
import { tempDirsForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirsForFile('berth-conformance-');

let server: ServeProcess;

beforeAll(async () => {
  const repo = tempDir();
  writeModel(repo, 'double', doubleModel(), 1);
  writeModel(repo, 'double', doubleModel(), 2);
  writeModel(repo, 'simple', addSubModel());
  writeModel(repo, 'strings', identityModel('STRING', ['batch', 2]));
  writeModel(repo, 'halves', identityModel('FLOAT16', ['batch', 3]));
  writeModel(repo, 'longs', identityModel('INT64', ['batch', 2]));
  writeModel(repo, 'flags', identityModel('BOOL', ['batch', 2]));
  server = await startServe([repo]);
  await server.waitForLog((l) => String(l.msg).startsWith('models loaded'));
});
afterAll(() => server.stop());

/** The error a promise rejects with; fails when it resolves. */
async function failure(promise: Promise<unknown>): Promise<BerthError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(BerthError);
    return error as BerthError;
  }
  throw new Error('expected the call to fail');
}

describe.each(['rest', 'grpc'] as const)('conformance over %s', (transport) => {
  let client: OipClient;
  beforeAll(() => {
    const url = transport === 'rest' ? server.url : `grpc://${server.grpcAddress ?? ''}`;
    client = createClient({ url });
  });
  afterAll(() => client.close());

  it('reports the server live and ready, and its metadata with the extensions', async () => {
    expect(await client.live()).toBe(true);
    expect(await client.ready()).toBe(true);
    const metadata = await client.serverMetadata();
    expect(metadata.name).toBe('berth');
    expect(metadata.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(metadata.extensions).toEqual(expect.arrayContaining(['binary_tensor_data', 'classification']));
  });

  it('describes a model: versions under its policy, platform, inputs and outputs with -1 dims', async () => {
    expect(await client.modelMetadata('simple')).toEqual({
      name: 'simple',
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [
        { name: 'INPUT0', datatype: 'INT32', shape: [-1, 16] },
        { name: 'INPUT1', datatype: 'INT32', shape: [-1, 16] },
      ],
      outputs: [
        { name: 'OUTPUT0', datatype: 'INT32', shape: [-1, 16] },
        { name: 'OUTPUT1', datatype: 'INT32', shape: [-1, 16] },
      ],
    });
    expect((await client.modelMetadata('double')).versions).toEqual(['2']);
  });

  it('answers model readiness, and NOT_FOUND for an unknown model or version', async () => {
    expect(await client.modelReady('double')).toBe(true);
    expect(await client.modelReady('double', '2')).toBe(true);
    expect((await failure(client.modelReady('nope'))).code).toBe('BERTH_ERR_MODEL_NOT_FOUND');
    expect((await failure(client.modelReady('double', '7'))).code).toBe('BERTH_ERR_MODEL_VERSION_NOT_FOUND');
  });

  it('runs an inference with two inputs and two outputs, echoing id, model and version', async () => {
    const a = Int32Array.from({ length: 16 }, (_, i) => i);
    const b = Int32Array.from({ length: 16 }, () => 3);
    const response = await client.infer(
      'simple',
      [
        { name: 'INPUT0', datatype: 'INT32', shape: [1, 16], data: a },
        { name: 'INPUT1', datatype: 'INT32', shape: [1, 16], data: b },
      ],
      { id: `req-${transport}` },
    );
    expect(response).toMatchObject({ modelName: 'simple', modelVersion: '1', id: `req-${transport}` });
    expect(Array.from(outputOf(response, 'OUTPUT0').data as Int32Array)).toEqual(Array.from(a, (x) => x + 3));
    expect(Array.from(outputOf(response, 'OUTPUT1').data as Int32Array)).toEqual(Array.from(a, (x) => x - 3));
    expect(outputOf(response, 'OUTPUT0').shape).toEqual([1, 16]);
  });

  it('returns each output as exactly name, datatype, shape and data: nothing of the transport', async () => {
    const input = [{ name: 'INPUT0', datatype: 'FP32' as const, shape: [1, 4], data: [1, 2, 3, 4] }];
    const expected = {
      modelName: 'double',
      modelVersion: '2',
      outputs: [{ name: 'OUTPUT0', datatype: 'FP32', shape: [1, 4], data: new Float32Array([2, 4, 6, 8]) }],
    };
    // Binary outputs (REST's default, carrying binary_data_size on the wire) and JSON outputs alike.
    expect(await client.infer('double', input)).toStrictEqual(expected);
    expect(await client.infer('double', input, { binaryOutputs: false })).toStrictEqual(expected);
  });

  it('says which server it cannot reach, and why, in one shape', async () => {
    const port = await freePort();
    const url = transport === 'rest' ? `http://127.0.0.1:${port}` : `grpc://127.0.0.1:${port}`;
    const nowhere = createClient({ url, timeoutMs: 5000 });
    try {
      const error = await failure(nowhere.ready());
      expect(error.code).toBe('BERTH_ERR_CLIENT_REQUEST_FAILED');
      expect(error.message).toBe(`cannot reach ${url}: connect ECONNREFUSED 127.0.0.1:${port}`);
    } finally {
      nowhere.close();
    }
  });

  it('returns only the requested outputs', async () => {
    const data = new Int32Array(32);
    const response = await client.infer(
      'simple',
      [
        { name: 'INPUT0', datatype: 'INT32', shape: [2, 16], data },
        { name: 'INPUT1', datatype: 'INT32', shape: [2, 16], data },
      ],
      { outputs: ['OUTPUT1'] },
    );
    expect(response.outputs.map((o) => o.name)).toEqual(['OUTPUT1']);
  });

  it('serves an explicit version', async () => {
    const response = await client.infer(
      'double',
      [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }],
      { version: '2' },
    );
    expect(response.modelVersion).toBe('2');
    expect(Array.from(outputOf(response, 'OUTPUT0').data as Float32Array)).toEqual([2, 4, 6, 8]);
  });

  const exact: [string, Datatype, unknown[], number[]][] = [
    ['strings', 'BYTES', ['héllo', '', 'a b', 'z'], [2, 2]],
    ['longs', 'INT64', [-(2n ** 63n), 2n ** 63n - 1n, 0n, 42n], [2, 2]],
    ['flags', 'BOOL', [true, false, false, true], [2, 2]],
    ['halves', 'FP16', [0.5, -2, 65504], [1, 3]],
  ];
  it.each(exact)('carries %s (%s) exactly', async (model, datatype, data, shape) => {
    const response = await client.infer(model, [{ name: 'INPUT0', datatype, shape, data: data as never }]);
    const output = outputOf(response, 'OUTPUT0');
    expect(output.datatype).toBe(datatype);
    expect(output.shape).toEqual(shape);
    const decoded =
      datatype === 'BYTES'
        ? (output.data as Uint8Array[]).map((b) => new TextDecoder().decode(b))
        : datatype === 'BOOL'
          ? Array.from(output.data as Uint8Array, (b) => b === 1)
          : datatype === 'FP16'
            ? Array.from(output.data as Uint16Array)
            : Array.from(output.data as BigInt64Array);
    if (datatype === 'FP16') expect(decoded).toEqual([0x3800, 0xc000, 0x7bff]);
    else expect(decoded).toEqual(data);
  });

  it('refuses an unknown model with NOT_FOUND and a shape mismatch with INVALID_ARGUMENT', async () => {
    const unknown = await failure(
      client.infer('nope', [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }]),
    );
    expect(unknown.code).toBe('BERTH_ERR_MODEL_NOT_FOUND');
    expect(unknown.category).toBe('NOT_FOUND');
    const shape = await failure(
      client.infer('double', [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 5], data: [1, 2, 3, 4, 5] }]),
    );
    expect(shape.code).toBe('BERTH_ERR_INFER_SHAPE_MISMATCH');
    expect(shape.message).toMatch(/INPUT0/);
    const datatype = await failure(
      client.infer('double', [{ name: 'INPUT0', datatype: 'INT32', shape: [1, 4], data: [1, 2, 3, 4] }]),
    );
    expect(datatype.code).toBe('BERTH_ERR_INFER_DATATYPE_MISMATCH');
    const missing = await failure(client.infer('simple', []));
    expect(missing.code).toBe('BERTH_ERR_INFER_MISSING_INPUT');
  });

  it('lists the repository index with each version state', async () => {
    const index = await client.repositoryIndex();
    expect(index).toEqual(
      expect.arrayContaining([
        { name: 'double', version: '2', state: 'READY', reason: '' },
        { name: 'simple', version: '1', state: 'READY', reason: '' },
      ]),
    );
    expect((await client.repositoryIndex({ readyOnly: true })).every((e) => e.state === 'READY')).toBe(true);
  });
});
