import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../../test/helpers/redis.js';
import { rateLimit } from './rate-limit.js';
import { RedisBuckets, redactedUrl } from './redis-buckets.js';
import type { Call, UnaryOperation } from '../protocol/index.js';

let redis: RedisServer;

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(() => redis.stop());

const inferCall = (principal: string, model = 'fraud'): Call =>
  ({
    operation: 'infer',
    input: { name: model },
    context: { requestId: 'r', transport: 'http', principal: { id: principal, roles: ['infer'] } },
  }) as unknown as Call;

describe('RedisBuckets', () => {
  it('takes tokens from one bucket for every process, and refuses past the burst', async () => {
    const a = await RedisBuckets.connect({ url: redis.url, prefix: 'test1:' });
    const b = await RedisBuckets.connect({ url: redis.url, prefix: 'test1:' });
    try {
      const policy = { perSecond: 1 / 60, burst: 3 };
      const takes = [
        await a.take('caller', 'key:1', policy),
        await b.take('caller', 'key:1', policy),
        await a.take('caller', 'key:1', policy),
        await b.take('caller', 'key:1', policy),
      ];
      expect(takes.map((t) => [t.allowed, t.remaining])).toEqual([
        [true, 2],
        [true, 1],
        [true, 0],
        [false, 0],
      ]);
      expect(takes[3]?.retryAfterMs).toBeGreaterThan(50_000);
      expect(takes[3]?.retryAfterMs).toBeLessThanOrEqual(60_000);
      expect((await a.take('caller', 'key:2', policy)).allowed).toBe(true);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('refuses to start when Redis does not answer, without the password in the message', async () => {
    await expect(RedisBuckets.connect({ url: 'redis://user:s3cret@127.0.0.1:9/0' })).rejects.toSatisfy(
      (error: Error & { code?: string }) =>
        error.code === 'BERTH_ERR_RATE_LIMIT_STORE_UNAVAILABLE' && !error.message.includes('s3cret'),
    );
    expect(redactedUrl('redis://user:s3cret@host:6379/0')).toBe('redis://user:***@host:6379/0');
  });
});

describe('rateLimit with a shared store', () => {
  const roleOf = (_operation: UnaryOperation) => 'infer' as const;
  const next = () => Promise.resolve('ok');

  it('shares a caller limit between two interceptors (two processes), with the 429 fields', async () => {
    const shared = await RedisBuckets.connect({ url: redis.url, prefix: 'test2:' });
    try {
      const policy = { perCaller: { perSecond: 1, burst: 2 }, roleOf, shared };
      const first = rateLimit(policy)(next);
      const second = rateLimit(policy)(next);
      expect(await first(inferCall('key:a'))).toBe('ok');
      expect(await second(inferCall('key:a'))).toBe('ok');
      await expect(first(inferCall('key:a'))).rejects.toMatchObject({
        code: 'BERTH_ERR_RATE_LIMITED',
        retryAfterSeconds: 1,
        headers: { 'ratelimit-policy': '"caller";q=2;w=2', ratelimit: '"caller";r=0;t=2' },
      });
    } finally {
      await shared.close();
    }
  });

  it('lets calls through when the store fails (fail open), and reports it', async () => {
    const shared = await RedisBuckets.connect({ url: redis.url, prefix: 'test3:' });
    await shared.close();
    const errors: unknown[] = [];
    const limited = rateLimit({
      perCaller: { perSecond: 1, burst: 1 },
      roleOf,
      shared,
      onSharedError: (error) => errors.push(error),
    })(next);
    expect(await limited(inferCall('key:b'))).toBe('ok');
    expect(await limited(inferCall('key:b'))).toBe('ok');
    expect(errors).toHaveLength(2);
  });
});
