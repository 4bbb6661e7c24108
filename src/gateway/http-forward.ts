/**
 * REST requests forwarded to a replica as they came (JSON and binary tensors alike, never
 * re-encoded), over one keep-alive pool, with the resilience the gateway promises:
 *
 * - the replica is the pool's choice (upstream-pool.ts: balancing, ejection, breakers);
 * - a retry goes to another replica, only where it is safe: a refused connection (the request
 *   was never taken), a draining replica's 503, and, for requests without side effects
 *   (inference, metadata, health), a connection reset or closed before any answer (a replica
 *   killed while it held the request);
 * - a replica that lost a connection or said it drains leaves the balancer at once, and comes
 *   back when an active health check passes (active-health.ts). Moving a request off such a
 *   replica is a failover, not a retry: it adds no load the dead replica was not already
 *   carrying, so it does not draw on the retry budget;
 * - an attempt past `perTryTimeoutMs` (a hung or overloaded replica) counts as the replica's
 *   failure, and a request without side effects is retried on another replica: that is a
 *   retry of work the first may still do, so it draws on the retry budget, which is what keeps
 *   retries from turning into a storm;
 * - the deadline bounds every attempt: past it the caller gets a 504, not a late answer;
 * - when no replica can take the request (a cold start, a scale from zero, the only replica
 *   restarting), it waits in a bounded buffer (resilience.buffer) for one to become ready; a
 *   full buffer, or a wait past `maxWaitMs`, is a 503 with Retry-After.
 *
 * Bodies are buffered (bounded by the server's body limit) so that a retry can resend them.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { BerthError, ERROR_CODE_KEY } from '../ground/index.js';
import type { GatewayMetrics } from './gateway-metrics.js';
import { Http1Upstreams } from './http1-upstream.js';
import type { RetryBudget } from './retry-budget.js';
import { acquireUpstream, noUpstream, timedOut } from './upstream-acquire.js';
import type { Upstream, UpstreamPool } from './upstream-pool.js';

export interface ForwardRequest {
  readonly method: string;
  /** Path and query, as the client sent them. */
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** When the caller stops waiting, on performance.now()'s clock. */
  readonly deadline: number;
  /** Aborts when the caller is gone: a request waiting for a replica stops waiting. */
  readonly signal?: AbortSignal;
}

export interface ForwardedResponse {
  readonly status: number;
  /** As the replica sent them (lower-case names); those of one connection are dropped when written. */
  readonly headers: OutgoingHttpHeaders;
  readonly body: Buffer;
  /** The replica that answered. */
  readonly upstream: string;
  /** Attempts made, the answered one included. */
  readonly attempts: number;
}

export interface ForwarderOptions {
  /** Retries of one request at most (resilience.retries). */
  readonly retries: number;
  readonly budget: RetryBudget;
  /** Largest answer accepted from a replica. */
  readonly maxResponseBytes: number;
  /** Keep-alive connections per replica at most. */
  readonly maxSocketsPerUpstream?: number;
  /** Longest one attempt may take (resilience.perTryTimeout); undefined: up to the deadline. */
  readonly perTryTimeoutMs?: number;
  readonly metrics?: GatewayMetrics;
  /** Requests that may wait for a replica, and for how long; undefined or 0: none wait. */
  readonly buffer?: { readonly maxRequests: number; readonly maxWaitMs: number };
}

/** Without side effects: safe to resend after a connection was lost mid-request. */
function idempotent(method: string, path: string): boolean {
  if (method === 'GET' || method === 'HEAD') return true;
  return method === 'POST' && /^\/v2\/models\/[^/?]+(?:\/versions\/[^/?]+)?\/infer(?:\?|$)/.test(path);
}

type Attempt =
  | {
      readonly kind: 'answer';
      readonly status: number;
      readonly headers: IncomingHttpHeaders;
      readonly body: Buffer;
    }
  | { readonly kind: 'lost'; readonly refused: boolean; readonly error: Error }
  /** The request's deadline passed. */
  | { readonly kind: 'timeout' }
  /** resilience.perTryTimeout passed, with time left before the deadline. */
  | { readonly kind: 'slow' };

/**
 * @example
 * const forwarder = new HttpForwarder(pool, { retries: 2, budget: new RetryBudget(), maxResponseBytes: 64 << 20 });
 * const answer = await forwarder.forward({ method, path, headers, body, deadline: performance.now() + 30_000 });
 */
export class HttpForwarder {
  private readonly upstreams: Http1Upstreams;

  constructor(
    private readonly pool: UpstreamPool,
    private readonly options: ForwarderOptions,
  ) {
    this.upstreams = new Http1Upstreams({
      maxResponseBytes: options.maxResponseBytes,
      ...(options.maxSocketsPerUpstream === undefined
        ? {}
        : { maxSocketsPerUpstream: options.maxSocketsPerUpstream }),
    });
  }

