/**
 * Rate limits shared between processes through a real redis-server: two `berth up` gateways in
 * front of their own replicas count one limit per caller, answer 429 with its fields once it is
 * spent across both, and let requests through (fail open, logged) when Redis goes away.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { doubleModel, writeModel } from '../fixtures/models.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { tempDirsForFile } from '../helpers/temp-dir.js';
import { upsForFile, type Up } from '../helpers/up.js';
import { until } from '../helpers/until.js';

const tempDir = tempDirsForFile('berth-rate-redis-');
const startUp = upsForFile();
let redis: RedisServer;

const BODY = JSON.stringify({
  inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }],
});

async function infer(up: Up) {
  const response = await fetch(`${up.gateway}/v2/models/double/infer`, { method: 'POST', body: BODY });
  await response.arrayBuffer();
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    policy: response.headers.get('ratelimit-policy'),
  };
}

beforeAll(async () => {
  redis = await startRedis();
});
afterAll(() => redis.stop());

describe('--rate-limit-redis', () => {
  it('shares one limit between two gateways, and fails open when Redis goes away', async () => {
    const repository = join(tempDir(), 'models');
    writeModel(repository, 'double', doubleModel());
    const args = [repository, '--rate-limit', '3/m', '--rate-burst', '3', '--rate-limit-redis', redis.url];
    const [a, b] = await Promise.all([startUp(args), startUp(args)]);
    for (const up of [a, b]) {
      await until(
        async () => (await fetch(`${up.gateway}/v2/health/ready`)).status === 200,
        'a ready replica',
        20_000,
      );
    }
    // Health is never limited; three inferences across both gateways spend the caller's burst.
    expect([(await infer(a)).status, (await infer(b)).status, (await infer(a)).status]).toEqual([
      200, 200, 200,
    ]);
    const refused = await infer(b);
    expect(refused.status).toBe(429);
    expect(Number(refused.retryAfter)).toBeGreaterThan(0);
    expect(refused.policy).toBe('"caller";q=3;w=60');
    expect((await infer(a)).status).toBe(429);

    await redis.stop();
    expect((await infer(a)).status).toBe(200);
    await until(
      () =>
        Promise.resolve(
          a.logs.some((l) => String(l.msg).startsWith('a shared rate limit could not be read')),
        ),
      'the fail-open warning',
    );
    expect(a.stderr()).not.toContain('password');
  });
});
