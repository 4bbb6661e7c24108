/** HTTP behaviour below and around the routes: timeouts, malformed HTTP, draining, failure accounting. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createClient } from '../../client/index.js';
import { createLogger, createServerMetrics } from '../../observability/index.js';
import { createEngine } from '../../engine/index.js';
import { createHttpApp } from './http-app.js';
import { doubleModel } from '../../../test/fixtures/models.js';
import { startTestServer, type TestServer } from '../../../test/helpers/server.js';

const silent = createLogger({ level: 'silent', format: 'json' });
const servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

async function start(...args: Parameters<typeof startTestServer>): Promise<TestServer> {
  const server = await startTestServer(...args);
  servers.push(server);
  return server;
}

function openSocket(url: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => resolve(socket));
    socket.on('error', reject);
  });
}

/** Reads one HTTP response (headers and a content-length body) from a socket. */
function readResponse(
  socket: Socket,
): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  return new Promise((resolve, reject) => {
    let data = '';
    const onData = (chunk: Buffer) => {
      data += chunk.toString('latin1');
      const end = data.indexOf('\r\n\r\n');
      if (end < 0) return;
      const [statusLine = '', ...lines] = data.slice(0, end).split('\r\n');
      const headers = Object.fromEntries(
        lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
      );
      const length = Number(headers['content-length'] ?? 0);
      if (data.length - end - 4 < length) return;
      socket.off('data', onData);
      resolve({
        status: Number(statusLine.split(' ')[1]),
        headers,
        body: data.slice(end + 4, end + 4 + length),
      });
    };
    socket.on('data', onData);
    socket.on('error', reject);
  });
}

describe('errors below the routes', () => {
  it('answers a request that does not arrive within --request-timeout with 408 in berth format', async () => {
    const server = await start({ double: doubleModel() }, { requestTimeoutMs: 500 });
    const socket = await openSocket(server.url);
    socket.write(
      'POST /v2/models/double/infer HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"inputs"',
    );
    const response = await readResponse(socket);
    expect(response.status).toBe(408);
    expect(response.headers['berth-error-code']).toBe('BERTH_ERR_SERVER_TIMEOUT');
    expect(JSON.parse(response.body)).toEqual({
      error: 'request was not received in time (--request-timeout)',
    });
    socket.destroy();
  });

  it('answers malformed HTTP with 400 in berth format', async () => {
    const server = await start({ double: doubleModel() });
    const socket = await openSocket(server.url);
    socket.write('THIS IS NOT HTTP\r\n\r\n');
    const response = await readResponse(socket);
    expect(response.status).toBe(400);
    expect(response.headers['berth-error-code']).toBe('BERTH_ERR_PROTOCOL_INVALID_REQUEST');
    socket.destroy();
  });

  it('answers oversized headers with 431', async () => {
    const server = await start({ double: doubleModel() });
    const socket = await openSocket(server.url);
    socket.write(`GET /v2 HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(64 * 1024)}\r\n\r\n`);
    const response = await readResponse(socket);
    expect(response.status).toBe(431);
    expect(response.headers['berth-error-code']).toBe('BERTH_ERR_PROTOCOL_HEADERS_TOO_LARGE');
    socket.destroy();
  });
});

describe('draining', () => {
  it('stays live, is not ready, and refuses every other call with SHUTTING_DOWN while it drains', async () => {
    const metrics = createServerMetrics({ processMetrics: false });
    const engine = await createEngine({
      backends: [],
      logger: silent,
      metrics,
      version: '0',
      intraOpThreads: 1,
      interOpThreads: 1,
      strictReadiness: true,
    });
    await engine.start();
    const app = createHttpApp({
      service: engine,
      metrics,
      logger: silent,
      limits: { maxBodyBytes: 1024, maxTensorElements: 1024 },
      isDraining: () => engine.lifecycle.draining,
      requestTimeoutMs: 1000,
    });
    await engine.drain();
    const live = await app.inject({ method: 'GET', url: '/v2/health/live' });
    expect(live.statusCode).toBe(200);
    expect(live.json()).toEqual({ live: true });
    expect(live.headers.connection).toBe('close');
    const ready = await app.inject({ method: 'GET', url: '/v2/health/ready' });
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toEqual({ ready: false });
    for (const request of [
      { method: 'GET', url: '/v2' },
      { method: 'GET', url: '/v2/models/double' },
      { method: 'POST', url: '/v2/models/double/infer', payload: '{}' },
      { method: 'POST', url: '/v2/repository/index' },
    ] as const) {
      const response = await app.inject(request);
      expect(response.statusCode, request.url).toBe(503);
      expect(response.headers['berth-error-code']).toBe('BERTH_ERR_SERVER_SHUTTING_DOWN');
      expect(response.headers.connection).toBe('close');
      expect(response.json()).toEqual({ error: 'server is shutting down; retry on another replica' });
    }
    await app.close();
    await engine.close();
  });
});

describe('failure accounting and model states', () => {
  it('counts bodies that fail to decode against a known model, not against unknown names', async () => {
    const server = await start({ double: doubleModel() });
    await fetch(`${server.url}/v2/models/double/infer`, { method: 'POST', body: '{"inputs": [' });
    await fetch(`${server.url}/v2/models/ghost/infer`, { method: 'POST', body: '{"inputs": [' });
    const text = await server.metrics.registry.metrics();
    expect(text).toMatch(
      /berth_inference_request_failure_total\{model="double",version="1",reason="INVALID_ARGUMENT"\} 1/,
    );
    expect(text).not.toMatch(/ghost/);
  });

  it('reports a model without a loadable version as not ready, without server paths', async () => {
    const server = await start(
      { double: doubleModel() },
      {
        prepare: (repo) => {
          mkdirSync(join(repo, 'empty', 'abc'), { recursive: true });
          mkdirSync(join(repo, 'corrupt', '1'), { recursive: true });
          writeFileSync(join(repo, 'corrupt', '1', 'model.onnx'), 'garbage');
        },
      },
    );
    const ready = await fetch(`${server.url}/v2/models/empty/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ name: 'empty', ready: false });
    const index = await createClient({ url: server.url }).repositoryIndex();
    const reasons = index.filter((e) => e.state !== 'READY').map((e) => e.reason);
    expect(reasons).toHaveLength(2);
    for (const reason of reasons) expect(reason).not.toContain(server.repository);
    expect(reasons.join('\n')).toMatch(/empty: no version folder/);
    expect(reasons.join('\n')).toMatch(/corrupt\/1\/model\.onnx/);
  });
});
