/**
 * Rate limits and a cap on concurrent requests, on the request seam: token buckets per caller
 * (its principal, or its address when it is anonymous) and per model, in this process's memory.
 * A refused call is a 429 (gRPC RESOURCE_EXHAUSTED) with Retry-After and the IETF RateLimit and
 * RateLimit-Policy fields (draft-ietf-httpapi-ratelimit-headers: `"name";q=…;w=…` and
 * `"name";r=…;t=…`). Health calls are never limited.
 *
 * With a shared store (redis-buckets.ts) the buckets live there instead, so that several
 * processes share each limit; the cap on concurrent requests stays each process's own.
 */
import { BerthError } from '../ground/index.js';
import type { Call, Interceptor, UnaryOperation } from '../protocol/index.js';
import type { OperationRole } from './key-file.js';
import type { SharedBuckets } from './redis-buckets.js';
import { isFull, takeToken, type Bucket, type RatePolicy, type TakeResult } from './token-bucket.js';

export interface RateLimitOptions {
  /** Each caller's limit; absent for none. */
  readonly perCaller?: RatePolicy;
  /** Limits per model name, over all callers. */
  readonly perModel?: Readonly<Record<string, RatePolicy>>;
  /** Most calls one caller may have in progress; absent for no cap. */
  readonly maxConcurrent?: number;
  readonly roleOf: (operation: UnaryOperation) => OperationRole;
  /** Milliseconds; injected for tests. */
  readonly now?: () => number;
  /** Buckets shared with other processes (Redis); absent: this process's memory. */
  readonly shared?: SharedBuckets;
  /** A shared take failed: the request went through unlimited (fail open). */
  readonly onSharedError?: (error: unknown) => void;
}

/** Buckets kept at most, per kind; past it, the full ones are dropped (they hold nothing). */
const MAX_BUCKETS = 100_000;

/** One kind of bucket (callers, or models) with the policy of each key. */
class Buckets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    readonly name: string,
    private readonly policyOf: (key: string) => RatePolicy | undefined,
  ) {}

  /** Takes a token for `key`; a BerthError to throw when there is none. */
  take(key: string, now: number, who: string): BerthError | undefined {
    const policy = this.policyOf(key);
    if (policy === undefined) return undefined;
    const take = takeToken(this.buckets.get(key), policy, now);
    if (this.buckets.size >= MAX_BUCKETS && !this.buckets.has(key)) this.prune(now);
    this.buckets.set(key, take.bucket);
    return take.allowed ? undefined : refusal(this.name, policy, take, who);
  }

  private prune(now: number): void {
    for (const [key, bucket] of this.buckets) {
      const policy = this.policyOf(key);
      if (policy === undefined || isFull(bucket, policy, now)) this.buckets.delete(key);
    }
    // Every caller is busy: start over rather than grow without bound.
    if (this.buckets.size >= MAX_BUCKETS) this.buckets.clear();
  }
}

/** The 429 for a take that found no token, with Retry-After and the RateLimit fields. */
function refusal(name: string, policy: RatePolicy, take: TakeResult, who: string): BerthError {
  const window = Math.max(1, Math.round(policy.burst / policy.perSecond));
  const retryAfterSeconds = Math.max(1, Math.ceil(take.retryAfterMs / 1000));
  return new BerthError(
    'BERTH_ERR_RATE_LIMITED',
    `${who} is over its rate limit (${formatRate(policy)}); retry in ${retryAfterSeconds} s`,
    {
      retryAfterSeconds,
      headers: {
        'ratelimit-policy': `"${name}";q=${Math.floor(policy.burst)};w=${window}`,
        ratelimit: `"${name}";r=${take.remaining};t=${Math.max(1, Math.ceil(take.resetMs / 1000))}`,
      },
    },
  );
}

function formatRate(policy: RatePolicy): string {
  return `${policy.perSecond}/s, bursts of ${policy.burst}`;
}

/** The caller's key for limits: its principal, else its address. */
function callerOf(call: Call): string {
  return call.context.principal?.id ?? `peer:${call.context.peer ?? 'unknown'}`;
}

/** The model an operation is about, for per-model limits; undefined for none. */
function modelOf(call: Call): string | undefined {
  return call.operation === 'infer' ? call.input.name : undefined;
}

/**
 * Goes after access control in the chain, so that limits count principals, not what a caller
 * claims to be.
 *
 * @example
 * intercept(engine, [accessControl(...), rateLimit({ perCaller: { perSecond: 100, burst: 200 }, roleOf })]);
 */
export function rateLimit(options: RateLimitOptions): Interceptor {
  const now = options.now ?? (() => performance.now());
  const perCaller = options.perCaller;
  const callers = new Buckets('caller', () => perCaller);
  const perModel = new Map(Object.entries(options.perModel ?? {}));
  const models = new Buckets('model', (model) => perModel.get(model));
  const inFlight = new Map<string, number>();
  const { maxConcurrent, roleOf } = options;
  const shared = options.shared;
  /** The shared store's take; a failed one lets the call through (fail open). */
  const sharedTake = async (name: string, key: string, policy: RatePolicy | undefined, who: string) => {
    if (policy === undefined || shared === undefined) return undefined;
    try {
      const take = await shared.take(name, key, policy);
      return take.allowed ? undefined : refusal(name, policy, take, who);
    } catch (error) {
      options.onSharedError?.(error);
      return undefined;
    }
  };
  const withinConcurrency = (call: Call, caller: string, next: (call: Call) => Promise<unknown>) => {
    if (maxConcurrent === undefined) return next(call);
    const running = inFlight.get(caller) ?? 0;
    if (running >= maxConcurrent) {
      return Promise.reject(
        new BerthError(
          'BERTH_ERR_CONCURRENCY_LIMITED',
          `${caller} already has ${running} requests in progress, the most it may (--max-concurrent)`,
          { retryAfterSeconds: 1 },
        ),
      );
    }
    inFlight.set(caller, running + 1);
    const done = () => {
      const left = (inFlight.get(caller) ?? 1) - 1;
      if (left === 0) inFlight.delete(caller);
      else inFlight.set(caller, left);
    };
    return next(call).finally(done);
  };
  return (next) => (call) => {
    if (roleOf(call.operation) === 'health') return next(call);
    const caller = callerOf(call);
    if (shared !== undefined) {
      return (async () => {
        const model = modelOf(call) ?? '';
        const refused =
          (await sharedTake('caller', caller, perCaller, caller)) ??
          (await sharedTake('model', model, perModel.get(model), `model "${model}"`));
        if (refused !== undefined) throw refused;
        return withinConcurrency(call, caller, next);
      })();
    }
    const at = now();
    const refused =
      callers.take(caller, at, caller) ??
      (perModel.size === 0
        ? undefined
        : models.take(modelOf(call) ?? '', at, `model "${modelOf(call) ?? ''}"`));
    if (refused !== undefined) return Promise.reject(refused);
    return withinConcurrency(call, caller, next);
  };
}
