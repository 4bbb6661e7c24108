/**
 * Throws thousands of random and mutated requests at a real `berth serve` process and checks that
 * every answer is a 2xx or 4xx with a JSON error, and that the server stays live, correct and
 * bounded in memory afterwards. The generator is seeded: a failure prints the seed and the request.
 */
import { request as httpRequest, Agent } from 'node:http';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, outputOf } from '../../src/client/index.js';
import { seededRandom } from '../../src/loadgen/input-data.js';
import { addSubModel, doubleModel, identityModel, writeModel } from '../fixtures/models.js';
import { startServe, type ServeProcess } from '../helpers/cli.js';
import { tempDirsForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirsForFile('berth-fuzz-');

const SEED = Number(process.env.BERTH_FUZZ_SEED ?? 20261121);
const ROUNDS = Number(process.env.BERTH_FUZZ_ROUNDS ?? 4000);

const random = seededRandom(SEED);
const int = (n: number) => Math.floor(random() * n);
const pick = <T>(list: readonly T[]): T => list[int(list.length)] as T;

const DATATYPES = [
  'BOOL',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'FP16',
  'FP32',
  'FP64',
  'BYTES',
  'FLOAT',
  '',
  'fp32',
];
const WEIRD_VALUES: unknown[] = [
  null,
  true,
  false,
  0,
  -1,
  1.5,
  1e308,
  -1e308,
  2 ** 53 + 2,
  '',
  'x',
  '1',
  [],
  {},
  [[[]]],
  { a: 1 },
  '\u0000',
  -0,
];
const MODELS = [
  'double',
  'addsub',
  'id_bytes',
  'iris',
  'nope',
  '..',
  '%2e%2e',
  'a'.repeat(300),
  'double/versions/1',
  'double/versions/0',
  'double/versions/-1',
  'double/versions/99999999999999999999',
];
const CONTENT_TYPES = [
  undefined,
  'application/json',
  'application/octet-stream',
  'text/plain',
  'multipart/form-data',
  'application/json; charset=latin1',
  '',
];

function randomValue(depth = 0): unknown {
  const r = random();
  if (depth > 3 || r < 0.5) return pick(WEIRD_VALUES);
  if (r < 0.75) return Array.from({ length: int(6) }, () => randomValue(depth + 1));
  return Object.fromEntries(
    Array.from({ length: int(4) }, () => [
      pick(['name', 'shape', 'datatype', 'data', 'parameters', 'x']),
      randomValue(depth + 1),
    ]),
  );
}

function randomShape(): unknown {
  const r = random();
  if (r < 0.6) return Array.from({ length: int(4) }, () => pick([0, 1, 2, 3, 4, 16, -1, 1e9, 2 ** 40, 1.5]));
  return randomValue();
}

function validDoubleRequest(): Record<string, unknown> {
  const batch = 1 + int(3);
  return {
    id: 'fuzz',
    inputs: [
      {
        name: 'INPUT0',
        shape: [batch, 4],
        datatype: 'FP32',
        data: Array.from({ length: batch * 4 }, () => random() * 10),
      },
    ],
  };
}

function structuredRequest(): Record<string, unknown> {
  const inputs = Array.from({ length: int(3) }, () => ({
    name: pick(['INPUT0', 'INPUT1', 'features', 'x', '']),
    shape: randomShape(),
    datatype: pick(DATATYPES),
    ...(random() < 0.7
      ? {
          data:
            random() < 0.5
              ? Array.from({ length: int(20) }, () =>
                  random() < 0.8 ? random() * 300 - 100 : pick(WEIRD_VALUES),
                )
              : randomValue(),
        }
      : {}),
    ...(random() < 0.3
      ? { parameters: random() < 0.5 ? { binary_data_size: pick([0, 4, 16, -1, 1e12, 'x']) } : randomValue() }
      : {}),
  }));
  const body: Record<string, unknown> = { inputs };
  if (random() < 0.3)
    body.outputs =
      random() < 0.5
        ? [
            {
              name: pick(['OUTPUT0', 'OUTPUT1', 'label', 'y']),
              parameters: { binary_data: pick([true, false, 'yes']) },
            },
          ]
        : randomValue();
  if (random() < 0.2)
    body.parameters = random() < 0.5 ? { binary_data_output: pick([true, 1, 'x']) } : randomValue();
  if (random() < 0.1) body.id = randomValue();
  return body;
}

function mutate(bytes: Uint8Array): Uint8Array {
  const out = Array.from(bytes);
  const edits = 1 + int(4);
  for (let i = 0; i < edits; i++) {
    const at = int(out.length + 1);
    switch (int(4)) {
      case 0:
        out.splice(at, 1);
        break;
      case 1:
        out.splice(at, 0, int(256));
        break;
      case 2:
        if (at < out.length) out[at] = int(256);
        break;
      default:
        out.length = at;
    }
  }
  return Uint8Array.from(out);
}

interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Uint8Array;
}

const utf8 = new TextEncoder();

function binaryRequest(): FuzzRequest {
  const datatype = pick(['FP32', 'INT32', 'BYTES', 'BOOL']);
  const model = datatype === 'BYTES' ? 'id_bytes' : datatype === 'INT32' ? 'addsub' : 'double';
  const size = pick([0, 3, 4, 16, 64, 100, int(200)]);
  const header = utf8.encode(
    JSON.stringify({
      inputs: [
        {
          name: 'INPUT0',
          shape: randomShape(),
          datatype,
          parameters: { binary_data_size: pick([size, size + 1, size - 1, 0, 2 ** 33]) },
        },
      ],
    }),
  );
  const binary = new Uint8Array(size);
  for (let i = 0; i < size; i++) binary[i] = random() < 0.2 ? 0xff : int(256);
  const body = new Uint8Array(header.byteLength + size);
  body.set(header);
  body.set(binary, header.byteLength);
  const declared = pick([
    String(header.byteLength),
    String(header.byteLength + int(10) - 5),
    '0',
    '-1',
    'abc',
    String(2 ** 60),
    ' 12 ',
  ]);
  return {
    method: 'POST',
    path: `/v2/models/${model}/infer`,
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': declared },
    body,
  };
}

