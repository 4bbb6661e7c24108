/**
 * gRPC calls forwarded to a replica as they came: the message bytes are passed through, never
 * decoded or re-encoded, with the rules of the REST forwarder (http-forward.ts):
 *
 * - the replica is the pool's choice (balancing, ejection, breakers); `release(upstream, ok)`
 *   says ok=false only for the replica's own faults (UNAVAILABLE, INTERNAL, UNKNOWN, a deadline);
 * - a call goes to another replica, only where it is safe: the connection was refused or never
 *   made (nothing was sent), the replica answered UNAVAILABLE with BERTH_ERR_SERVER_SHUTTING_DOWN
 *   (it drains), and, for calls without side effects (inference, metadata, health, statistics,
 *   the index; not repository load or unload), a connection lost before the answer;
 * - moving a call off such a replica is a failover: the replica leaves the balancer
 *   (`pool.markLost`) until an active health check passes, and a failover draws nothing from
 *   the retry budget;
 * - an attempt past `perTryTimeoutMs` (a hung or overloaded replica) is cancelled and counts as
 *   the replica's failure, and a call without side effects is retried on another replica: a
 *   retry of work the first may still do, so it draws on the retry budget, which is what keeps
 *   retries from turning into a storm. A replica's own error is its answer, never retried;
 * - the deadline (the caller's grpc-timeout, capped by the gateway's timeout) is propagated to
 *   the replica; past it the call ends DEADLINE_EXCEEDED with BERTH_ERR_GATEWAY_TIMEOUT.
 *
 * The replica's response metadata, trailers, status and details (its `berth-error-code`
 * included) are what the caller gets, less what belongs to one HTTP/2 hop.
 */
import { status as grpcStatus, type Metadata, type StatusObject } from '@grpc/grpc-js';
import { BerthError, ERROR_CODE_KEY, GRPC_STATUS, isErrorCode } from '../ground/index.js';
import type { GatewayMetrics } from './gateway-metrics.js';
import type { GrpcChannels } from './grpc-channels.js';
import type { RetryBudget } from './retry-budget.js';
import { acquireUpstream, noUpstream, timedOut, type BufferPolicy } from './upstream-acquire.js';
import type { Upstream, UpstreamPool } from './upstream-pool.js';

/**
 * Metadata that belongs to one HTTP/2 hop or to gRPC's framing, not to the call: each hop sets
 * its own (grpc-js sets the timeout, encodings, content type and user agent of the next one).
 */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'host',
  'te',
  'content-type',
  'content-length',
  'user-agent',
  'date',
  'accept-encoding',
  'grpc-timeout',
  'grpc-encoding',
  'grpc-accept-encoding',
  'grpc-status',
  'grpc-message',
]);

/** A copy of `metadata` without pseudo-headers and what belongs to one hop; every value kept. */
export function forwardedMetadata(metadata: Metadata): Metadata {
  const out = metadata.clone();
  for (const key of Object.keys(out.getMap())) {
    if (key.startsWith(':') || HOP_BY_HOP.has(key)) out.remove(key);
  }
  return out;
}

/**
 * Calls without side effects: safe to send again after a connection was lost before the answer.
 * A method not named here is not (a new one is a decision, and gateway-grpc.test.ts asks for it).
 */
const IDEMPOTENT = new Set([
  'ServerLive',
  'ServerReady',
  'ModelReady',
  'ServerMetadata',
  'ModelMetadata',
  'ModelInfer',
  'ModelConfig',
  'ModelStatistics',
  'RepositoryIndex',
]);

export function isIdempotent(method: string): boolean {
  return IDEMPOTENT.has(method);
}

/** What a replica's status means for the call (see classifyStatus). */
export type AttemptKind = 'answer' | 'draining' | 'refused' | 'lost' | 'timeout';

/** grpc-js's words for a call that never reached a replica: nothing of it was sent. */
const NEVER_SENT =
  /^(No connection established|failed to connect|Name resolution failed|Stream refused by server)/i;

/**
 * How a call's status is taken. A berth replica ends every failure it answers with its
 * `berth-error-code`; a status without one is grpc-js's own, about the connection or the deadline.
 *
 * @example
 * classifyStatus({ code: 14, details: 'Connection dropped', errorCode: undefined }); // 'lost'
 */
