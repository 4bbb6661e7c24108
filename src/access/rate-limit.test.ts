import { describe, expect, it } from 'vitest';
import { compose, type Call, type CallContext } from '../protocol/index.js';
import { rateLimit } from './rate-limit.js';
import type { OperationRole } from './key-file.js';

const roleOf = (operation: string): OperationRole => (operation === 'serverLive' ? 'health' : 'infer');

function inferCall(model: string, context: Partial<CallContext> = {}): Call {
  return {
    operation: 'infer',
    input: { name: model, request: {} },
    context: { requestId: 'r', transport: 'http', ...context },
  } as Call;
}

async function outcome(chain: (call: Call) => Promise<unknown>, call: Call): Promise<string> {
  return chain(call).then(
    () => 'ok',
    (error: unknown) => {
      const e = error as { code: string; retryAfterSeconds?: number; headers?: Record<string, string> };
      return `${e.code} retry=${e.retryAfterSeconds ?? '-'} ${e.headers?.ratelimit ?? ''} ${e.headers?.['ratelimit-policy'] ?? ''}`.trim();
    },
  );
}

describe('rateLimit', () => {
  it('gives each caller its own bucket, by principal or else by address, on the fake clock', async () => {
    let now = 0;
    const chain = compose(
      [rateLimit({ perCaller: { perSecond: 1, burst: 2 }, roleOf, now: () => now })],
      () => Promise.resolve('answer'),
    );
    const alice = inferCall('m', { principal: { id: 'key:alice', roles: ['infer'] } });
    const anonymous = inferCall('m', { peer: '10.0.0.7' });
    expect(await outcome(chain, alice)).toBe('ok');
    expect(await outcome(chain, alice)).toBe('ok');
    expect(await outcome(chain, alice)).toBe(
      'BERTH_ERR_RATE_LIMITED retry=1 "caller";r=0;t=2 "caller";q=2;w=2',
    );
    expect(await outcome(chain, anonymous)).toBe('ok');
    now = 1000;
    expect(await outcome(chain, alice)).toBe('ok');
    // Health is never limited.
    const live = { operation: 'serverLive', input: {}, context: alice.context } as Call;
    for (let i = 0; i < 5; i++) expect(await outcome(chain, live)).toBe('ok');
  });

  it('limits a model over all its callers, and leaves other models alone', async () => {
    const chain = compose(
      [rateLimit({ perModel: { fraud: { perSecond: 0.5, burst: 1 } }, roleOf, now: () => 0 })],
      () => Promise.resolve('answer'),
    );
    expect(await outcome(chain, inferCall('fraud', { peer: 'a' }))).toBe('ok');
    expect(await outcome(chain, inferCall('fraud', { peer: 'b' }))).toMatch(
      /^BERTH_ERR_RATE_LIMITED retry=2 "model";r=0;t=2/,
    );
    expect(await outcome(chain, inferCall('iris', { peer: 'b' }))).toBe('ok');
  });

  it('tells an admitted caller what is left of every limit that applied, where the answer has a place', async () => {
    let now = 0;
    const chain = compose(
      [
        rateLimit({
          perCaller: { perSecond: 1, burst: 3 },
          perModel: { fraud: { perSecond: 10, burst: 10 } },
          roleOf,
          now: () => now,
        }),
      ],
      () => Promise.resolve('answer'),
    );
    const answered = (model: string) => {
      const fields: Record<string, string> = {};
      const call = inferCall(model, {
        peer: 'p',
        answerFields: { set: (name, value) => (fields[name] = value) },
      });
      return chain(call).then(() => fields);
    };
    expect(await answered('fraud')).toEqual({
      'ratelimit-policy': '"caller";q=3;w=3, "model";q=10;w=1',
      ratelimit: '"caller";r=2;t=1, "model";r=9;t=1',
    });
    // A model without a limit of its own: the caller's limit alone.
    expect(await answered('iris')).toEqual({
      'ratelimit-policy': '"caller";q=3;w=3',
      ratelimit: '"caller";r=1;t=2',
    });
    now = 500;
    expect(await answered('iris')).toEqual({
      'ratelimit-policy': '"caller";q=3;w=3',
      ratelimit: '"caller";r=0;t=3',
    });
    // No place for fields (an in-process call): the limit still holds, nothing breaks.
    expect(await outcome(chain, inferCall('iris', { peer: 'p' }))).toMatch(/^BERTH_ERR_RATE_LIMITED/);
  });

  it('caps the calls one caller has in progress, and frees the slot when a call ends either way', async () => {
    const pending: (() => void)[] = [];
    const chain = compose([rateLimit({ maxConcurrent: 2, roleOf })], (call) => {
      if (call.operation === 'infer' && call.input.name === 'fails')
        return Promise.reject(new Error('model failed'));
      return new Promise((resolve) => pending.push(() => resolve('answer')));
    });
    const slow = inferCall('m', { peer: 'p' });
    const first = chain(slow);
    const second = chain(slow);
    expect(await outcome(chain, slow)).toBe('BERTH_ERR_CONCURRENCY_LIMITED retry=1');
    const other = chain(inferCall('m', { peer: 'other' }));
    pending.shift()?.();
    await first;
    // One slot free: a call that fails takes it and gives it back.
    expect(await outcome(chain, inferCall('fails', { peer: 'p' }))).toBe('undefined retry=-');
    const third = chain(slow);
    expect(await outcome(chain, slow)).toBe('BERTH_ERR_CONCURRENCY_LIMITED retry=1');
    for (const resolve of pending.splice(0)) resolve();
    await Promise.all([second, third, other]);
  });
});