function nextRequest(): FuzzRequest {
  const kind = int(7);
  const model = pick(MODELS);
  const path = `/v2/models/${model}/infer`;
  const contentType = pick(CONTENT_TYPES);
  const headers: Record<string, string> = contentType === undefined ? {} : { 'content-type': contentType };
  switch (kind) {
    case 0:
      return { method: 'POST', path, headers, body: Uint8Array.from({ length: int(512) }, () => int(256)) };
    case 1:
      return {
        method: 'POST',
        path: '/v2/models/double/infer',
        headers,
        body: mutate(utf8.encode(JSON.stringify(validDoubleRequest()))),
      };
    case 2:
      return { method: 'POST', path, headers, body: utf8.encode(JSON.stringify(structuredRequest())) };
    case 3:
      return binaryRequest();
    case 4:
      return {
        method: 'POST',
        path,
        headers: { ...headers, 'content-encoding': pick(['gzip', 'deflate', 'br', 'gzip, gzip']) },
        body:
          random() < 0.5
            ? gzipSync(utf8.encode(JSON.stringify(structuredRequest())))
            : mutate(gzipSync(utf8.encode('{}'))),
      };
    case 5:
      return {
        method: pick(['GET', 'POST', 'PUT', 'DELETE', 'HEAD']),
        path: pick([
          `/v2/models/${model}`,
          `/v2/models/${model}/ready`,
          '/v2/repository/index',
          '/v2',
          '/v2/health/ready',
          `/${'x'.repeat(int(3000))}`,
        ]),
        headers,
        body: random() < 0.5 ? new Uint8Array() : utf8.encode(JSON.stringify(randomValue())),
      };
    default:
      return { method: 'POST', path, headers, body: utf8.encode(JSON.stringify(randomValue())) };
  }
}

const agent = new Agent({ keepAlive: true, maxSockets: 8 });

function send(base: URL, r: FuzzRequest): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: base.hostname,
        port: base.port,
        method: r.method,
        path: r.path,
        headers: { ...r.headers, 'content-length': String(r.body.byteLength) },
        agent,
        timeout: 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('latin1') }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(r.body);
  });
}

let server: ServeProcess;

beforeAll(async () => {
  const repo = tempDir();
  writeModel(repo, 'double', doubleModel());
  writeModel(repo, 'addsub', addSubModel());
  writeModel(repo, 'id_bytes', identityModel('STRING', ['batch', 3]));
  server = await startServe([repo, '--max-body-size', '1MiB', '--max-tensor-elements', '100000']);
  await server.waitForLog((l) => String(l.msg).startsWith('models loaded'), 20_000).catch(() => undefined);
});

afterAll(async () => {
  agent.destroy();
  await server.stop();
});

async function rssBytes(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^process_resident_memory_bytes (\d+)/m.exec(text)?.[1] ?? NaN);
}

describe(`fuzz (seed ${SEED}, ${ROUNDS} requests)`, () => {
  it('answers every random or mutated request with 2xx or 4xx and stays healthy', async () => {
    const client = createClient({ url: server.url });
    await expect.poll(() => client.ready(), { timeout: 20_000 }).toBe(true);
    const base = new URL(server.url);
    const before = await rssBytes(server.url);
    const counts = new Map<number, number>();
    const deadline = Date.now() + 120_000;
    let sent = 0;
    const worker = async () => {
      while (sent < ROUNDS && Date.now() < deadline) {
        sent++;
        const r = nextRequest();
        const { status, body } = await send(base, r);
        counts.set(status, (counts.get(status) ?? 0) + 1);
        const describeRequest = () =>
          `${r.method} ${r.path.slice(0, 100)} ${JSON.stringify(r.headers)} body=${Buffer.from(r.body).toString('latin1').slice(0, 300)}`;
        expect(
          status >= 200 && status < 500,
          `status ${status} for ${describeRequest()} -> ${body.slice(0, 300)}`,
        ).toBe(true);
        if (status >= 400 && r.method !== 'HEAD') {
          expect(JSON.parse(body), describeRequest()).toHaveProperty('error');
          expect(body).not.toMatch(/at [^ ]+\.js:\d+/);
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    expect(sent).toBe(ROUNDS);
    // The mix must exercise both accepted and refused requests, or the generator is broken.
    expect([...counts.keys()].some((s) => s === 200)).toBe(true);
    expect([...counts.entries()].filter(([s]) => s >= 400).reduce((n, [, c]) => n + c, 0)).toBeGreaterThan(
      ROUNDS / 2,
    );

    expect(await client.live()).toBe(true);
    expect(await client.ready()).toBe(true);
    const result = await client.infer('double', [
      { name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] },
    ]);
    expect(Array.from(outputOf(result, 'OUTPUT0').data as Float32Array)).toEqual([2, 4, 6, 8]);
    const after = await rssBytes(server.url);
    expect(after - before, `RSS grew from ${before} to ${after}`).toBeLessThan(256 * 1024 * 1024);
    expect(server.process.exitCode).toBeNull();
  }, 180_000);
});
