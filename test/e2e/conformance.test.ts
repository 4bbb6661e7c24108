/**
 * One Open Inference Protocol conformance suite, run over every transport berth offers: REST
 * (http://) and gRPC (grpc://) of one real `berth serve` process, and the same through the
 * gateway of `berth up` (gateway-http.ts) in front of two supervised replicas serving the same
 * repository, all through berth's client, which has the same API on each. Each case states what
 * the protocol requires, so a transport that differs from the others fails here.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, outputOf, type OipClient } from '../../src/client/index.js';
import { startGatewayGrpc, startGatewayHttp, UpstreamPool } from '../../src/gateway/index.js';
import { Supervisor } from '../../src/orchestrator/index.js';
import { BerthError, type Datatype } from '../../src/protocol/index.js';
import { addSubModel, doubleModel, identityModel, writeModel } from '../fixtures/models.js';
import { BERTH_BIN, startServe, type ServeProcess } from '../helpers/cli.js';
import { freePort } from '../helpers/free-port.js';
import { tempDirsForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirsForFile('berth-conformance-');

/** Replicas run by the supervisor, and the pool its ready and exit events keep, as `berth up` does. */
interface Replicas {
  readonly supervisor: Supervisor;
  readonly pool: UpstreamPool;
}

/**
 * A pool `random` under which power of two choices (balancer.ts) picks the two replicas in
 * turn while neither holds a request, as in this suite's sequential calls: every case that makes
 * more than one call meets both replicas, rather than both only by chance.
 */
function alternating(): () => number {
  const draws = [0.25, 0.5, 0.75, 0.5];
  let next = 0;
  return () => draws[next++ % draws.length] ?? 0;
}

async function startReplicas(args: readonly string[], count: number): Promise<Replicas> {
  const pool = new UpstreamPool({ random: alternating() });
  const supervisor = new Supervisor({
    berthBin: BERTH_BIN,
    stopTimeoutMs: 5000,
    onEvent: (event) => {
      if (event.type === 'ready') pool.add(event.id, event.url, event.grpc);
      if (event.type === 'exited' || event.type === 'stopped') pool.remove(event.id);
    },
  });
  const ids = Array.from({ length: count }, (_, i) => `r${i + 1}`);
  for (const id of ids) supervisor.add({ id, args });
  try {
    await Promise.all(ids.map((id) => supervisor.whenReady(id)));
  } catch (error) {
    await supervisor.stopAll();
    throw error;
  }
  return { supervisor, pool };
}

let server: ServeProcess | undefined;
let replicas: Replicas | undefined;

beforeAll(async () => {
  const repo = tempDir();
  writeModel(repo, 'double', doubleModel(), 1);
  writeModel(repo, 'double', doubleModel(), 2);
  writeModel(repo, 'simple', addSubModel());
  writeModel(repo, 'strings', identityModel('STRING', ['batch', 2]));
  writeModel(repo, 'halves', identityModel('FLOAT16', ['batch', 3]));
  writeModel(repo, 'longs', identityModel('INT64', ['batch', 2]));
  writeModel(repo, 'flags', identityModel('BOOL', ['batch', 2]));
  // Started together, and each kept as soon as it is up, so that afterAll stops whatever started.
  const [direct, behind] = await Promise.allSettled([
    startServe([repo]).then(async (p) => {
      server = p;
      await p.waitForLog((l) => String(l.msg).startsWith('models loaded'));
    }),
    startReplicas([repo], 2).then((r) => {
      replicas = r;
    }),
  ]);
  for (const started of [direct, behind]) if (started.status === 'rejected') throw started.reason;
});
afterAll(async () => {
  replicas?.pool.close();
  await Promise.all([replicas?.supervisor.stopAll(), server?.stop()]);
});

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

interface Opened {
  /** What berth's client is given: http://… or grpc://… */
  readonly url: string;
  /** Stops what `open` started for this transport alone. */
  readonly close?: () => Promise<void>;
}

/** A way to reach the suite's repository. Adding a transport is adding an entry here. */
interface Transport {
  readonly name: string;
  /** Its URL scheme: the case about an unreachable server makes an address of it. */
  readonly scheme: 'http' | 'grpc';
  /** Starts this transport's own front, if it has one, once the processes above are up. */
  readonly open: () => Promise<Opened>;
}

function started<T>(what: T | undefined): T {
  if (what === undefined) throw new Error("the suite's processes did not start (see beforeAll)");
  return what;
}

/**
 * Through the gateway every case runs over two replicas taking turns (alternating() above) and
 * holds as it does directly: both serve the same repository with the same settings, and no case
 * changes a process's state or counts what one process did. A case that does (load or unload,
 * statistics counts) must not meet two replicas; give it a gateway of its own over
 * startReplicas(args, 1) rather than weaken what it asserts.
 */
const transports: readonly Transport[] = [
  { name: 'rest', scheme: 'http', open: () => Promise.resolve({ url: started(server).url }) },
  {
    name: 'grpc',
    scheme: 'grpc',
    open: () => Promise.resolve({ url: `grpc://${started(server).grpcAddress ?? ''}` }),
  },
  {
    name: 'rest through the gateway',
    scheme: 'http',
    open: async () => {
      const gateway = await startGatewayHttp({
        pool: started(replicas).pool,
        host: '127.0.0.1',
        port: 0,
        timeoutMs: 10_000,
        retries: 2,
        retryBudget: { share: 0.2, minConcurrent: 3 },
        maxBodyBytes: 8 << 20,
      });
      return { url: gateway.url, close: () => gateway.close() };
    },
  },
  {
    name: 'grpc through the gateway',
    scheme: 'grpc',
    open: async () => {
      const gateway = await startGatewayGrpc({
        pool: started(replicas).pool,
        host: '127.0.0.1',
        port: 0,
        timeoutMs: 10_000,
        retries: 2,
        retryBudget: { share: 0.2, minConcurrent: 3 },
        maxMessageBytes: 8 << 20,
      });
      return { url: `grpc://${gateway.address}`, close: () => gateway.close() };
    },
  },
];

describe.each(transports)('conformance over $name', ({ name, scheme, open }) => {
  let opened: Opened | undefined;
  let client: OipClient;
  beforeAll(async () => {
    opened = await open();
    client = createClient({ url: opened.url });
  });
  afterAll(async () => {
    if (opened === undefined) return;
    client.close();
    await opened.close?.();
  });

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
      { id: `req-${name}` },
    );
    expect(response).toMatchObject({ modelName: 'simple', modelVersion: '1', id: `req-${name}` });
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
    // Binary tensors (REST's default, carrying binary_data_size on the wire), JSON outputs, and
    // JSON both ways alike.
    expect(await client.infer('double', input)).toStrictEqual(expected);
    expect(await client.infer('double', input, { binaryOutputs: false })).toStrictEqual(expected);
    expect(await client.infer('double', input, { binaryInputs: false, binaryOutputs: false })).toStrictEqual(
      expected,
    );
  });

  // The client's side of every transport alike: nothing listens, whatever would be in front.
  it('says which server it cannot reach, and why, in one shape', async () => {
    const port = await freePort();
    const url = `${scheme}://127.0.0.1:${port}`;
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
    // An empty list asks for none in particular: every output (regression: REST answered 500).
    const all = await client.infer(
      'simple',
      [
        { name: 'INPUT0', datatype: 'INT32', shape: [2, 16], data },
        { name: 'INPUT1', datatype: 'INT32', shape: [2, 16], data },
      ],
      { outputs: [] },
    );
    expect(all.outputs.map((o) => o.name).sort()).toEqual(['OUTPUT0', 'OUTPUT1']);
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
