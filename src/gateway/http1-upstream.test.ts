import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Http1Upstreams, type Http1Failure, type Http1Request } from './http1-upstream.js';
import type { Http1Response } from './http1-response.js';

let dir: string;
const servers: { close(): void }[] = [];
const upstreams: Http1Upstreams[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'berth-http1-'));
});
afterEach(() => {
  for (const one of upstreams.splice(0)) one.close();
  for (const server of servers.splice(0)) server.close();
  rmSync(dir, { recursive: true, force: true });
});

type Handler = (request: IncomingMessage, response: ServerResponse, body: Buffer) => void;

/** A node:http server on a unix socket (or TCP with `tcp`); counts the connections it accepted. */
async function serve(
  handler: Handler,
  tcp = false,
): Promise<{ url: string; server: Server; accepted: () => number }> {
  let accepted = 0;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => handler(request, response, Buffer.concat(chunks)));
  });
  server.on('connection', () => accepted++);
  servers.push({ close: () => server.closeAllConnections() });
  servers.push(server);
  if (tcp) {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      server,
      accepted: () => accepted,
    };
  }
  const path = join(dir, `s${servers.length}.sock`);
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return { url: `unix:${path}`, server, accepted: () => accepted };
}

function client(options: Partial<ConstructorParameters<typeof Http1Upstreams>[0]> = {}): Http1Upstreams {
  const made = new Http1Upstreams({ maxResponseBytes: 1 << 20, ...options });
  upstreams.push(made);
  return made;
}

function send(
  upstreams: Http1Upstreams,
  url: string,
  request: Partial<Http1Request> = {},
): Promise<{ failure?: Http1Failure; response?: Http1Response }> {
  return new Promise((resolve) => {
    upstreams.request(
      url,
      { method: 'POST', path: '/echo', headers: {}, body: Buffer.from('ping'), ...request },
      (failure, response) => resolve({ ...(failure ? { failure } : {}), ...(response ? { response } : {}) }),
    );
  });
}

const echo: Handler = (request, response, body) => {
  response.writeHead(200, {
    'content-type': 'application/octet-stream',
    'x-seen-host': request.headers.host ?? '',
    'x-seen-path': request.url ?? '',
    'x-seen-custom': String(request.headers['x-custom'] ?? ''),
  });
  response.end(body);
};

