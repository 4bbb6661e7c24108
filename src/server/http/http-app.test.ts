import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, outputOf } from '../../client/index.js';
import { DATATYPES, halfToNumber, type Datatype } from '../../ground/index.js';
import { buildIrisModel, ELEM_OF_DATATYPE } from '../../runtime/index.js';
import { addSubModel, doubleModel, identityModel } from '../../../test/fixtures/models.js';
import { startTestServer, type TestServer } from '../../../test/helpers/server.js';

/** Edge values per datatype that JSON can carry exactly. */
const JSON_VALUES: Record<Datatype, unknown[]> = {
  BOOL: [true, false, true],
  UINT8: [0, 127, 255],
  UINT16: [0, 1000, 65535],
  UINT32: [0, 1, 4294967295],
  UINT64: [0, 1, Number.MAX_SAFE_INTEGER],
  INT8: [-128, 0, 127],
  INT16: [-32768, 0, 32767],
  INT32: [-2147483648, 0, 2147483647],
  INT64: [-Number.MAX_SAFE_INTEGER, 0, Number.MAX_SAFE_INTEGER],
  FP16: [0.5, -2, 65504],
  FP32: [1.5, -0.25, 1024],
  FP64: [Math.PI, -1e300, 0.1],
  BYTES: ['hello', '', 'ünïcødé ✓'],
};

let server: TestServer;
let url: string;

async function post(
  path: string,
  body: string | Uint8Array,
  headers: Record<string, string> = { 'content-type': 'application/json' },
) {
  const response = await fetch(url + path, { method: 'POST', body, headers });
  const bytes = new Uint8Array(await response.arrayBuffer());
  return { response, bytes, text: new TextDecoder().decode(bytes) };
}

async function postJson(path: string, body: unknown) {
  const r = await post(path, JSON.stringify(body));
  return {
    status: r.response.status,
    body: JSON.parse(r.text) as Record<string, unknown>,
    headers: r.response.headers,
  };
}

beforeAll(async () => {
  const models: Record<string, Uint8Array> = {
    double: doubleModel(),
    addsub: addSubModel(),
    iris: buildIrisModel(),
  };
  for (const dt of DATATYPES)
    models[`id_${dt.toLowerCase()}`] = identityModel(ELEM_OF_DATATYPE[dt], ['batch', 3]);
  server = await startTestServer(models);
  url = server.url;
});

afterAll(async () => {
  await server.stop();
});

