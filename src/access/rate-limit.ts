/**
 * Rate limits and a cap on concurrent requests, on the request seam: token buckets per caller
 * (its principal, or its address when it is anonymous) and per model, in this process's memory.
 * A refused call is a 429 (gRPC RESOURCE_EXHAUSTED) with Retry-After and the IETF RateLimit and
 * RateLimit-Policy fields (draft-ietf-httpapi-ratelimit-headers: `"name";q=…;w=…` and
 * `"name";r=…;t=…`); an admitted one carries the same fields, one member per limit that applied,
 * where its transport has a place for them (CallContext.answerFields). Health calls are never
 * limited.
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

/** One limit's take: its name in the RateLimit fields, its policy, and what the bucket answered. */
interface Limited {
  readonly name: string;
  readonly policy: RatePolicy;
  readonly take: TakeResult;
  /** Who is limited, for the refusal's message. */
  readonly who: string;
}

/** One kind of bucket (callers, or models) with the policy of each key. */
class Buckets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    readonly name: string,
    private readonly policyOf: (key: string) => RatePolicy | undefined,
  ) {}

  /** Takes a token for `key`; undefined when no limit applies to it. */
  take(key: string, now: number, who: string): Limited | undefined {
    const policy = this.policyOf(key);
    if (policy === undefined) return undefined;
    const take = takeToken(this.buckets.get(key), policy, now);
    if (this.buckets.size >= MAX_BUCKETS && !this.buckets.has(key)) this.prune(now);
    this.buckets.set(key, take.bucket);
    return { name: this.name, policy, take, who };
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

/** A limit's members of the RateLimit-Policy and RateLimit fields (draft-ietf-httpapi-ratelimit-headers). */
function limitFields(limited: Limited): { policy: string; limit: string } {
  const { name, policy, take } = limited;
  const window = Math.max(1, Math.round(policy.burst / policy.perSecond));
  return {
    policy: `"${name}";q=${Math.floor(policy.burst)};w=${window}`,
    limit: `"${name}";r=${take.remaining};t=${Math.max(1, Math.ceil(take.resetMs / 1000))}`,
  };
}

/** The 429 for a take that found no token, with Retry-After and the RateLimit fields. */
function refusal(limited: Limited): BerthError {
  const retryAfterSeconds = Math.max(1, Math.ceil(limited.take.retryAfterMs / 1000));
  const fields = limitFields(limited);
  return new BerthError(
    'BERTH_ERR_RATE_LIMITED',
    `${limited.who} is over its rate limit (${formatRate(limited.policy)}); retry in ${retryAfterSeconds} s`,
    { retryAfterSeconds, headers: { 'ratelimit-policy': fields.policy, ratelimit: fields.limit } },
  );
}

/**
 * Tells an admitted caller what is left of each limit that applied: one list member per limit in
 * RateLimit and RateLimit-Policy, as the draft allows, where the transport has a place for them.
 */
function report(call: Call, limits: readonly (Limited | undefined)[]): void {
  const answer = call.context.answerFields;
  if (answer === undefined) return;
  let policy = '';
  let limit = '';
  for (const limited of limits) {
    if (limited === undefined) continue;
    const fields = limitFields(limited);
    policy = policy === '' ? fields.policy : `${policy}, ${fields.policy}`;
    limit = limit === '' ? fields.limit : `${limit}, ${fields.limit}`;
  }
  if (limit === '') return;
  answer.set('ratelimit-policy', policy);
  answer.set('ratelimit', limit);
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
  const sharedTake = async (
    name: string,
    key: string,
    policy: RatePolicy | undefined,
    who: string,
  ): Promise<Limited | undefined> => {
    if (policy === undefined || shared === undefined) return undefined;
    try {
      return { name, policy, take: await shared.take(name, key, policy), who };
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
        const byCaller = await sharedTake('caller', caller, perCaller, caller);
        if (byCaller?.take.allowed === false) throw refusal(byCaller);
        const byModel = await sharedTake('model', model, perModel.get(model), `model "${model}"`);
        if (byModel?.take.allowed === false) throw refusal(byModel);
        report(call, [byCaller, byModel]);
        return withinConcurrency(call, caller, next);
      })();
    }
    const at = now();
    const byCaller = callers.take(caller, at, caller);
    if (byCaller?.take.allowed === false) return Promise.reject(refusal(byCaller));
    const model = perModel.size === 0 ? undefined : (modelOf(call) ?? '');
    const byModel = model === undefined ? undefined : models.take(model, at, `model "${model}"`);
    if (byModel?.take.allowed === false) return Promise.reject(refusal(byModel));
    if (byCaller !== undefined || byModel !== undefined) report(call, [byCaller, byModel]);
    return withinConcurrency(call, caller, next);
  };
}
