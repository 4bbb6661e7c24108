/**
 * The gateway's REST front: the Open Inference Protocol's routes, forwarded to the replicas
 * (http-forward.ts), except the gateway's own health (live while it runs, ready while some
 * stable replica can take a request) and metrics. Every answer carries the request's
 * `x-request-id` (the client's, or one made here and sent on to the replica), and every refusal
 * the protocol's JSON error with its `berth-error-code`.
 *
 * While a rollout runs (tracks.ts), inference requests are split between the tracks by
 * track-split.ts, the same for the gRPC front: a canaried one that fails with a server error is
 * answered by the stable version instead, and shadow copies and the stable copies of canaried
 * requests are sent off the caller's path, their answers compared (answer-compare.ts).
 */
import { randomUUID } from 'node:crypto';
import type { OutgoingHttpHeaders } from 'node:http';
import { BerthError, ERROR_CODE_KEY, httpStatusOf, toBerthError } from '../ground/index.js';
import { DEFAULT_HEALTH_CHECK, startHealthChecks, type HealthCheckPolicy } from './active-health.js';
import { createGatewayMetrics, type GatewayMetrics } from './gateway-metrics.js';
import { compareRaw } from './answer-compare.js';
import { credentialsOf, type TlsFiles } from '../access/index.js';
import { restOperation, type GatewayAccess } from './gateway-access.js';
import { startHttp1Front, type FrontAnswer, type FrontRequest } from './http1-front.js';
import type { Http1RequestError } from './http1-request.js';
import { HttpForwarder, type ForwardedResponse, type ForwardRequest } from './http-forward.js';
import { PerPool } from './per-pool.js';
import { RetryBudget, type RetryBudgetPolicy } from './retry-budget.js';
import { TrackSplit } from './track-split.js';
import { TRACK_HEADER, Tracks, type TrackName } from './tracks.js';
import type { UpstreamPool } from './upstream-pool.js';

export interface GatewayHttpOptions {
  /** The stable replicas. */
  readonly pool: UpstreamPool;
  /** The rollout's traffic split over `pool` and a candidate's; none: every request to `pool`. */
  readonly tracks?: Tracks;
  readonly random?: () => number;
  readonly host: string;
  readonly port: number;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly retryBudget: RetryBudgetPolicy;
  readonly maxBodyBytes: number;
  /** Longest one attempt at a replica may take (resilience.perTryTimeout). */
  readonly perTryTimeoutMs?: number;
  /** Active health checks of the pool's upstreams; false: the caller runs them. Default 1 s / 1 s / 2. */
  readonly healthCheck?: HealthCheckPolicy | false;
  /** An upstream's active health changed. */
  readonly onHealth?: (id: string, verdict: 'healthy' | 'unhealthy') => void;
  /** The gateway's metrics, served at GET /metrics; one is made when not given. */
  readonly metrics?: GatewayMetrics;
  /** Requests that may wait when no replica is ready (resilience.buffer). */
  readonly buffer?: { readonly maxRequests: number; readonly maxWaitMs: number };
  /** A refusal's log line (never the body or a credential). */
  readonly onError?: (error: BerthError, requestId: string) => void;
  /** API keys, roles and rate limits (gateway-access.ts); absent for none. */
  readonly access?: GatewayAccess;
  /** Serve HTTPS (mTLS with a client CA) from these watched files; plain HTTP without. */
  readonly tls?: TlsFiles;
}