  /** Closes the keep-alive connections. */
  close(): void {
    this.upstreams.close();
  }

  async forward(request: ForwardRequest): Promise<ForwardedResponse> {
    const { budget, metrics } = this.options;
    const tried = new Set<Upstream>();
    let failure: BerthError | undefined;
    /** Whether the last attempt's replica is gone from the balancer (a failover, not a retry). */
    let failover = false;
    const sideEffectFree = idempotent(request.method, request.path);
    budget.requestStarted();
    try {
      for (let attempt = 0; attempt <= this.options.retries; attempt++) {
        if (performance.now() >= request.deadline) throw timedOut();
        const retrying = attempt > 0 && !failover;
        if (retrying && !budget.tryRetry()) {
          metrics?.retryBudgetExhausted();
          break;
        }
        failover = false;
        try {
          // A replica free now is taken at once; only when none is does the request wait (buffer).
          const upstream = this.pool.acquire(tried) ?? (await this.acquire(tried, request));
          if (upstream === undefined) {
            if (failure !== undefined) break;
            throw noUpstream();
          }
          tried.add(upstream);
          const started = performance.now();
          const result = await this.send(upstream, request);
          metrics?.attemptEnded(upstream.id, (performance.now() - started) / 1000);
          if (result.kind === 'timeout') {
            this.pool.release(upstream, false);
            throw timedOut();
          }
          if (result.kind === 'slow') {
            // Past resilience.perTryTimeout: the replica may be hung (SIGSTOP) or overloaded.
            // Another may answer in time; that is a retry of work the replica may still do, so
            // it draws on the budget.
            this.pool.release(upstream, false);
            failure = new BerthError(
              'BERTH_ERR_GATEWAY_TIMEOUT',
              `replica ${upstream.id} did not answer within the per-try timeout of ${this.options.perTryTimeoutMs} ms`,
            );
            if (!sideEffectFree) break;
            metrics?.retried('timeout');
            continue;
          }
          if (result.kind === 'lost') {
            this.pool.release(upstream, false);
            this.pool.markLost(upstream);
            failover = true;
            failure = new BerthError(
              'BERTH_ERR_GATEWAY_UPSTREAM_FAILED',
              `replica ${upstream.id} did not answer: ${result.error.message}`,
              { cause: result.error },
            );
            if (result.refused || sideEffectFree) {
              metrics?.retried(result.refused ? 'refused' : 'reset');
              continue;
            }
            break;
          }
          // A draining replica refused the request before taking it: another one may answer.
          const draining =
            result.status === 503 && result.headers[ERROR_CODE_KEY] === 'BERTH_ERR_SERVER_SHUTTING_DOWN';
          this.pool.release(upstream, draining || result.status < 500);
          if (draining) {
            this.pool.markLost(upstream);
            failover = true;
            if (attempt < this.options.retries) {
              failure = new BerthError('BERTH_ERR_GATEWAY_NO_UPSTREAM', `replica ${upstream.id} is draining`);
              metrics?.retried('draining');
              continue;
            }
          }
          return {
            status: result.status,
            headers: result.headers,
            body: result.body,
            upstream: upstream.id,
            attempts: attempt + 1,
          };
        } finally {
          if (retrying) budget.retryEnded();
        }
      }
      throw failure ?? noUpstream();
    } finally {
      budget.requestEnded();
    }
  }

  private acquire(tried: Set<Upstream>, request: ForwardRequest): Promise<Upstream | undefined> {
    return acquireUpstream(this.pool, tried, {
      buffer: this.options.buffer,
      deadline: request.deadline,
      ...(request.signal === undefined ? {} : { signal: request.signal }),
      metrics: this.options.metrics,
    });
  }

  private send(upstream: Upstream, request: ForwardRequest): Promise<Attempt> {
    const remaining = Math.max(1, request.deadline - performance.now());
    const perTry = this.options.perTryTimeoutMs;
    const slow = perTry !== undefined && perTry < remaining;
    return new Promise<Attempt>((resolve) => {
      const exchange = this.upstreams.request(
        upstream.url,
        {
          method: request.method,
          path: request.path,
          headers: request.headers,
          body: request.body,
        },
        (failure, response) => {
          clearTimeout(timer);
          if (failure !== undefined)
            resolve({ kind: 'lost', refused: failure.refused, error: failure.error });
          else if (response !== undefined) {
            resolve({
              kind: 'answer',
              status: response.status,
              headers: response.headers,
              body: response.body,
            });
          }
        },
      );
      const timer = setTimeout(
        () => {
          exchange.abort();
          resolve({ kind: slow ? 'slow' : 'timeout' });
        },
        slow ? perTry : remaining,
      );
    });
  }
}
