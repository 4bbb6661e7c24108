/**
 * Token buckets kept in Redis, so that several processes (two `berth up` gateways, or replicas of
 * `berth serve` behind a load balancer) share one limit per caller and per model. Each take is
 * one atomic Lua script that does what token-bucket.ts does, on the Redis server's clock (`TIME`),
 * so that the processes' clocks need not agree; a bucket expires once it would be full again, so
 * idle callers cost Redis nothing.
 *
 * Redis is a dependency of the request path only as far as a limit goes: a take that fails (Redis
 * down, or slower than `commandTimeoutMs`) lets the request through and is reported, as Envoy's
 * global rate limit does by default (failure_mode_deny: false). A limit must not become an outage.
 */
// ioredis is loaded by connect(), not with this module: a server without shared limits never pays for it.
import type { Redis } from 'ioredis';
import { BerthError } from '../ground/index.js';
import type { RatePolicy, TakeResult } from './token-bucket.js';

/** Buckets shared between processes, by kind ("caller", "model") and key. */
export interface SharedBuckets {
  take(kind: string, key: string, policy: RatePolicy): Promise<TakeResult>;
  close(): Promise<void>;
}

const TAKE = `
local perSecond = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = burst
if state[1] then
  local elapsed = math.max(0, now - tonumber(state[2]))
  tokens = math.min(burst, tonumber(state[1]) + elapsed * perSecond / 1000)
end
local allowed = 0
local left = tokens
if tokens >= 1 then
  allowed = 1
  left = tokens - 1
end
local msPerToken = 1000 / perSecond
local resetMs = math.ceil((burst - left) * msPerToken)
redis.call('HSET', KEYS[1], 'tokens', tostring(left), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.max(1, resetMs))
local retryAfterMs = 0
if allowed == 0 then retryAfterMs = math.ceil((1 - left) * msPerToken) end
return {allowed, math.floor(left), retryAfterMs, resetMs}
`;

type RedisWithTake = Redis & {
  berthTake(key: string, perSecond: number, burst: number): Promise<[number, number, number, number]>;
};

export interface RedisBucketsOptions {
  /** redis://[user:password@]host:port[/db] or rediss:// for TLS. */
  readonly url: string;
  /** Prefix of every key berth writes; default "berth:rl:". */
  readonly prefix?: string;
  /** Longest a take may wait for Redis before the request goes through unlimited; default 100 ms. */
  readonly commandTimeoutMs?: number;
}

/**
 * @example
 * const shared = await RedisBuckets.connect({ url: 'redis://127.0.0.1:6379' });
 * const take = await shared.take('caller', 'key:3f9c2a7b10de', { perSecond: 10, burst: 10 });
 */
export class RedisBuckets implements SharedBuckets {
  private constructor(
    private readonly redis: RedisWithTake,
    private readonly prefix: string,
  ) {}

  /** Connects, and fails (BERTH_ERR_RATE_LIMIT_STORE_UNAVAILABLE) when Redis does not answer within 3 s. */
  static async connect(options: RedisBucketsOptions): Promise<RedisBuckets> {
    const { Redis } = await import('ioredis');
    const redis = new Redis(options.url, {
      lazyConnect: true,
      connectTimeout: 3000,
      commandTimeout: options.commandTimeoutMs ?? 100,
      // While disconnected a take fails at once (and the request goes through) rather than queue.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: (attempt) => Math.min(2000, 100 * 2 ** Math.min(attempt, 5)),
    }) as RedisWithTake;
    redis.defineCommand('berthTake', { numberOfKeys: 1, lua: TAKE });
    // Errors after the start are the takes' to report; without a listener ioredis logs them itself.
    redis.on('error', () => undefined);
    try {
      await redis.connect();
      await redis.ping();
    } catch (error) {
      redis.disconnect();
      throw new BerthError(
        'BERTH_ERR_RATE_LIMIT_STORE_UNAVAILABLE',
        `the Redis that holds the shared rate limits did not answer (${redactedUrl(options.url)}): ${(error as Error).message}`,
        { cause: error },
      );
    }
    return new RedisBuckets(redis, options.prefix ?? 'berth:rl:');
  }

  async take(kind: string, key: string, policy: RatePolicy): Promise<TakeResult> {
    const [allowed, remaining, retryAfterMs, resetMs] = await this.redis.berthTake(
      `${this.prefix}${kind}:${key}`,
      policy.perSecond,
      policy.burst,
    );
    return { allowed: allowed === 1, remaining, retryAfterMs, resetMs };
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

/** A Redis URL without its password, for logs and errors. */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'an unparsable URL';
  }
}
