/**
 * The fuzzer's inputs against a real `berth serve`: the REST and gRPC inference targets are
 * fuzzed for a few seconds and every input that found new coverage (with the committed corpus
 * and regressions) is sent to a server whose model has the targets' signature, over HTTP and
 * over gRPC. No answer may be a 5xx other than 503 (load shedding), and the server must answer a
 * correct inference afterwards, still ready.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, credentials, status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inferenceMethods, type GrpcMethod } from '../../src/protocol/index.js';
import { buildOnnxModel } from '../../src/runtime/backends/onnx/onnx-model.js';
import { writeModel } from '../fixtures/models.js';
import { startServeLoaded, type ServeProcess } from '../helpers/cli.js';
import { tempDirsForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirsForFile('berth-fuzz-corpus-');
const FUZZ = fileURLToPath(new URL('../../fuzz/', import.meta.url));

/** The signature fuzz/targets/rest-infer.ts validates against, as a model named "m". */
function fuzzModel(): Uint8Array {
  return buildOnnxModel({
    graphName: 'fuzz',
    inputs: [
      { name: 'x', elemType: 'FLOAT', shape: ['b', 4] },
      { name: 'ids', elemType: 'INT64', shape: ['b', 2] },
      { name: 'text', elemType: 'STRING', shape: ['b'] },
      { name: 'mask', elemType: 'BOOL', shape: ['b', 3] },
      { name: 'half', elemType: 'FLOAT16', shape: ['b', 2] },
    ],
    outputs: [
      { name: 'y', elemType: 'FLOAT', shape: ['b', 4] },
      { name: 'p', elemType: 'FLOAT', shape: ['b', 2] },
      { name: 'ids_out', elemType: 'INT64', shape: ['b', 2] },
      { name: 'text_out', elemType: 'STRING', shape: ['b'] },
      { name: 'mask_out', elemType: 'BOOL', shape: ['b', 3] },
    ],
    nodes: [
      { opType: 'Add', inputs: ['x', 'x'], outputs: ['y'] },
      { opType: 'Cast', inputs: ['half'], outputs: ['p'], attributes: { to: { int: 1 } } },
      { opType: 'Identity', inputs: ['ids'], outputs: ['ids_out'] },
      { opType: 'Identity', inputs: ['text'], outputs: ['text_out'] },
      { opType: 'Identity', inputs: ['mask'], outputs: ['mask_out'] },
    ],
  });
}

/** The committed corpus and regressions of a target, and what `--save` kept in `work`. */
function inputsOf(target: string, work: string): Buffer[] {
  const dirs = [
    join(FUZZ, 'corpus', target),
    join(FUZZ, 'regressions', target),
    join(work, 'corpus', target),
  ];
  return dirs
    .filter((dir) => existsSync(dir))
    .flatMap((dir) => readdirSync(dir).map((name) => readFileSync(join(dir, name))));
}

/** A rest-infer input as an HTTP request: its `#N` first line is Inference-Header-Content-Length. */
async function postRest(url: string, input: Buffer): Promise<number> {
  const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
  let body = input;
  if (input[0] === 0x23 && input.indexOf(0x0a) > 0) {
    const newline = input.indexOf(0x0a);
    headers['inference-header-content-length'] = input
      .subarray(1, newline)
      .toString('latin1')
      .replace(/[^\x21-\x7e]/g, '');
    body = input.subarray(newline + 1);
  }
  const response = await fetch(`${url}/v2/models/m/infer`, { method: 'POST', headers, body });
  await response.arrayBuffer();
  return response.status;
}

function callGrpc(client: Client, input: Buffer): Promise<number> {
  const method = inferenceMethods().ModelInfer as GrpcMethod;
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      method.path,
      (bytes: Buffer) => bytes,
      (bytes: Buffer) => bytes,
      input,
      (error: ServiceError | null) => resolve(error?.code ?? status.OK),
    );
  });
}

const SERVER_FAULTS: ReadonlySet<number> = new Set<number>([
  status.INTERNAL,
  status.UNKNOWN,
  status.DATA_LOSS,
  status.UNIMPLEMENTED,
]);

describe('the fuzzer corpus against berth serve', () => {
  let server: ServeProcess;
  let work: string;
  beforeAll(async () => {
    const repo = tempDir();
    writeModel(repo, 'm', fuzzModel());
    writeFileSync(join(repo, 'm', 'config.yaml'), 'maxBatchSize: 8\n');
    work = tempDir();
    const fuzzed = spawnSync(
      process.execPath,
      [
        join(FUZZ, 'main.ts'),
        '--target',
        'rest-infer',
        '--target',
        'grpc-infer',
        '--time',
        '4s',
        '--save',
        '--json',
      ],
      { encoding: 'utf8', env: { ...process.env, BERTH_FUZZ_WORK: work }, timeout: 60_000 },
    );
    expect(fuzzed.status, fuzzed.stdout).toBe(0);
    server = await startServeLoaded([repo, '--port', '0', '--grpc-port', '0']);
  }, 90_000);
  afterAll(() => server.stop());

  it('answers every REST input with no 5xx but 503, and still infers correctly after', async () => {
    const inputs = inputsOf('rest-infer', work);
    expect(inputs.length).toBeGreaterThan(20);
    const statuses = new Map<number, number>();
    for (const input of inputs) {
      const code = await postRest(server.url, input);
      statuses.set(code, (statuses.get(code) ?? 0) + 1);
      if (code >= 500 && code !== 503) {
        throw new Error(`HTTP ${code} for the input ${JSON.stringify(input.toString('latin1'))}`);
      }
    }
    expect(statuses.get(200) ?? 0).toBeGreaterThan(0);
    await expectHealthy(server.url);
  }, 60_000);

  it('answers every gRPC input with no server-fault status, and still infers correctly after', async () => {
    const inputs = inputsOf('grpc-infer', work);
    expect(inputs.length).toBeGreaterThan(10);
    const client = new Client(server.grpcAddress ?? '', credentials.createInsecure());
    try {
      const codes = new Map<number, number>();
      for (const input of inputs) {
        const code = await callGrpc(client, input);
        codes.set(code, (codes.get(code) ?? 0) + 1);
        if (SERVER_FAULTS.has(code))
          throw new Error(`gRPC status ${code} for the input ${input.toString('base64')}`);
      }
      expect(codes.get(status.OK as number) ?? 0).toBeGreaterThan(0);
    } finally {
      client.close();
    }
    await expectHealthy(server.url);
  }, 60_000);
});

async function expectHealthy(url: string): Promise<void> {
  expect((await fetch(`${url}/v2/health/ready`)).status).toBe(200);
  const response = await fetch(`${url}/v2/models/m/infer`, {
    method: 'POST',
    body: JSON.stringify({
      inputs: [
        { name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] },
        { name: 'ids', datatype: 'INT64', shape: [1, 2], data: [7, 8] },
        { name: 'text', datatype: 'BYTES', shape: [1], data: ['t'] },
        { name: 'mask', datatype: 'BOOL', shape: [1, 3], data: [true, false, true] },
        { name: 'half', datatype: 'FP16', shape: [1, 2], data: [0.5, 2] },
      ],
      outputs: [{ name: 'y' }, { name: 'p' }],
    }),
  });
  expect(response.status).toBe(200);
  const answer = (await response.json()) as { outputs: { name: string; data: number[] }[] };
  expect(answer.outputs.map((o) => [o.name, o.data])).toEqual([
    ['y', [2, 4, 6, 8]],
    ['p', [0.5, 2]],
  ]);
}
