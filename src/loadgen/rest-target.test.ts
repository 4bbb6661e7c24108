import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  decodeRestInferRequest,
  encodeRestInferResponse,
  INFERENCE_HEADER_CONTENT_LENGTH,
  parseHeaderLength,
  splitRestBody,
} from '../protocol/index.js';
import type { InferInput, InferResponse } from '../ground/index.js';
import { checkRestAnswer, createRestTarget, restRequestOf } from './rest-target.js';

const inputs: InferInput[] = [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: new Float32Array([1, 2]) }];
const response: InferResponse = {
  modelName: 'm',
  modelVersion: '1',
  outputs: [
    { name: 'y', datatype: 'FP32', shape: [1, 2], data: new Float32Array([2, 4]) },
    { name: 'label', datatype: 'BYTES', shape: [1], data: [new TextEncoder().encode('a')] },
  ],
};

/** A response body as a server sends it, binary or JSON. */
function answer(binary: boolean): { body: Buffer; headerLength: string | undefined } {
  const encoded = encodeRestInferResponse(response, { binary: () => binary });
  const head = Buffer.from(encoded.header);
  return {
    body: Buffer.concat([head, ...encoded.chunks]),
    headerLength: encoded.chunks.length === 0 ? undefined : String(head.byteLength),
  };
}

describe('checkRestAnswer', () => {
  it('passes a well-formed response with every output, binary or JSON', () => {
    for (const binary of [true, false]) {
      const { body, headerLength } = answer(binary);
      expect(checkRestAnswer(200, headerLength, body, ['y', 'label'])).toBeUndefined();
    }
  });

  it("classes an error status by status, with the OIP error's message", () => {
    const body = Buffer.from('{"error":"input \\"x\\": expected shape [-1,4], got [1,5]"}');
    expect(checkRestAnswer(400, undefined, body, ['y'])).toEqual({
      kind: 'HTTP 400',
      message: 'input "x": expected shape [-1,4], got [1,5]',
    });
    expect(checkRestAnswer(502, undefined, Buffer.from('<html>Bad Gateway</html>\n'), ['y'])).toEqual({
      kind: 'HTTP 502',
      message: '<html>Bad Gateway</html>',
    });
  });

  it('classes a 200 that is no inference response of the model as malformed', () => {
    const { body, headerLength } = answer(true);
    const cases: [string | undefined, Buffer, RegExp][] = [
      [undefined, Buffer.from('OK'), /not valid JSON/],
      [undefined, Buffer.from('{"outputs": []}'), /model_name/],
      [headerLength, body.subarray(0, body.length - 1), /binary/i],
      [String(body.length + 1), body, /Inference-Header-Content-Length/],
      [headerLength, body, /no output "probabilities"/],
    ];
    for (const [length, bytes, message] of cases) {
      const failure = checkRestAnswer(200, length, bytes, ['y', 'probabilities']);
      expect(failure?.kind).toBe('malformed');
      expect(failure?.message).toMatch(message);
    }
  });
});

describe('restRequestOf', () => {
  const url = new URL('http://127.0.0.1:1/prefix/');

  it('makes a binary request the server decodes to the same tensors, asking for binary outputs', () => {
    const { path, headers, body } = restRequestOf({
      url,
      model: 'm',
      version: '2',
      inputs,
      encoding: 'binary',
      outputs: [],
      timeoutMs: 1,
    });
    expect(path).toBe('/prefix/v2/models/m/versions/2/infer');
    expect(headers['content-type']).toBe('application/octet-stream');
    expect(headers['content-length']).toBe(String(body.length));
    const split = splitRestBody(
      body,
      parseHeaderLength(headers[INFERENCE_HEADER_CONTENT_LENGTH], body.length),
    );
    const decoded = decodeRestInferRequest(split.header, split.binary, { maxTensorElements: 100 });
    expect(
      decoded.request.inputs.map(({ name, datatype, shape, data }) => ({ name, datatype, shape, data })),
    ).toEqual(inputs);
    expect(decoded.encoding.binary('y')).toBe(true);
  });

  it('makes a JSON request asking for JSON outputs', () => {
    const { headers, body } = restRequestOf({
      url,
      model: 'a b',
      inputs,
      encoding: 'json',
      outputs: [],
      headers: { authorization: 'k' },
      timeoutMs: 1,
    });
    expect(headers).toMatchObject({ 'content-type': 'application/json', authorization: 'k' });
    expect(headers[INFERENCE_HEADER_CONTENT_LENGTH]).toBeUndefined();
    const decoded = decodeRestInferRequest(JSON.parse(body.toString()), new Uint8Array(), {
      maxTensorElements: 100,
    });
    expect(decoded.request.inputs).toEqual(inputs);
    expect(decoded.encoding.binary('y')).toBe(false);
  });
});

