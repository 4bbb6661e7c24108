import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  startHttp1Front,
  type FrontAnswer,
  type FrontHandler,
  type Http1Front,
  type Http1FrontOptions,
} from './http1-front.js';
import type { Http1RequestError } from './http1-request.js';

const started: Http1Front[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const front of started.splice(0)) {
    front.closeAll();
    await front.close();
  }
});

const refusal = (error: Http1RequestError): FrontAnswer => ({
  status: error.status,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ error: error.message }),
});

/** Echoes method, target and body; answers after `delayMs` when the target asks for one. */
const echo: FrontHandler = async (request) => {
  const delay = /delay=(\d+)/.exec(request.target);
  if (delay !== null) await new Promise((resolve) => setTimeout(resolve, Number(delay[1])));
  return {
    status: 200,
    headers: { 'content-type': 'text/plain', 'x-seen': request.headers['x-id'] ?? '' },
    body: `${request.method} ${request.target} ${request.body.toString()}`,
  };
};

async function start(
  handler: FrontHandler = echo,
  options: Partial<Http1FrontOptions> = {},
): Promise<Http1Front> {
  const front = await startHttp1Front(
    { host: '127.0.0.1', port: 0, maxBodyBytes: 1024, refusal, ...options },
    handler,
  );
  started.push(front);
  return front;
}

/** A raw client: what it reads, and whether the server closed the connection. */
async function client(
  front: Http1Front,
): Promise<{ socket: Socket; read: () => string; closed: Promise<void> }> {
  const socket = connect(front.port, '127.0.0.1');
  sockets.push(socket);
  let data = '';
  socket.on('data', (chunk: Buffer) => (data += chunk.toString('latin1')));
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return { socket, read: () => data, closed };
}

/** Waits until `read()` holds `count` whole answers (each framed by content-length). */
async function answers(read: () => string, count: number): Promise<{ head: string; body: string }[]> {
  for (let i = 0; i < 200; i++) {
    const parsed = split(read());
    if (parsed.length >= count) return parsed;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`expected ${count} answers, got: ${read()}`);
}

function split(raw: string): { head: string; body: string }[] {
  const out: { head: string; body: string }[] = [];
  let rest = raw;
  for (;;) {
    const end = rest.indexOf('\r\n\r\n');
    if (end < 0) return out;
    const head = rest.slice(0, end);
    const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
    if (rest.length < end + 4 + length) return out;
    out.push({ head, body: rest.slice(end + 4, end + 4 + length) });
    rest = rest.slice(end + 4 + length);
  }
}

