/**
 * The inference fast path on bare node:http: the routes it takes, and what it must do exactly as
 * the fastify routes do (status, headers, error format) on the forms only it sees: bodies in
 * several chunks, bodies over the limit without a declared length, clients that leave mid-body.
 */
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { matchInferRoute } from './infer-fast-path.js';
import { doubleModel } from '../../../test/fixtures/models.js';
import { startTestServer, type TestServer } from '../../../test/helpers/server.js';

describe('matchInferRoute', () => {
  it('takes model and version inference URLs, decoded, with or without a query', () => {
    expect(matchInferRoute('/v2/models/iris/infer')).toEqual({ model: 'iris', version: undefined });
    expect(matchInferRoute('/v2/models/iris/versions/3/infer')).toEqual({ model: 'iris', version: '3' });
    expect(matchInferRoute('/v2/models/my%20model/infer?x=1')).toEqual({
      model: 'my model',
      version: undefined,
    });
  });

  it('passes on everything else, including names the router would refuse', () => {
    for (const url of [
      '/v2/models/iris',
      '/v2/models/iris/ready',
      '/v2/models//infer',
      '/v2/models/a/b/infer',
      '/v2/models/iris/infer/extra',
      '/v2/models/iris/versions//infer',
      `/v2/models/${'m'.repeat(257)}/infer`,
      '/v2/models/%E0%A4%A/infer',
    ]) {
      expect(matchInferRoute(url), url).toBeUndefined();
    }
  });
});

describe('the fast path over a socket', () => {
  let server: TestServer;
  let port: number;
  const json = JSON.stringify({
    inputs: [{ name: 'INPUT0', shape: [1, 4], datatype: 'FP32', data: [1, 2, 3, 4] }],
  });

  beforeAll(async () => {
    server = await startTestServer(
      { double: doubleModel() },
      { limits: { maxBodyBytes: 4096, maxTensorElements: 1 << 20 } },
    );
    port = server.port;
  });
  afterAll(() => server.stop());

  /** Sends a body in the given chunks, with chunked transfer encoding when no length is given. */
  function send(
    chunks: readonly (string | Buffer)[],
    headers: Record<string, string> = {},
  ): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        { port, host: '127.0.0.1', method: 'POST', path: '/v2/models/double/infer', headers },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        },
      );
      req.on('error', reject);
      for (const chunk of chunks) req.write(chunk);
      req.end();
    });
  }

  it('answers a body that arrives in several chunks, and echoes the request id', async () => {
    const r = await send([json.slice(0, 10), json.slice(10, 30), json.slice(30)], {
      'x-request-id': 'fast-1',
    });
    expect(r.status).toBe(200);
    expect(r.headers['x-request-id']).toBe('fast-1');
    expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(r.body).outputs[0].data).toEqual([2, 4, 6, 8]);
  });

  it('refuses an undeclared body past the limit with 413 in the usual error format, and closes', async () => {
    const r = await send([Buffer.alloc(3000, 32), Buffer.alloc(3000, 32)]);
    expect(r.status).toBe(413);
    expect(r.headers['berth-error-code']).toBe('BERTH_ERR_PROTOCOL_BODY_TOO_LARGE');
    expect(r.headers.connection).toBe('close');
    expect(r.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(JSON.parse(r.body)).toEqual({ error: expect.stringMatching(/larger than the limit/) });
  });

  it('refuses a declared length past the limit without reading the body', async () => {
    const r = await send([Buffer.alloc(5000, 32)], { 'content-length': '5000' });
    expect(r.status).toBe(413);
  });

  it('gives decode errors the error format with the request id', async () => {
    const r = await send(['{"inputs": ['], { 'x-request-id': 'bad-1', 'content-type': 'application/json' });
    expect(r.status).toBe(400);
    expect(r.headers['berth-error-code']).toBe('BERTH_ERR_PROTOCOL_INVALID_JSON');
    expect(r.headers['x-request-id']).toBe('bad-1');
  });

  it('survives a client that leaves halfway through its body', async () => {
    await new Promise<void>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write(
          'POST /v2/models/double/infer HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 200\r\n\r\n{"inputs":',
        );
        setTimeout(() => {
          socket.destroy();
          resolve();
        }, 50);
      });
      socket.on('error', reject);
    });
    const r = await send([json]);
    expect(r.status).toBe(200);
  });

  it('keeps a connection alive across requests', async () => {
    const agent = new (await import('node:http')).Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set<unknown>();
    for (let i = 0; i < 3; i++) {
      await new Promise<void>((resolve, reject) => {
        const req = httpRequest(
          { port, host: '127.0.0.1', method: 'POST', path: '/v2/models/double/infer', agent },
          (res) => {
            sockets.add(req.socket);
            res.resume();
            res.on('end', () =>
              res.statusCode === 200 ? resolve() : reject(new Error(String(res.statusCode))),
            );
          },
        );
        req.on('error', reject);
        req.end(json);
      });
    }
    agent.destroy();
    expect(sockets.size).toBe(1);
  });
});

describe('the fast path with bodies large enough to be pooled', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ double: doubleModel('FLOAT', ['batch', 'n']) });
  });
  afterAll(() => server.stop());

  /** One binary request of `n` FP32 values all equal to `value`, answered as binary. */
  async function inferFilled(n: number, value: number): Promise<Float32Array> {
    const header = Buffer.from(
      JSON.stringify({
        inputs: [
          { name: 'INPUT0', shape: [1, n], datatype: 'FP32', parameters: { binary_data_size: n * 4 } },
        ],
        outputs: [{ name: 'OUTPUT0', parameters: { binary_data: true } }],
      }),
    );
    const data = Buffer.from(new Float32Array(n).fill(value).buffer);
    const response = await fetch(`http://127.0.0.1:${server.port}/v2/models/double/infer`, {
      method: 'POST',
      headers: {
        'content-type': 'application/octet-stream',
        'inference-header-content-length': String(header.byteLength),
      },
      body: Buffer.concat([header, data]),
    });
    expect(response.status).toBe(200);
    const bytes = Buffer.from(await response.arrayBuffer());
    const headerLength = Number(response.headers.get('inference-header-content-length'));
    return new Float32Array(
      bytes.buffer.slice(bytes.byteOffset + headerLength, bytes.byteOffset + bytes.byteLength),
    );
  }

  it("never lets one request see another request's body when buffers are reused", async () => {
    // 40,000 values = 160 KB per body: over the pooling threshold, in the same size class.
    for (let round = 0; round < 3; round++) {
      const values = Array.from({ length: 12 }, (_, i) => round * 100 + i);
      const answers = await Promise.all(values.map((v) => inferFilled(40_000, v)));
      answers.forEach((answer, i) => {
        expect(answer.length).toBe(40_000);
        const expected = 2 * (values[i] ?? 0);
        expect(answer.every((x) => x === expected)).toBe(true);
      });
    }
  });
});
