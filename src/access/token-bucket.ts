/**
 * A token bucket, pure: a bucket holds up to `burst` tokens and refills at `perSecond`; a request
 * takes one or is refused with how long until one is there. Time comes in as a number, so the
 * decision is tested with a fake clock.
 */

/** A limit: a steady rate and the burst it allows on top. */
export interface RatePolicy {
  readonly perSecond: number;
  /** Most requests at once after an idle spell; at least 1. */
  readonly burst: number;
}

export interface Bucket {
  readonly tokens: number;
  /** When `tokens` was worked out, in milliseconds of the caller's clock. */
  readonly at: number;
}

export interface Take {
  readonly allowed: boolean;
  readonly bucket: Bucket;
  /** Whole tokens left after this request. */
  readonly remaining: number;
  /** Milliseconds until a token is there again (0 when one is); for Retry-After. */
  readonly retryAfterMs: number;
  /** Milliseconds until the bucket is full again; the `t` of the RateLimit field. */
  readonly resetMs: number;
}

/** A take's outcome without the bucket: what a store shared between processes answers. */
export type TakeResult = Omit<Take, 'bucket'>;

/**
 * @example
 * const policy = { perSecond: 10, burst: 20 };
 * let bucket; const take = takeToken(bucket, policy, now); bucket = take.bucket;
 */
export function takeToken(bucket: Bucket | undefined, policy: RatePolicy, now: number): Take {
  const elapsed = bucket === undefined ? Infinity : Math.max(0, now - bucket.at);
  const tokens = Math.min(
    policy.burst,
    (bucket?.tokens ?? policy.burst) + (elapsed * policy.perSecond) / 1000,
  );
  const allowed = tokens >= 1;
  const left = allowed ? tokens - 1 : tokens;
  const msPerToken = 1000 / policy.perSecond;
  return {
    allowed,
    bucket: { tokens: left, at: now },
    remaining: Math.floor(left),
    retryAfterMs: allowed ? 0 : Math.ceil((1 - left) * msPerToken),
    resetMs: Math.ceil((policy.burst - left) * msPerToken),
  };
}

/** Whether a bucket last seen at `bucket.at` is full again by `now`, and so can be forgotten. */
export function isFull(bucket: Bucket, policy: RatePolicy, now: number): boolean {
  return bucket.tokens + ((now - bucket.at) * policy.perSecond) / 1000 >= policy.burst;
}

const RATE = /^(\d+(?:\.\d+)?)\s*\/\s*(s|sec|second|m|min|minute|h|hour)$/;
const PER_SECOND: Record<string, number> = {
  s: 1,
  sec: 1,
  second: 1,
  m: 1 / 60,
  min: 1 / 60,
  minute: 1 / 60,
  h: 1 / 3600,
  hour: 1 / 3600,
};

/** Requests per second in a rate text such as `100/s`, `600/m` or `1000/h`; undefined otherwise. */
export function parseRate(text: string): number | undefined {
  const match = RATE.exec(text.trim());
  if (match === null) return undefined;
  const perSecond = Number(match[1]) * (PER_SECOND[match[2] as string] as number);
  return perSecond > 0 && Number.isFinite(perSecond) ? perSecond : undefined;
}