describe('the gateway front (HTTP/1.1 server)', () => {
  it('answers requests on one keep-alive connection, with framing and date written by the front', async () => {
    const front = await start();
    const { socket, read } = await client(front);
    socket.write('POST /a HTTP/1.1\r\nHost: x\r\nX-Id: 1\r\nContent-Length: 2\r\n\r\nhi');
    await answers(read, 1);
    socket.write('GET /b HTTP/1.1\r\nHost: x\r\n\r\n');
    const [first, second] = await answers(read, 2);
    expect(first?.head).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(first?.head).toMatch(/\r\nx-seen: 1\r\n/);
    expect(first?.head).toMatch(/\r\ndate: \w{3}, \d\d \w{3} \d{4} /);
    expect(first?.head).toMatch(/\r\nkeep-alive: timeout=5/);
    expect(first?.body).toBe('POST /a hi');
    expect(second?.body).toBe('GET /b ');
  });

  it('answers pipelined requests in order, one at a time', async () => {
    const front = await start();
    const { socket, read } = await client(front);
    socket.write(
      'GET /1?delay=50 HTTP/1.1\r\nHost: x\r\n\r\nPOST /2 HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nzGET /3 HTTP/1.1\r\nHost: x\r\n\r\n',
    );
    const got = await answers(read, 3);
    expect(got.map((a) => a.body)).toEqual(['GET /1?delay=50 ', 'POST /2 z', 'GET /3 ']);
  });

  it('closes after the answer for HTTP/1.0 and Connection: close, and keeps HTTP/1.0 keep-alive open', async () => {
    const front = await start();
    const old = await client(front);
    old.socket.write('GET /old HTTP/1.0\r\n\r\n');
    await old.closed;
    expect(old.read()).toMatch(/\r\nconnection: close(?:\r\n|$)/);
    const closing = await client(front);
    closing.socket.write('GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    await closing.closed;
    expect(split(closing.read())[0]?.body).toBe('GET /c ');
    const kept = await client(front);
    kept.socket.write('GET /k HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
    const [answer] = await answers(kept.read, 1);
    expect(answer?.head).toMatch(/\r\nconnection: keep-alive(?:\r\n|$)/);
    expect(kept.socket.destroyed).toBe(false);
  });

  it('answers a malformed request with its status and closes the connection', async () => {
    const errors: number[] = [];
    const front = await start(echo, { onRefused: (error) => errors.push(error.status) });
    const { socket, read, closed } = await client(front);
    socket.write(
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
    );
    await closed;
    const [answer] = split(read());
    expect(answer?.head).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(answer?.head).toMatch(/\r\nconnection: close(?:\r\n|$)/);
    expect(JSON.parse(answer?.body ?? '{}')).toEqual({
      error: 'a request may not carry both transfer-encoding and content-length',
    });
    expect(errors).toEqual([400]);
  });

  it('refuses a body over the limit with 413 without waiting for it', async () => {
    const front = await start();
    const { socket, read, closed } = await client(front);
    socket.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n');
    await closed;
    expect(read()).toMatch(/^HTTP\/1\.1 413 /);
  });

  it('sends 100 Continue before a body the client holds back', async () => {
    const front = await start();
    const { socket, read } = await client(front);
    socket.write('POST /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n');
    for (let i = 0; i < 100 && !read().includes('100 Continue'); i++)
      await new Promise((r) => setTimeout(r, 10));
    expect(read()).toBe('HTTP/1.1 100 Continue\r\n\r\n');
    socket.write('abc');
    const [answer] = await answers(() => read().slice('HTTP/1.1 100 Continue\r\n\r\n'.length), 1);
    expect(answer?.body).toBe('POST /e abc');
  });

  it('answers a HEAD request with the length of the body it does not send', async () => {
    const front = await start();
    const { socket, read } = await client(front);
    socket.write('HEAD /h HTTP/1.1\r\nHost: x\r\n\r\nGET /g HTTP/1.1\r\nHost: x\r\n\r\n');
    for (let i = 0; i < 100 && !read().includes('GET /g'); i++) await new Promise((r) => setTimeout(r, 10));
    const [head, rest] = read().split('\r\n\r\n');
    expect(head).toMatch(/\r\ncontent-length: 8\r\n/);
    expect(rest).toMatch(/^HTTP\/1\.1 200 OK/);
  });

  it('answers a client that half-closed after its request', async () => {
    const front = await start();
    const { socket, read, closed } = await client(front);
    socket.end('GET /half?delay=30 HTTP/1.1\r\nHost: x\r\n\r\n');
    await closed;
    expect(split(read())[0]?.body).toBe('GET /half?delay=30 ');
  });

  it('times out a client that sends its head too slowly (408), and closes idle connections', async () => {
    const front = await start(echo, { headersTimeoutMs: 100, keepAliveTimeoutMs: 100 });
    const slow = await client(front);
    slow.socket.write('GET / HTTP/1.1\r\nHost: x\r\n');
    await slow.closed;
    expect(slow.read()).toMatch(/^HTTP\/1\.1 408 /);
    const idle = await client(front);
    idle.socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await idle.closed;
    expect(split(idle.read())).toHaveLength(1);
  });

  it('answers a handler that fails, or gives a field it may not send, with a bare 500 and a close', async () => {
    const front = await start((request) =>
      request.target === '/throw'
        ? Promise.reject(new Error('boom'))
        : Promise.resolve({ status: 200, headers: { 'x-bad': 'a\r\nset-cookie: evil' }, body: 'x' }),
    );
    for (const target of ['/throw', '/inject']) {
      const { socket, read, closed } = await client(front);
      socket.write(`GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`);
      await closed;
      expect(read()).toMatch(/^HTTP\/1\.1 500 Internal Server Error\r\n/);
      expect(read()).not.toContain('boom');
      expect(read()).not.toContain('evil');
    }
  });

  it('aborts the signal of a request whose client is gone', async () => {
    const aborted = new Promise<boolean>((resolve, reject) => {
      void start(async (request) => {
        await new Promise<void>((done) => request.signal.addEventListener('abort', () => done()));
        resolve(true);
        return { status: 200, headers: {}, body: '' };
      })
        .then(async (front) => {
          const { socket } = await client(front);
          socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
          setTimeout(() => socket.destroy(), 30);
        })
        .catch(reject);
    });
    expect(await aborted).toBe(true);
  });

  it('closes on close(): idle connections at once, busy ones after their answer', async () => {
    const front = await start();
    const idle = await client(front);
    const busy = await client(front);
    busy.socket.write('GET /slow?delay=100 HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((resolve) => setTimeout(resolve, 20));
    const closing = front.close();
    await idle.closed;
    await busy.closed;
    await closing;
    const [answer] = split(busy.read());
    expect(answer?.body).toBe('GET /slow?delay=100 ');
    expect(answer?.head).toMatch(/\r\nconnection: close(?:\r\n|$)/);
  });
});