export interface RunningGateway {
  readonly url: string;
  readonly port: number;
  /** Stops listening and resolves when the requests in flight are answered. */
  close(): Promise<void>;
  /** Cuts every connection now: the end of a drain that took too long. */
  closeAll(): void;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * @example
 * const gateway = await startGatewayHttp({ pool, host: '127.0.0.1', port: 8000, timeoutMs: 30_000, retries: 2, retryBudget: DEFAULT_RETRY_BUDGET, maxBodyBytes: 64 << 20 });
 */
export async function startGatewayHttp(options: GatewayHttpOptions): Promise<RunningGateway> {
  const metrics =
    options.metrics ??
    createGatewayMetrics({
      collect: () => ({ upstreams: options.pool.view(), desired: options.pool.view().length }),
    });
  const forwarderOptions = {
    retries: options.retries,
    budget: new RetryBudget(options.retryBudget),
    maxResponseBytes: options.maxBodyBytes,
    metrics,
    ...(options.buffer === undefined ? {} : { buffer: options.buffer }),
    ...(options.perTryTimeoutMs === undefined ? {} : { perTryTimeoutMs: options.perTryTimeoutMs }),
  };
  const tracks = options.tracks ?? new Tracks(options.pool);
  const forwarders = new PerPool<HttpForwarder>(
    options.pool,
    tracks,
    // Only the stable track waits for a replica: a candidate that cannot take a request now
    // counts as failing it, and the stable version answers instead.
    (pool, stable) =>
      new HttpForwarder(
        pool,
        stable ? forwarderOptions : { ...forwarderOptions, buffer: { maxRequests: 0, maxWaitMs: 0 } },
      ),
    (forwarder) => forwarder.close(),
  );
  const forwarderOf = (pool: UpstreamPool): HttpForwarder => forwarders.of(pool);
  const checks =
    options.healthCheck === false
      ? undefined
      : startHealthChecks(options.pool, options.healthCheck ?? DEFAULT_HEALTH_CHECK, options.onHealth);
  const split = new TrackSplit<ForwardRequest, ForwardedResponse>(
    tracks,
    {
      send: (pool, forward) => forwarderOf(pool).forward(forward),
      status: (answer) => answer.status,
      compare: compareRaw,
      // A copy is the gateway's, not the caller's: it goes on when the caller leaves.
      copy: ({ signal: _callers, ...forward }) => ({
        ...forward,
        deadline: performance.now() + options.timeoutMs,
      }),
      onShadow: (forward, answer, ms) =>
        metrics.requestEnded(modelOf(forward.path), 'shadow', answer.status, ms / 1000),
    },
    options.random ?? Math.random,
  );
  const gateway: Gateway = { options, forwarderOf, metrics, split, tracks };
  const front = await startHttp1Front(
    {
      host: options.host,
      port: options.port,
      maxBodyBytes: options.maxBodyBytes,
      ...(options.tls === undefined ? {} : { tls: options.tls }),
      refusal: (refused) => errorAnswer(refusalError(refused), randomUUID()),
    },
    (request) => {
      const started = performance.now();
      const given = request.headers['x-request-id'];
      const requestId = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
      request.headers['x-request-id'] = requestId;
      // Promises passed on, not awaited in async wrappers: each wrapper would add microtask turns.
      return handle(gateway, request, requestId, started).catch((error: unknown) => {
        const berth = toBerthError(error);
        options.onError?.(berth, requestId);
        const answer = errorAnswer(berth, requestId);
        recordRequest(gateway, request, answer.status, started);
        return answer;
      });
    },
  );
  return {
    url: `${options.tls === undefined ? 'http' : 'https'}://${options.host}:${front.port}`,
    port: front.port,
    close: async () => {
      checks?.stop();
      forwarders.closeAll();
      await front.close();
    },
    closeAll: () => front.closeAll(),
  };
}

interface Gateway {
  readonly options: GatewayHttpOptions;
  readonly forwarderOf: (pool: UpstreamPool) => HttpForwarder;
  readonly metrics: GatewayMetrics;
  /** Inference requests, split between the rollout's tracks. */
  readonly split: TrackSplit<ForwardRequest, ForwardedResponse>;
  readonly tracks: Tracks;
}

const INFER_ROUTE = /^\/v2\/models\/[^/?]+(?:\/versions\/[^/?]+)?\/infer(?:\?|$)/;

/** The model a route names (`/v2/models/NAME[/versions/V]/...`), or "" for one that names none. */
function modelOf(path: string): string {
  const match = /^\/v2\/models\/([^/?]+)/.exec(path);
  if (match?.[1] === undefined) return '';
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return match[1];
  }
}

function recordRequest(
  gateway: Gateway,
  request: FrontRequest,
  status: number,
  started: number,
  track: TrackName = 'stable',
): void {
  gateway.metrics.requestEnded(modelOf(request.target), track, status, (performance.now() - started) / 1000);
}

