/**
 * How a forwarder (REST, http-forward.ts; gRPC, grpc-forward.ts and grpc-forward-stream.ts) gets
 * a replica for one attempt: when no replica can take the request it waits in the bounded buffer
 * (resilience.buffer) for one to become ready; a full buffer, or a wait past `maxWaitMs`, is
 * BERTH_ERR_GATEWAY_NO_UPSTREAM.
 */
import { BerthError } from '../ground/index.js';
import type { GatewayMetrics } from './gateway-metrics.js';
import type { Upstream, UpstreamPool } from './upstream-pool.js';

/** Requests that may wait for a replica, and for how long; 0 requests: none wait. */
export interface BufferPolicy {
  readonly maxRequests: number;
  readonly maxWaitMs: number;
}

export interface AcquireOptions {
  readonly buffer: BufferPolicy | undefined;
  /** When the caller stops waiting, on performance.now()'s clock. */
  readonly deadline: number;
  /** Aborts when the caller is gone. */
  readonly signal?: AbortSignal;
  /** Whether an upstream can take this request at all (e.g. it serves gRPC); default all. */
  readonly accepts?: (upstream: Upstream) => boolean;
  readonly metrics?: GatewayMetrics | undefined;
}

/**
 * A replica for the next attempt, its outstanding count taken, waiting in the buffer while none
 * can take one; undefined when some could but none of the untried ones can now. Throws
 * BERTH_ERR_GATEWAY_NO_UPSTREAM past the buffer, BERTH_ERR_GATEWAY_TIMEOUT past the deadline.
 *
 * @example
 * const upstream = await acquireUpstream(pool, tried, { buffer, deadline: performance.now() + 30_000 });
 */
export async function acquireUpstream(
  pool: UpstreamPool,
  tried: Set<Upstream>,
  options: AcquireOptions,
): Promise<Upstream | undefined> {
  const { buffer, signal } = options;
  let waitUntil: number | undefined;
  for (;;) {
    const upstream = pool.acquire(tried);
    if (upstream !== undefined) {
      if (options.accepts === undefined || options.accepts(upstream)) return upstream;
      // Not one for this request: give its slot back and never draw it again for this request.
      pool.release(upstream, true);
      tried.add(upstream);
      continue;
    }
    // Some replica could take it but not this request (all tried, or probes taken): no wait.
    if (buffer === undefined || buffer.maxRequests === 0 || pool.available) return undefined;
    if (pool.waiting >= buffer.maxRequests) {
      options.metrics?.bufferOverflowed();
      throw new BerthError(
        'BERTH_ERR_GATEWAY_NO_UPSTREAM',
        `no replica is ready and ${buffer.maxRequests} requests already wait for one (resilience.buffer.maxRequests); retry later`,
      );
    }
    const now = performance.now();
    waitUntil ??= now + buffer.maxWaitMs;
    const left = Math.min(waitUntil, options.deadline) - now;
    options.metrics?.bufferEntered();
    const came = left > 0 && (await pool.whenAvailable(left, signal));
    options.metrics?.bufferLeft((performance.now() - now) / 1000);
    if (!came) {
      if (performance.now() >= options.deadline) throw timedOut();
      if (signal?.aborted === true) throw callerGone();
      if (pool.closed) throw new BerthError('BERTH_ERR_SERVER_SHUTTING_DOWN', 'the gateway is shutting down');
      throw new BerthError(
        'BERTH_ERR_GATEWAY_NO_UPSTREAM',
        `no replica became ready within ${Math.round(buffer.maxWaitMs / 1000)} s (resilience.buffer.maxWait); retry later`,
      );
    }
  }
}

export function timedOut(): BerthError {
  return new BerthError('BERTH_ERR_GATEWAY_TIMEOUT', 'the deadline passed before a replica answered');
}

export function callerGone(): BerthError {
  return new BerthError(
    'BERTH_ERR_SCHEDULER_CANCELLED',
    'the client went away while its request waited for a replica',
  );
}

export function noUpstream(): BerthError {
  return new BerthError('BERTH_ERR_GATEWAY_NO_UPSTREAM', 'no replica can take the request now; retry later');
}