describe('Http1Upstreams', () => {
  it('sends method, path, headers and body, and reuses one keep-alive connection', async () => {
    const { url, accepted } = await serve(echo);
    const upstreams = client();
    for (let i = 0; i < 5; i++) {
      const { response } = await send(upstreams, url, {
        path: `/echo?i=${i}`,
        headers: { 'x-custom': 'yes' },
        body: Buffer.from(`body ${i}`),
      });
      expect(response?.status).toBe(200);
      expect(response?.body.toString()).toBe(`body ${i}`);
      expect(response?.headers['x-seen-path']).toBe(`/echo?i=${i}`);
      expect(response?.headers['x-seen-host']).toBe('localhost');
      expect(response?.headers['x-seen-custom']).toBe('yes');
    }
    expect(accepted()).toBe(1);
    expect(upstreams.connections).toBe(1);
  });

  it('talks to a TCP upstream with its host and port as the Host header', async () => {
    const { url } = await serve(echo, true);
    const { response } = await send(client(), url, { method: 'GET', body: Buffer.alloc(0) });
    expect(response?.headers['x-seen-host']).toBe(url.slice('http://'.length));
  });

  it('reads chunked answers and answers whose end is the connection closing', async () => {
    const { url } = await serve((_request, response) => {
      response.write('part one, ');
      setImmediate(() => response.end('part two'));
    });
    const upstreams = client();
    expect((await send(upstreams, url)).response?.body.toString()).toBe('part one, part two');
    const raw = createNetServer((socket) => {
      socket.once('data', () => socket.end('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil close'));
    });
    const path = join(dir, 'raw.sock');
    await new Promise<void>((resolve) => raw.listen(path, resolve));
    servers.push(raw);
    const { response } = await send(upstreams, `unix:${path}`);
    expect(response?.body.toString()).toBe('until close');
    expect(response?.keepAlive).toBe(false);
  });

  it('opens at most maxSocketsPerUpstream connections; more requests wait their turn', async () => {
    let inFlight = 0;
    let most = 0;
    const { url, accepted } = await serve((_request, response, body) => {
      inFlight++;
      most = Math.max(most, inFlight);
      setTimeout(() => {
        inFlight--;
        response.end(body);
      }, 5);
    });
    const upstreams = client({ maxSocketsPerUpstream: 3 });
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) => send(upstreams, url, { body: Buffer.from(String(i)) })),
    );
    expect(answers.map((a) => a.response?.body.toString())).toEqual(
      Array.from({ length: 12 }, (_, i) => String(i)),
    );
    expect(most).toBe(3);
    expect(accepted()).toBe(3);
  });

  it('says refused when nothing listens: a missing unix socket or a closed port', async () => {
    const upstreams = client();
    const missing = await send(upstreams, `unix:${join(dir, 'nobody.sock')}`);
    expect(missing.failure?.refused).toBe(true);
    const probe = createNetServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const closed = await send(upstreams, `http://127.0.0.1:${port}`);
    expect(closed.failure?.refused).toBe(true);
    expect(closed.failure?.error.message).toMatch(/ECONNREFUSED/);
  });

  it('says lost, not refused, when the upstream took the request and died', async () => {
    const { url } = await serve((request) => request.socket.destroy());
    const { failure } = await send(client(), url);
    expect(failure?.refused).toBe(false);
  });

  it('leaves a connection its server closed while idle, and the next request does not fail', async () => {
    let accepted = 0;
    const raw = createNetServer((socket) => {
      accepted++;
      socket.once('data', () => {
        socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok');
        setTimeout(() => socket.end(), 20);
      });
    });
    const path = join(dir, 'closing.sock');
    await new Promise<void>((resolve) => raw.listen(path, resolve));
    servers.push(raw);
    const upstreams = client();
    expect((await send(upstreams, `unix:${path}`)).response?.status).toBe(200);
    expect(upstreams.connections).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(upstreams.connections).toBe(0);
    expect((await send(upstreams, `unix:${path}`)).response?.status).toBe(200);
    expect(accepted).toBe(2);
  });

  it('forgets an upstream whose connections are all gone, as a replica that left for good', async () => {
    const { url, server } = await serve(echo);
    const upstreams = client();
    await send(upstreams, url);
    expect(upstreams.upstreams).toBe(1);
    server.closeAllConnections();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(upstreams.connections).toBe(0);
    expect(upstreams.upstreams).toBe(0);
    // And comes back as new when asked again.
    expect((await send(upstreams, url)).response?.status).toBe(200);
    expect(upstreams.upstreams).toBe(1);
  });

  it('does not reuse a connection idle past the server keep-alive hint less a margin', async () => {
    let now = 0;
    const { url, accepted } = await serve(echo);
    // node:http says `Keep-Alive: timeout=5`: reused for up to 4 s of idle time.
    const upstreams = client({ now: () => now, idleMs: 60_000 });
    await send(upstreams, url);
    now = 3_900;
    await send(upstreams, url);
    expect(accepted()).toBe(1);
    now = 7_950;
    await send(upstreams, url);
    expect(accepted()).toBe(2);
    expect(upstreams.connections).toBe(1);
  });

  it('closes the connection after an answer that says connection: close', async () => {
    const { url, accepted } = await serve((_request, response) => {
      response.setHeader('connection', 'close');
      response.end('bye');
    });
    const upstreams = client();
    await send(upstreams, url);
    await send(upstreams, url);
    expect(accepted()).toBe(2);
  });

  it('fails an answer past maxResponseBytes and drops its connection', async () => {
    const { url } = await serve((_request, response) => response.end(Buffer.alloc(2048)));
    const upstreams = client({ maxResponseBytes: 1024 });
    const { failure } = await send(upstreams, url);
    expect(failure?.refused).toBe(false);
    expect(failure?.error.message).toMatch(/larger than 1024 bytes/);
    await new Promise((resolve) => setImmediate(resolve));
    expect(upstreams.connections).toBe(0);
  });

  it('never calls back an aborted exchange, and does not reuse its connection', async () => {
    const held: ServerResponse[] = [];
    const { url, accepted } = await serve((request, response) => {
      if (request.url === '/hang') held.push(response);
      else response.end('ok');
    });
    const upstreams = client();
    let called = false;
    const exchange = upstreams.request(
      url,
      { method: 'GET', path: '/hang', headers: {}, body: Buffer.alloc(0) },
      () => (called = true),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    exchange.abort();
    for (const response of held) response.end('late');
    expect((await send(upstreams, url, { path: '/fine' })).response?.body.toString()).toBe('ok');
    expect(called).toBe(false);
    expect(accepted()).toBe(2);
  });

  it('fails requests in flight and waiting on close, and refuses new ones', async () => {
    const sockets: Socket[] = [];
    const raw = createNetServer((socket) => sockets.push(socket));
    const path = join(dir, 'silent.sock');
    await new Promise<void>((resolve) => raw.listen(path, resolve));
    servers.push({ close: () => sockets.forEach((s) => s.destroy()) }, raw);
    const upstreams = new Http1Upstreams({ maxResponseBytes: 1024, maxSocketsPerUpstream: 1 });
    const inFlight = send(upstreams, `unix:${path}`);
    const waiting = send(upstreams, `unix:${path}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    upstreams.close();
    expect((await inFlight).failure?.refused).toBe(false);
    expect((await waiting).failure?.refused).toBe(true);
    expect((await send(upstreams, `unix:${path}`)).failure?.refused).toBe(true);
  });
});