function handle(
  gateway: Gateway,
  request: FrontRequest,
  requestId: string,
  started: number,
): Promise<FrontAnswer> {
  const { options, metrics } = gateway;
  const path = request.target;
  const access = options.access;
  const answer = () => answerOf(gateway, request, requestId, started);
  if (access === undefined && !(request.method === 'GET' && path.startsWith('/metrics'))) return answer();
  const route = path.split('?')[0] ?? '/';
  const credentials =
    access === undefined
      ? undefined
      : credentialsOf(
          request.headers.authorization,
          request.headers['x-api-key'],
          request.certificateSubject,
        );
  if (request.method === 'GET' && route === '/metrics') {
    return (async () => {
      await access?.check(credentials, 'metrics', '/metrics');
      const text = await metrics.metrics();
      return {
        status: 200,
        headers: { 'content-type': metrics.contentType, 'x-request-id': requestId },
        body: text,
      };
    })();
  }
  if (access === undefined) return answer();
  const operation = restOperation(request.method, path);
  if (operation === undefined) {
    // A route no operation has (the replica answers 404): any valid key may ask.
    return access.check(credentials, undefined, route).then(answer);
  }
  // The rate limits' RateLimit fields, added to the replica's answer.
  const fields: Record<string, string> = {};
  return access
    .run(
      {
        ...operation,
        credentials,
        peer: request.remoteAddress,
        requestId,
        transport: 'http',
        answerFields: { set: (name, value) => (fields[name] = value) },
      },
      answer,
    )
    .then((answered) => {
      for (const name in fields) answered.headers[name] = fields[name];
      return answered;
    });
}

/** The gateway's own health, or the replica's answer to a forwarded request. */
async function answerOf(
  gateway: Gateway,
  request: FrontRequest,
  requestId: string,
  started: number,
): Promise<FrontAnswer> {
  const { options } = gateway;
  const path = request.target;
  const route = path.split('?')[0];
  if (request.method === 'GET' && route === '/v2/health/live') {
    return respond(200, requestId, '{"live":true}');
  }
  if (request.method === 'GET' && route === '/v2/health/ready') {
    const ready = options.pool.available;
    return respond(ready ? 200 : 503, requestId, JSON.stringify({ ready }));
  }
  const forward: ForwardRequest = {
    method: request.method,
    path,
    headers: request.headers,
    body: request.body,
    deadline: performance.now() + options.timeoutMs,
    signal: request.signal,
  };
  const inference = forward.method === 'POST' && INFER_ROUTE.test(path);
  const pinned = request.headers[TRACK_HEADER];
  // Without a rollout every request goes to the stable replicas: no split to decide.
  const { answer, track }: { answer: ForwardedResponse; track: TrackName } =
    inference && gateway.tracks.candidate !== undefined
      ? await gateway.split.forward(forward, typeof pinned === 'string' ? pinned : undefined)
      : { answer: await gateway.forwarderOf(options.pool).forward(forward), track: 'stable' };
  recordRequest(gateway, request, answer.status, started, track);
  // The replica's fields, parsed for this answer alone: the front drops those of its connection.
  answer.headers['x-request-id'] = requestId;
  return answer;
}

function respond(status: number, requestId: string, json: string): FrontAnswer {
  return {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'x-request-id': requestId },
    body: json,
  };
}

function errorAnswer(error: BerthError, requestId: string): FrontAnswer {
  const headers: OutgoingHttpHeaders = {
    'content-type': 'application/json; charset=utf-8',
    'x-request-id': requestId,
    [ERROR_CODE_KEY]: error.code,
  };
  if (error.code === 'BERTH_ERR_GATEWAY_NO_UPSTREAM') headers['retry-after'] = '1';
  if (error.retryAfterSeconds !== undefined) headers['retry-after'] = String(error.retryAfterSeconds);
  if (error.headers !== undefined) Object.assign(headers, error.headers);
  // RFC 9110 11.6.1: a 401 names the scheme that would be accepted.
  if (error.code === 'BERTH_ERR_AUTH_UNAUTHENTICATED') headers['www-authenticate'] = 'Bearer realm="berth"';
  return { status: httpStatusOf(error), headers, body: JSON.stringify({ error: error.message }) };
}

/** A request the front refused before the gateway saw it, as the error registry names it. */
function refusalError(refused: Http1RequestError): BerthError {
  switch (refused.status) {
    case 408:
      return new BerthError('BERTH_ERR_SERVER_TIMEOUT', refused.message);
    case 413:
      return new BerthError('BERTH_ERR_PROTOCOL_BODY_TOO_LARGE', refused.message);
    case 414:
    case 431:
      return new BerthError('BERTH_ERR_PROTOCOL_HEADERS_TOO_LARGE', refused.message);
    case 503:
      return new BerthError('BERTH_ERR_SERVER_SHUTTING_DOWN', refused.message);
    case 400:
    case 417:
    case 501:
    case 505:
      return new BerthError(
        'BERTH_ERR_PROTOCOL_INVALID_REQUEST',
        `malformed HTTP request: ${refused.message}`,
      );
  }
}