export function classifyStatus(status: {
  readonly code: number;
  readonly details: string;
  readonly errorCode: string | undefined;
  /** The gateway cancelled the call itself (its caller left, or it stopped the attempt). */
  readonly cancelledHere?: boolean;
}): AttemptKind {
  if (status.code === GRPC_STATUS.OK) return 'answer';
  if (isErrorCode(status.errorCode)) {
    const draining =
      status.code === GRPC_STATUS.UNAVAILABLE && status.errorCode === 'BERTH_ERR_SERVER_SHUTTING_DOWN';
    return draining ? 'draining' : 'answer';
  }
  // A call the gateway did not cancel was cut by the replica's side: a replica stopping
  // (grpc-js's forced shutdown resets the streams it still holds) ends it CANCELLED.
  if (status.code === GRPC_STATUS.CANCELLED) return status.cancelledHere === true ? 'answer' : 'lost';
  if (status.code === GRPC_STATUS.DEADLINE_EXCEEDED) return 'timeout';
  if (status.code === GRPC_STATUS.UNAVAILABLE) return NEVER_SENT.test(status.details) ? 'refused' : 'lost';
  return 'answer';
}

/** Whether a status ending a call is the replica's fault (its breaker and ejection count it). */
export function isUpstreamFault(code: number): boolean {
  return (
    code === GRPC_STATUS.UNAVAILABLE ||
    code === GRPC_STATUS.INTERNAL ||
    code === GRPC_STATUS.UNKNOWN ||
    code === GRPC_STATUS.DEADLINE_EXCEEDED
  );
}

/** The berth code a status carries in its trailers, if any. */
export function errorCodeOf(metadata: Metadata | null | undefined): string | undefined {
  const [code] = metadata?.get(ERROR_CODE_KEY) ?? [];
  return typeof code === 'string' ? code : undefined;
}

/**
 * Milliseconds a call may take: the caller's deadline (grpc-js gives Infinity for none), capped
 * by `capMs` (Infinity: no cap).
 */
export function remainingMs(callerDeadline: Date | number, nowEpochMs: number, capMs: number): number {
  const given = callerDeadline instanceof Date ? callerDeadline.getTime() : callerDeadline;
  return Math.max(0, Math.min(capMs, given - nowEpochMs));
}

export interface GrpcForwardOptions {
  readonly pool: UpstreamPool;
  readonly channels: GrpcChannels;
  /** Retries of one call at most (resilience.retries). */
  readonly retries: number;
  readonly budget: RetryBudget;
  readonly buffer: BufferPolicy | undefined;
  /** Longest one unary attempt may take (resilience.perTryTimeout); undefined: up to the deadline. */
  readonly perTryTimeoutMs?: number | undefined;
  readonly metrics?: GatewayMetrics | undefined;
}

export interface UnaryRequest {
  /** The method's name in the service, e.g. ModelInfer. */
  readonly method: string;
  readonly path: string;
  readonly message: Buffer;
  /** Already forwardedMetadata()'s. */
  readonly metadata: Metadata;
  /** When the caller stops waiting, on performance.now()'s clock. */
  readonly deadline: number;
  readonly signal: AbortSignal;
}

export interface UnaryAnswer {
  /** The replica's status; its metadata is the trailers, as forwardedMetadata() leaves them. */
  readonly status: StatusObject;
  /** Its response metadata (headers), when it sent any. */
  readonly headers: Metadata | undefined;
  readonly message: Buffer | undefined;
  readonly upstream: string;
  readonly attempts: number;
}

interface Attempt {
  readonly status: StatusObject;
  readonly headers: Metadata | undefined;
  readonly message: Buffer | undefined;
  /** Cancelled here at perTryTimeoutMs, with time left before the deadline. */
  readonly slow: boolean;
}

const identity = (bytes: Buffer): Buffer => bytes;

/** Sends unary calls on, attempt after attempt, by the rules at the top of this file. */
export class GrpcForwarder {
  constructor(private readonly options: GrpcForwardOptions) {}

