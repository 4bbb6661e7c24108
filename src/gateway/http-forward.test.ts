/**
 * The REST forwarder against replicas that misbehave at the HTTP level, made with raw sockets: a
 * broken answer or one past the size limit is the replica's failure (502, the replica out of the
 * balancer), never an exception of another kind, and a good replica beside it answers instead.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BerthError } from '../ground/index.js';
import { HttpForwarder } from './http-forward.js';
import { RetryBudget } from './retry-budget.js';
import { UpstreamPool } from './upstream-pool.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

/** A unix-socket "replica" that answers every request with `reply` (raw bytes). */
async function replica(reply: Buffer | string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'berth-forward-'));
  const path = join(dir, 'r.sock');
  const server: Server = createServer((socket) => {
    socket.on('data', () => socket.write(reply));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  cleanups.push(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return `unix:${path}`;
}

function forwarderOver(pool: UpstreamPool, maxResponseBytes = 1 << 20): HttpForwarder {
  const forwarder = new HttpForwarder(pool, { retries: 2, budget: new RetryBudget(), maxResponseBytes });
  cleanups.push(() => forwarder.close());
  return forwarder;
}

const infer = () => ({
  method: 'POST',
  path: '/v2/models/m/infer',
  headers: { 'content-type': 'application/json' },
  body: Buffer.from('{"inputs":[]}'),
  deadline: performance.now() + 5000,
});

describe('HttpForwarder against broken replicas', () => {
  it.each([
    ['a status line that is not HTTP', 'SSH-2.0-OpenSSH\r\n\r\n', 'no valid status line'],
    ['a malformed header', 'HTTP/1.1 200 OK\r\nno colon here\r\n\r\n', 'malformed header field'],
    [
      'an answer past the size limit',
      'HTTP/1.1 200 OK\r\ncontent-length: 4096\r\n\r\n',
      'larger than 1024 bytes',
    ],
  ])('answers %s as the replica failing, and takes it out of the balancer', async (_what, reply, reason) => {
    const pool = new UpstreamPool();
    pool.add('r1', await replica(reply));
    const error = await forwarderOver(pool, 1024)
      .forward(infer())
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(BerthError);
    expect((error as BerthError).code).toBe('BERTH_ERR_GATEWAY_UPSTREAM_FAILED');
    expect((error as BerthError).message).toContain(reason);
    expect(pool.view()[0]?.healthy).toBe(false);
  });

  it('sends the request on to a good replica when the first one answers garbage', async () => {
    const pool = new UpstreamPool({ random: () => 0 });
    pool.add('bad', await replica('garbage\r\n\r\n'));
    pool.add(
      'good',
      await replica('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}'),
    );
    const answer = await forwarderOver(pool).forward(infer());
    expect({ status: answer.status, upstream: answer.upstream, body: answer.body.toString() }).toEqual({
      status: 200,
      upstream: 'good',
      body: '{}',
    });
    expect(answer.headers['content-type']).toBe('application/json');
  });
});