describe('health and metadata', () => {
  it('answers liveness and readiness', async () => {
    const live = await fetch(`${url}/v2/health/live`);
    expect(live.status).toBe(200);
    expect(await live.json()).toEqual({ live: true });
    const ready = await fetch(`${url}/v2/health/ready`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ ready: true });
  });

  it('supports HEAD on health endpoints for probes', async () => {
    expect((await fetch(`${url}/v2/health/ready`, { method: 'HEAD' })).status).toBe(200);
  });

  it('describes the server and its extensions', async () => {
    const body = await (await fetch(`${url}/v2`)).json();
    expect(body).toEqual({
      name: 'berth',
      version: '0.0.0-test',
      extensions: ['binary_tensor_data', 'classification'],
    });
  });

  it('describes a model, with and without a version', async () => {
    const expected = {
      name: 'double',
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [-1, 4] }],
      outputs: [{ name: 'OUTPUT0', datatype: 'FP32', shape: [-1, 4] }],
    };
    expect(await (await fetch(`${url}/v2/models/double`)).json()).toEqual(expected);
    expect(await (await fetch(`${url}/v2/models/double/versions/1`)).json()).toEqual(expected);
  });

  it('reports model readiness', async () => {
    const r = await fetch(`${url}/v2/models/double/ready`);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ name: 'double', ready: true });
    expect((await fetch(`${url}/v2/models/double/versions/1/ready`)).status).toBe(200);
  });

  it('answers 404 with an error body for unknown models, versions and routes', async () => {
    for (const path of [
      '/v2/models/nope',
      '/v2/models/nope/ready',
      '/v2/models/double/versions/7',
      '/v2/models/double/versions/01',
      '/v2/nothing',
    ]) {
      const r = await fetch(url + path);
      expect(r.status, path).toBe(404);
      const body = (await r.json()) as { error: string };
      expect(typeof body.error).toBe('string');
      expect(r.headers.get('berth-error-code')).toMatch(/^BERTH_ERR_/);
    }
    const r = await fetch(`${url}/v2/models/double/versions/7`);
    expect(((await r.json()) as { error: string }).error).toContain('served versions: 1');
  });

  it('lists every model version in the repository index', async () => {
    const r = await post('/v2/repository/index', '{}');
    const index = JSON.parse(r.text) as { name: string; version: string; state: string }[];
    expect(index.map((e) => e.name)).toContain('iris');
    expect(index.every((e) => e.state === 'READY' && e.version === '1')).toBe(true);
  });

  it('echoes a valid x-request-id and generates one otherwise', async () => {
    const given = await fetch(`${url}/v2/health/live`, { headers: { 'x-request-id': 'abc-123' } });
    expect(given.headers.get('x-request-id')).toBe('abc-123');
    const bad = await fetch(`${url}/v2/health/live`, { headers: { 'x-request-id': 'has spaces' } });
    expect(bad.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('inference over JSON', () => {
  it('runs the iris example and echoes the request id', async () => {
    const { status, body } = await postJson('/v2/models/iris/infer', {
      id: 'req-1',
      inputs: [
        {
          name: 'features',
          shape: [3, 4],
          datatype: 'FP32',
          data: [
            [5.1, 3.5, 1.4, 0.2],
            [6.4, 3.2, 4.5, 1.5],
            [7.7, 3.0, 6.1, 2.3],
          ],
        },
      ],
    });
    expect(status).toBe(200);
    expect(body.id).toBe('req-1');
    expect(body.model_name).toBe('iris');
    expect(body.model_version).toBe('1');
    const outputs = body.outputs as { name: string; data: unknown[]; shape: number[]; datatype: string }[];
    const label = outputs.find((o) => o.name === 'label');
    expect(label).toMatchObject({
      datatype: 'BYTES',
      shape: [3],
      data: ['setosa', 'versicolor', 'virginica'],
    });
    const probabilities = outputs.find((o) => o.name === 'probabilities');
    expect(probabilities?.shape).toEqual([3, 3]);
  });

  it.each(DATATYPES)('round-trips %s through an identity model', async (datatype) => {
    const data = JSON_VALUES[datatype];
    const { status, body } = await postJson(`/v2/models/id_${datatype.toLowerCase()}/infer`, {
      inputs: [{ name: 'INPUT0', shape: [1, 3], datatype, data }],
    });
    expect(status, JSON.stringify(body)).toBe(200);
    expect(body.outputs).toEqual([{ name: 'OUTPUT0', datatype, shape: [1, 3], data }]);
  });

  it('refuses BYTES that ONNX string tensors cannot hold instead of altering them', async () => {
    for (const [bytes, problem] of [
      [[0x68, 0x00, 0x69], 'contains a NUL byte'],
      [[0xff, 0xfe], 'is not valid UTF-8'],
    ] as const) {
      const header = new TextEncoder().encode(
        JSON.stringify({
          inputs: [
            {
              name: 'INPUT0',
              shape: [1, 3],
              datatype: 'BYTES',
              parameters: { binary_data_size: 3 * 4 + bytes.length + 2 },
            },
          ],
        }),
      );
      const elements = [Uint8Array.from(bytes), Uint8Array.of(0x61), Uint8Array.of(0x62)];
      const binary = new Uint8Array(3 * 4 + bytes.length + 2);
      let at = 0;
      for (const e of elements) {
        new DataView(binary.buffer).setUint32(at, e.length, true);
        binary.set(e, at + 4);
        at += 4 + e.length;
      }
      const r = await post('/v2/models/id_bytes/infer', Buffer.concat([header, binary]), {
        'inference-header-content-length': String(header.byteLength),
      });
      expect(r.response.status).toBe(400);
      expect(JSON.parse(r.text).error).toBe(
        `input "INPUT0": BYTES element 0 ${problem}; ONNX string tensors hold UTF-8 text without NUL bytes`,
      );
    }
  });

  it('answers classification requests with the top classes (Triton classification extension)', async () => {
    const { status, body } = await postJson('/v2/models/iris/infer', {
      inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: [6.7, 3.0, 5.2, 2.3] }],
      outputs: [{ name: 'probabilities', parameters: { classification: 2 } }],
    });
    expect(status).toBe(200);
    expect(body.outputs).toEqual([
      { name: 'probabilities', datatype: 'BYTES', shape: [2], data: ['0.905225:2', '0.094775:1'] },
    ]);
  });

  it('returns only the requested outputs', async () => {
    const { status, body } = await postJson('/v2/models/addsub/infer', {
      inputs: [
        { name: 'INPUT0', shape: [1, 16], datatype: 'INT32', data: Array.from({ length: 16 }, (_, i) => i) },
        { name: 'INPUT1', shape: [1, 16], datatype: 'INT32', data: Array.from({ length: 16 }, () => 1) },
      ],
      outputs: [{ name: 'OUTPUT1' }],
    });
    expect(status).toBe(200);
    expect(body.outputs).toEqual([
      {
        name: 'OUTPUT1',
        datatype: 'INT32',
        shape: [1, 16],
        data: Array.from({ length: 16 }, (_, i) => i - 1),
      },
    ]);
  });

  it('names the field and the expectation in 400 errors', async () => {
    const cases: [unknown, string, RegExp][] = [
      [
        { inputs: [{ name: 'INPUT0', shape: [2, 5], datatype: 'FP32', data: new Array(10).fill(0) }] },
        'BERTH_ERR_INFER_SHAPE_MISMATCH',
        /input "INPUT0": expected shape \[-1,4\], got \[2,5\]/,
      ],
      [
        { inputs: [{ name: 'INPUT0', shape: [1, 4], datatype: 'INT32', data: [1, 2, 3, 4] }] },
        'BERTH_ERR_INFER_DATATYPE_MISMATCH',
        /expected datatype FP32, got INT32/,
      ],
      [
        { inputs: [{ name: 'X', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] },
        'BERTH_ERR_INFER_UNKNOWN_INPUT',
        /unexpected input "X"/,
      ],
      [{ inputs: [] }, 'BERTH_ERR_INFER_MISSING_INPUT', /missing input "INPUT0"/],
      [
        { inputs: [{ name: 'INPUT0', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3] }] },
        'BERTH_ERR_PROTOCOL_INVALID_DATA',
        /3 elements but its shape declares 4/,
      ],
      [
        { inputs: [{ name: 'INPUT0', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 'x'] }] },
        'BERTH_ERR_PROTOCOL_INVALID_DATA',
        /element 3 must be a number/,
      ],
      [
        { inputs: [{ name: 'INPUT0', shape: [1, -4], datatype: 'FP32', data: [] }] },
        'BERTH_ERR_PROTOCOL_INVALID_SHAPE',
        /shape\[1\] must be a non-negative integer/,
      ],
      [
        { inputs: [{ name: 'INPUT0', shape: [1, 4], datatype: 'FLOAT', data: [1, 2, 3, 4] }] },
        'BERTH_ERR_PROTOCOL_INVALID_DATATYPE',
        /datatype must be one of/,
      ],
      [
        {
          inputs: [{ name: 'INPUT0', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }],
          outputs: [{ name: 'nope' }],
        },
        'BERTH_ERR_INFER_UNKNOWN_OUTPUT',
        /unknown output "nope"/,
      ],
      [{ id: 7, inputs: [] }, 'BERTH_ERR_PROTOCOL_INVALID_REQUEST', /"id" must be a string/],
      [[1, 2], 'BERTH_ERR_PROTOCOL_INVALID_REQUEST', /request body must be a JSON object/],
    ];
    for (const [body, code, message] of cases) {
      const r = await postJson('/v2/models/double/infer', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.headers.get('berth-error-code')).toBe(code);
      expect(r.body.error).toMatch(message);
    }
  });

  it('refuses a huge declared shape before allocating it', async () => {
    const r = await postJson('/v2/models/double/infer', {
      inputs: [{ name: 'INPUT0', shape: [1e9, 1e9], datatype: 'FP32', data: [] }],
    });
    expect(r.status).toBe(413);
    expect(r.body.error).toMatch(/more than 1048576 elements/);
  });

  it('answers malformed JSON with 400 and unknown content types with 415', async () => {
    const bad = await post('/v2/models/double/infer', '{"inputs": [');
    expect(bad.response.status).toBe(400);
    expect(bad.response.headers.get('berth-error-code')).toBe('BERTH_ERR_PROTOCOL_INVALID_JSON');
    for (const type of ['multipart/form-data; boundary=x', 'text/xml', 'image/png']) {
      const refused = await post('/v2/models/double/infer', 'a=b', { 'content-type': type });
      expect(refused.response.status, type).toBe(415);
      expect(JSON.parse(refused.text).error).toMatch(/Content-Type .* is not supported/);
    }
    // What curl -d, urllib, fetch and bare clients send by default all work, as with Triton.
    const body = new TextEncoder().encode(
      JSON.stringify({ inputs: [{ name: 'INPUT0', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] }),
    );
    for (const headers of [
      {},
      { 'content-type': 'application/x-www-form-urlencoded' },
      { 'content-type': 'text/plain;charset=UTF-8' },
    ]) {
      const ok = await post('/v2/models/double/infer', body, headers);
      expect(ok.response.status, JSON.stringify(headers)).toBe(200);
    }
  });

  it('accepts gzip and deflate request bodies', async () => {
    const body = gzipSync(
      JSON.stringify({ inputs: [{ name: 'INPUT0', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }] }),
    );
    const r = await post('/v2/models/double/infer', body, {
      'content-type': 'application/json',
      'content-encoding': 'gzip',
    });
    expect(r.response.status).toBe(200);
    // Served by the fastify route (compressed), with the same Content-Type as the fast path.
    expect(r.response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(JSON.parse(r.text).outputs[0].data).toEqual([2, 4, 6, 8]);
    const broken = await post('/v2/models/double/infer', 'not gzip', {
      'content-type': 'application/json',
      'content-encoding': 'gzip',
    });
    expect(broken.response.status).toBe(400);
    const br = await post('/v2/models/double/infer', 'x', {
      'content-type': 'application/json',
      'content-encoding': 'br',
    });
    expect(br.response.status).toBe(415);
  });

  it('refuses bodies over the limit with 413, also after decompression', async () => {
    const big = new Uint8Array(9 * 1024 * 1024);
    const r = await post('/v2/models/double/infer', big, { 'content-type': 'application/octet-stream' });
    expect(r.response.status).toBe(413);
    const bomb = gzipSync(new Uint8Array(20 * 1024 * 1024));
    const b = await post('/v2/models/double/infer', bomb, {
      'content-type': 'application/json',
      'content-encoding': 'gzip',
    });
    expect(b.response.status).toBe(413);
  });
});

describe('inference with binary tensors', () => {
  it('decodes binary inputs and encodes binary outputs (Triton extension layout)', async () => {
    const header = JSON.stringify({
      inputs: [{ name: 'INPUT0', shape: [2, 4], datatype: 'FP32', parameters: { binary_data_size: 32 } }],
      outputs: [{ name: 'OUTPUT0', parameters: { binary_data: true } }],
    });
    const head = new TextEncoder().encode(header);
    const data = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]);
    const body = new Uint8Array(head.byteLength + 32);
    body.set(head);
    body.set(new Uint8Array(data.buffer), head.byteLength);
    const r = await post('/v2/models/double/infer', body, {
      'content-type': 'application/octet-stream',
      'inference-header-content-length': String(head.byteLength),
    });
    expect(r.response.status).toBe(200);
    expect(r.response.headers.get('content-type')).toBe('application/octet-stream');
    const headerLength = Number(r.response.headers.get('inference-header-content-length'));
    const json = JSON.parse(new TextDecoder().decode(r.bytes.subarray(0, headerLength)));
    expect(json.outputs).toEqual([
      { name: 'OUTPUT0', datatype: 'FP32', shape: [2, 4], parameters: { binary_data_size: 32 } },
    ]);
    const out = new Float32Array(r.bytes.slice(headerLength).buffer);
    expect(Array.from(out)).toEqual([2, 4, 6, 8, 10, 12, 14, 16]);
  });

  it('mixes JSON and binary inputs, and binary_data_output with a per-output override', async () => {
    const header = JSON.stringify({
      parameters: { binary_data_output: true },
      inputs: [
        { name: 'INPUT0', shape: [1, 16], datatype: 'INT32', data: Array.from({ length: 16 }, () => 5) },
        { name: 'INPUT1', shape: [1, 16], datatype: 'INT32', parameters: { binary_data_size: 64 } },
      ],
      outputs: [{ name: 'OUTPUT0' }, { name: 'OUTPUT1', parameters: { binary_data: false } }],
    });
    const head = new TextEncoder().encode(header);
    const body = new Uint8Array(head.byteLength + 64);
    body.set(head);
    body.set(new Uint8Array(new Int32Array(16).fill(2).buffer), head.byteLength);
    const r = await post('/v2/models/addsub/infer', body, {
      'inference-header-content-length': String(head.byteLength),
    });
    expect(r.response.status).toBe(200);
    const headerLength = Number(r.response.headers.get('inference-header-content-length'));
    const json = JSON.parse(new TextDecoder().decode(r.bytes.subarray(0, headerLength)));
    expect(json.outputs[0]).toEqual({
      name: 'OUTPUT0',
      datatype: 'INT32',
      shape: [1, 16],
      parameters: { binary_data_size: 64 },
    });
    expect(json.outputs[1].data).toEqual(new Array(16).fill(3));
    expect(Array.from(new Int32Array(r.bytes.slice(headerLength).buffer))).toEqual(new Array(16).fill(7));
  });

  it('accepts the raw single-input form and infers the batch dimension', async () => {
    const data = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]);
    const r = await post('/v2/models/double/infer', new Uint8Array(data.buffer), {
      'content-type': 'application/octet-stream',
      'inference-header-content-length': '0',
    });
    expect(r.response.status).toBe(200);
    const headerLength = Number(r.response.headers.get('inference-header-content-length'));
    const json = JSON.parse(new TextDecoder().decode(r.bytes.subarray(0, headerLength)));
    expect(json.outputs[0].shape).toEqual([2, 4]);
    expect(Array.from(new Float32Array(r.bytes.slice(headerLength).buffer))).toEqual([
      2, 4, 6, 8, 10, 12, 14, 16,
    ]);
    const odd = await post('/v2/models/double/infer', new Uint8Array(12), {
      'inference-header-content-length': '0',
    });
    expect(odd.response.status).toBe(400);
    const twoInputs = await post('/v2/models/addsub/infer', new Uint8Array(64), {
      'inference-header-content-length': '0',
    });
    expect(twoInputs.response.status).toBe(400);
    expect(JSON.parse(twoInputs.text).error).toMatch(/exactly one input/);
  });

  it('rejects truncated, oversized and inconsistent binary bodies', async () => {
    const header = JSON.stringify({
      inputs: [{ name: 'INPUT0', shape: [1, 4], datatype: 'FP32', parameters: { binary_data_size: 16 } }],
    });
    const head = new TextEncoder().encode(header);
    const send = (extra: number, declared = head.byteLength) => {
      const body = new Uint8Array(head.byteLength + extra);
      body.set(head);
      return post('/v2/models/double/infer', body, { 'inference-header-content-length': String(declared) });
    };
    const truncated = await send(8);
    expect(truncated.response.status).toBe(400);
    expect(JSON.parse(truncated.text).error).toMatch(/binary_data_size is 16 but only 8 bytes/);
    const extra = await send(20);
    expect(extra.response.status).toBe(400);
    expect(JSON.parse(extra.text).error).toMatch(/4 bytes of binary data follow/);
    const past = await send(16, head.byteLength + 100);
    expect(past.response.status).toBe(400);
    const notNumber = await post('/v2/models/double/infer', head, {
      'inference-header-content-length': 'abc',
    });
    expect(notNumber.response.status).toBe(400);
  });

  it('round-trips every datatype through the client, binary both ways, with full 64-bit range', async () => {
    const client = createClient({ url });
    const values: Record<Datatype, unknown[]> = {
      ...JSON_VALUES,
      UINT64: [0n, 1n, 18446744073709551615n],
      INT64: [-9223372036854775808n, 0n, 9223372036854775807n],
    };
    for (const datatype of DATATYPES) {
      const response = await client.infer(`id_${datatype.toLowerCase()}`, [
        { name: 'INPUT0', datatype, shape: [1, 3], data: values[datatype] as number[] },
      ]);
      const out = outputOf(response, 'OUTPUT0');
      expect(out.shape).toEqual([1, 3]);
      let got: unknown[];
      if (datatype === 'BYTES') got = (out.data as Uint8Array[]).map((b) => new TextDecoder().decode(b));
      else if (datatype === 'BOOL') got = Array.from(out.data as Uint8Array, (v) => v === 1);
      else if (datatype === 'FP16') got = Array.from(out.data as Uint16Array, halfToNumber);
      else got = Array.from(out.data as ArrayLike<unknown>);
      expect(got, datatype).toEqual(values[datatype]);
    }
  });
});

describe('metrics', () => {
  it('counts successes, failures and inferences per model', async () => {
    await postJson('/v2/models/double/infer', {
      inputs: [{ name: 'INPUT0', shape: [3, 4], datatype: 'FP32', data: new Array(12).fill(1) }],
    });
    await postJson('/v2/models/double/infer', {
      inputs: [{ name: 'INPUT0', shape: [1, 5], datatype: 'FP32', data: new Array(5).fill(1) }],
    });
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(text).toMatch(/berth_inference_request_success_total\{model="double",version="1"\} [1-9]/);
    expect(text).toMatch(
      /berth_inference_request_failure_total\{model="double",version="1",reason="INVALID_ARGUMENT"\} [1-9]/,
    );
    expect(text).toMatch(
      /berth_inference_request_duration_seconds_bucket\{le="0.0001",model="double",version="1"\}/,
    );
    expect(text).toMatch(/berth_model_ready\{model="iris",version="1"\} 1/);
    expect(text).toMatch(/process_resident_memory_bytes/);
    expect(text).not.toMatch(/model="nope"/);
  });
});