describe('createRestTarget', () => {
  let server: Server | undefined;
  afterEach(() => {
    server?.closeAllConnections();
    server?.close();
  });

  /** A server answering every request well (or with `status`), counting sockets and requests. */
  async function listen(status = 200) {
    const seen = { sockets: 0, requests: [] as { url: string; body: Buffer; req: IncomingMessage }[] };
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.requests.push({ url: req.url ?? '', body: Buffer.concat(chunks), req });
        if (status !== 200) {
          res.writeHead(status, { 'content-type': 'application/json' }).end('{"error":"no"}');
          return;
        }
        const { body, headerLength } = answer(true);
        res.writeHead(
          200,
          headerLength === undefined ? {} : { [INFERENCE_HEADER_CONTENT_LENGTH]: headerLength },
        );
        res.end(body);
      });
    });
    server.on('connection', () => seen.sockets++);
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    return { seen, url: new URL(`http://127.0.0.1:${port}`) };
  }

  it('sends the same bytes every time, on one kept-alive socket per client', async () => {
    const { seen, url } = await listen();
    const target = createRestTarget({
      url,
      model: 'm',
      inputs,
      encoding: 'binary',
      outputs: ['y'],
      timeoutMs: 5000,
    });
    const connections = target.open(3);
    for (let round = 0; round < 4; round++) {
      const results = await Promise.all([0, 1, 2].map((client) => connections.send(client)));
      expect(results).toEqual([undefined, undefined, undefined]);
    }
    connections.close();
    expect(seen.requests).toHaveLength(12);
    expect(seen.sockets).toBe(3);
    expect(new Set(seen.requests.map((r) => r.body.toString('base64'))).size).toBe(1);
    expect(seen.requests[0]?.body.length).toBe(target.requestBytes);
    expect(seen.requests[0]?.url).toBe('/v2/models/m/infer');
  });

  it('reports an error answer by status', async () => {
    const { url } = await listen(503);
    const connections = createRestTarget({
      url,
      model: 'm',
      inputs,
      encoding: 'json',
      outputs: ['y'],
      timeoutMs: 5000,
    }).open(1);
    expect(await connections.send(0)).toEqual({ kind: 'HTTP 503', message: 'no' });
    connections.close();
  });

  it('reports a refused connection by its code, and no answer in time as a timeout', async () => {
    const { url } = await listen();
    server?.removeAllListeners('request');
    server?.on('request', () => {
      // never answers
    });
    const slow = createRestTarget({
      url,
      model: 'm',
      inputs,
      encoding: 'binary',
      outputs: ['y'],
      timeoutMs: 50,
    }).open(1);
    expect(await slow.send(0)).toEqual({ kind: 'timeout', message: 'no answer within 50 ms' });
    slow.close();
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    server = undefined;
    const refused = createRestTarget({
      url,
      model: 'm',
      inputs,
      encoding: 'binary',
      outputs: ['y'],
      timeoutMs: 5000,
    }).open(1);
    expect((await refused.send(0))?.kind).toBe('ECONNREFUSED');
    refused.close();
  });
});