  async forward(request: UnaryRequest): Promise<UnaryAnswer> {
    const { pool, budget, retries, metrics } = this.options;
    const sideEffectFree = isIdempotent(request.method);
    const tried = new Set<Upstream>();
    let failure: BerthError | undefined;
    /** Whether the last attempt's replica is gone from the balancer (a failover, not a retry). */
    let failover = false;
    budget.requestStarted();
    try {
      for (let attempt = 0; attempt <= retries; attempt++) {
        if (performance.now() >= request.deadline) throw timedOut();
        if (request.signal.aborted) break;
        const retrying = attempt > 0 && !failover;
        if (retrying && !budget.tryRetry()) {
          metrics?.retryBudgetExhausted();
          break;
        }
        failover = false;
        try {
          const upstream = await this.acquire(tried, request);
          if (upstream === undefined) {
            if (failure !== undefined) break;
            throw noUpstream();
          }
          tried.add(upstream);
          const started = performance.now();
          const result = await this.send(upstream, upstream.grpc ?? '', request);
          metrics?.attemptEnded(upstream.id, (performance.now() - started) / 1000);
          if (result.slow) {
            pool.release(upstream, false);
            failure = new BerthError(
              'BERTH_ERR_GATEWAY_TIMEOUT',
              `replica ${upstream.id} did not answer within the per-try timeout of ${this.options.perTryTimeoutMs} ms`,
            );
            if (!sideEffectFree) break;
            metrics?.retried('timeout');
            continue;
          }
          const kind = classifyStatus({
            ...result.status,
            errorCode: errorCodeOf(result.status.metadata),
            cancelledHere: request.signal.aborted,
          });
          if (kind === 'timeout') {
            pool.release(upstream, false);
            throw timedOut();
          }
          if (kind === 'refused' || kind === 'lost') {
            pool.release(upstream, false);
            pool.markLost(upstream);
            failover = true;
            failure = new BerthError(
              'BERTH_ERR_GATEWAY_UPSTREAM_FAILED',
              `replica ${upstream.id} did not answer: ${result.status.details}`,
            );
            if (kind === 'refused' || sideEffectFree) {
              metrics?.retried(kind === 'refused' ? 'refused' : 'reset');
              continue;
            }
            break;
          }
          pool.release(upstream, kind === 'draining' || !isUpstreamFault(result.status.code));
          if (kind === 'draining') {
            // It refused the call before taking it: another replica may answer.
            pool.markLost(upstream);
            failover = true;
            if (attempt < retries) {
              failure = new BerthError('BERTH_ERR_GATEWAY_NO_UPSTREAM', `replica ${upstream.id} is draining`);
              metrics?.retried('draining');
              continue;
            }
          }
          return {
            status: { ...result.status, metadata: forwardedMetadata(result.status.metadata) },
            headers: result.headers === undefined ? undefined : forwardedMetadata(result.headers),
            message: result.message,
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

  /** A replica that serves gRPC, waiting in the buffer while none can take the call. */
  acquire(
    tried: Set<Upstream>,
    request: { readonly deadline: number; readonly signal: AbortSignal },
  ): Promise<Upstream | undefined> {
    return acquireUpstream(this.options.pool, tried, {
      buffer: this.options.buffer,
      deadline: request.deadline,
      signal: request.signal,
      accepts: (upstream) => upstream.grpc !== undefined,
      metrics: this.options.metrics,
    });
  }

  private send(upstream: Upstream, address: string, request: UnaryRequest): Promise<Attempt> {
    const lease = this.options.channels.lease(upstream, address);
    const remaining = Math.max(1, request.deadline - performance.now());
    const perTry = this.options.perTryTimeoutMs;
    return new Promise<Attempt>((resolve) => {
      let headers: Metadata | undefined;
      let message: Buffer | undefined;
      let slow = false;
      const call = lease.client.makeUnaryRequest(
        request.path,
        identity,
        identity,
        request.message,
        request.metadata.clone(),
        { deadline: Date.now() + remaining },
        (_error, value) => {
          message = value;
        },
      );
      const cancel = () => call.cancel();
      // The replica is told the call's whole deadline; past the per-try time it is cancelled
      // (which drops it from the replica's queue) and tried elsewhere.
      const timer =
        perTry !== undefined && perTry < remaining
          ? setTimeout(() => {
              slow = true;
              cancel();
            }, perTry)
          : undefined;
      call.on('metadata', (received: Metadata) => {
        headers = received;
      });
      // grpc-js emits the status right after the callback, with the trailers.
      call.on('status', (status: StatusObject) => {
        clearTimeout(timer);
        request.signal.removeEventListener('abort', cancel);
        lease.done();
        resolve({ status, headers, message, slow: slow && status.code === grpcStatus.CANCELLED });
      });
      if (request.signal.aborted) cancel();
      else request.signal.addEventListener('abort', cancel, { once: true });
    });
  }
}
