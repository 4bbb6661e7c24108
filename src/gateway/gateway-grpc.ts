/**
 * The gateway's gRPC front: every RPC of `inference.GRPCInferenceService`, as the schema in
 * protocol/grpc-schema.ts lists them, forwarded to the replicas as bytes (grpc-forward.ts,
 * grpc-forward-stream.ts), and the standard `grpc.health.v1.Health` answered by the gateway
 * itself: SERVING while some replica can take a call, NOT_SERVING otherwise.
 *
 * While a rollout runs (tracks.ts), ModelInfer calls are split between the tracks by
 * track-split.ts, as REST inferences are: the candidate answers its share, `x-berth-track`
 * metadata pins a call to a track, a canaried call that fails with a server fault is answered by
 * the stable version, shadow copies go to the candidate off the caller's path, and answers are
 * compared (decoded ModelInferResponse messages) when the rollout asks for prediction agreement.
 * Streams (ModelStreamInfer) and every other RPC go to the stable version. Each unary call counts
 * in the gateway's request metrics by the model it names, its track and its status.
 *
 * Server reflection (v1 and v1alpha) is answered by the gateway itself from the same schemas a
 * replica reflects (protocol/grpc-reflection.ts), so grpcurl needs no .proto file here either.
 */
import { randomUUID } from 'node:crypto';
import type { ServerCredentials } from '@grpc/grpc-js';
import {
  Server,
  status,
  type Metadata,
  type sendUnaryData,
  type ServerDuplexStream,
  type ServerUnaryCall,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { InFlightCount } from '../ground/index.js';
import {
  addReflection,
  BerthError,
  HEALTH_SERVICE,
  healthMethods,
  INFERENCE_SERVICE,
  inferenceMethods,
  protobufStringField,
  REFLECTED_FILES,
  toBerthError,
} from '../protocol/index.js';
import {
  credentialsOf,
  grpcCertificateSubject,
  grpcServerCredentials,
  type TlsFiles,
} from '../access/index.js';
import { grpcOperation, type GatewayAccess } from './gateway-access.js';
import { startHealthChecks, type HealthCheckPolicy } from './active-health.js';
import { GatewayHealth } from './gateway-grpc-health.js';
import type { GatewayMetrics } from './gateway-metrics.js';
import { GrpcChannels } from './grpc-channels.js';
import { PerPool } from './per-pool.js';
import {
  forwardedMetadata,
  GrpcForwarder,
  remainingMs,
  type UnaryAnswer,
  type UnaryRequest,
} from './grpc-forward.js';
import { forwardStream } from './grpc-forward-stream.js';
import { compareGrpcAnswers } from './grpc-compare.js';
import { httpStatusOfGrpc, statusOf } from './grpc-status.js';
import { RetryBudget, type RetryBudgetPolicy } from './retry-budget.js';
import { TrackSplit } from './track-split.js';
import { TRACK_HEADER, type Tracks } from './tracks.js';
import type { UpstreamPool } from './upstream-pool.js';

export interface GatewayGrpcOptions {
  readonly pool: UpstreamPool;
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** Longest a unary call may take (a caller's shorter grpc-timeout wins). */
  readonly timeoutMs: number;
  readonly retries: number;
  readonly retryBudget: RetryBudgetPolicy;
  /** Largest message taken from a caller or a replica, in bytes (RESOURCE_EXHAUSTED past it). */
  readonly maxMessageBytes: number;
  /** Calls that may wait when no replica is ready (resilience.buffer). */
  readonly buffer?: { readonly maxRequests: number; readonly maxWaitMs: number };
  /** Longest one unary attempt at a replica may take (resilience.perTryTimeout). */
  readonly perTryTimeoutMs?: number;
  /**
   * Active health checks of the pool's upstreams, which bring back one marked lost. Default
   * none: where the REST front shares the pool (berth up), it runs them; give a policy when the
   * gRPC front runs alone.
   */
  readonly healthCheck?: HealthCheckPolicy | false;
  /** An upstream's active health changed (with `healthCheck`). */
  readonly onHealth?: (id: string, verdict: 'healthy' | 'unhealthy') => void;
  /**
   * The gateway's metrics (the REST front's, to share them): requests by model, track and status,
   * attempts, retries, the buffer.
   */
  readonly metrics?: GatewayMetrics;
  /** A refusal of the gateway's own (never a message or a credential). */
  readonly onError?: (error: BerthError, requestId: string) => void;
  /** The rollout's traffic split (the REST front's, to share it); none: every call to `pool`. */
  readonly tracks?: Tracks;
  readonly random?: () => number;
  /** API keys, roles and rate limits (gateway-access.ts); absent for none. */
  readonly access?: GatewayAccess;
  /** Serve gRPC over TLS (mTLS with a client CA) from these watched files; plaintext without. */
  readonly tls?: TlsFiles;
}

export interface RunningGatewayGrpc {
  /** host:port */
  readonly address: string;
  readonly port: number;
  /** Refuses new calls and resolves when the calls in flight have their answers. */
  close(): Promise<void>;
  /** Cuts every call and connection now: the end of a drain that took too long. */
  closeAll(): void;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const identity = (bytes: Buffer): Buffer => bytes;

/**
 * @example
 * const grpc = await startGatewayGrpc({ pool, host: '127.0.0.1', port: 8001, timeoutMs: 30_000, retries: 2, retryBudget: DEFAULT_RETRY_BUDGET, maxMessageBytes: 64 << 20 });
 * // grpc://127.0.0.1:8001 now reaches the replicas; grpc.close() when done
 */
export async function startGatewayGrpc(options: GatewayGrpcOptions): Promise<RunningGatewayGrpc> {
  const { pool, tracks } = options;
  const random = options.random ?? Math.random;
  const budget = new RetryBudget(options.retryBudget);
  const routes = new PerPool<Route>(
    pool,
    tracks,
    (of, stable) => {
      const channels = new GrpcChannels(of, { maxMessageBytes: options.maxMessageBytes });
      const forwarder = new GrpcForwarder({
        pool: of,
        channels,
        retries: options.retries,
        budget,
        // Only the stable track waits for a replica: a candidate that cannot take a call now
        // counts as failing it, and the stable version answers instead.
        buffer: stable ? options.buffer : { maxRequests: 0, maxWaitMs: 0 },
        perTryTimeoutMs: options.perTryTimeoutMs,
        metrics: options.metrics,
      });
      return { channels, forwarder };
    },
    (route) => route.channels.close(),
  );
  const routeOf = (of: UpstreamPool): Route => routes.of(of);
  const { channels, forwarder } = routeOf(pool);
  const split =
    tracks === undefined
      ? undefined
      : new TrackSplit<UnaryRequest, UnaryAnswer>(
          tracks,
          {
            send: (of, request) => routeOf(of).forwarder.forward(request),
            status: (answer) => httpStatusOfGrpc(answer.status.code),
            compare: compareGrpcAnswers,
            // A copy is the gateway's, not the caller's: it goes on when the caller leaves.
            copy: (request) => ({
              ...request,
              metadata: request.metadata.clone(),
              deadline: performance.now() + options.timeoutMs,
              signal: new AbortController().signal,
            }),
            onShadow: (request, answer, ms) =>
              options.metrics?.requestEnded(
                modelOf(request.method, request.message),
                'shadow',
                httpStatusOfGrpc(answer.status.code),
                ms / 1000,
              ),
          },
          random,
        );
  const checks =
    options.healthCheck === undefined || options.healthCheck === false
      ? undefined
      : startHealthChecks(pool, options.healthCheck, options.onHealth);
  const calls = new InFlightCount();
  const server = new Server({
    'grpc.max_receive_message_length': options.maxMessageBytes,
    'grpc.max_send_message_length': options.maxMessageBytes,
  });

  const refused = (error: unknown, requestId: string) => {
    const berth = toBerthError(error);
    options.onError?.(berth, requestId);
    return statusOf(berth);
  };

  const unary =
    (method: string, path: string) =>
    (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
      const end = calls.begin();
      const started = performance.now();
      const { metadata, requestId } = callMetadata(call.metadata);
      const answered = (track: 'stable' | 'canary', code: number) =>
        options.metrics?.requestEnded(
          modelOf(method, call.request),
          track,
          httpStatusOfGrpc(code),
          (performance.now() - started) / 1000,
        );
      const gone = new AbortController();
      call.once('cancelled', () => gone.abort());
      const ms = remainingMs(call.getDeadline(), Date.now(), options.timeoutMs);
      const request: UnaryRequest = {
        method,
        path,
        message: call.request,
        metadata,
        deadline: performance.now() + ms,
        signal: gone.signal,
      };
      const [pinned] = metadata.get(TRACK_HEADER);
      const forward = () =>
        method === 'ModelInfer' && split !== undefined
          ? split.forward(request, typeof pinned === 'string' ? pinned : undefined)
          : forwarder.forward(request).then((answer) => ({ answer, track: 'stable' as const }));
      const operation = options.access === undefined ? undefined : grpcOperation(method, call.request);
      // The rate limits' RateLimit fields, added to the replica's trailers.
      const fields: Record<string, string> = {};
      (options.access === undefined || operation === undefined
        ? forward()
        : options.access.run(
            {
              ...operation,
              credentials: callerCredentials(metadata, call),
              peer: call.getPeer(),
              requestId,
              transport: 'grpc',
              answerFields: { set: (name, value) => (fields[name] = value) },
            },
            forward,
          )
      )
        .then(
          ({ answer, track }) => {
            answered(track, answer.status.code);
            if (call.cancelled) return;
            if (answer.headers !== undefined) call.sendMetadata(answer.headers);
            const { code, details, metadata: trailers } = answer.status;
            for (const name in fields) trailers.set(name, fields[name] as string);
            if (code !== status.OK) callback({ code, details, metadata: trailers });
            else if (answer.message === undefined) {
              callback({ code: status.UNIMPLEMENTED, details: 'No message received', metadata: trailers });
            } else callback(null, answer.message, trailers);
          },
          (error: unknown) => {
            const answer = refused(error, requestId);
            answered('stable', answer.code);
            if (!call.cancelled) callback(answer);
          },
        )
        .finally(end);
    };

  const stream = (path: string) => (call: ServerDuplexStream<Buffer, Buffer>) => {
    const end = calls.begin();
    const { metadata, requestId } = callMetadata(call.metadata);
    const ms = remainingMs(call.getDeadline(), Date.now(), Infinity);
    const open = () =>
      new Promise<void>((resolve) => {
        forwardStream(
          { pool, channels, forwarder, retries: options.retries, maxReplayBytes: options.maxMessageBytes },
          call,
          { path, metadata, deadline: performance.now() + ms },
          (error) => {
            if (error !== undefined) options.onError?.(error, requestId);
            end();
            resolve();
          },
        );
      });
    if (options.access === undefined) {
      void open();
      return;
    }
    // A stream's messages go on as bytes, each naming its own model: opening one is an infer
    // call on every model, so a key limited to some models may not (it can use ModelInfer).
    options.access
      .run(
        {
          operation: 'infer',
          model: '*',
          credentials: callerCredentials(metadata, call),
          peer: call.getPeer(),
          requestId,
          transport: 'grpc',
        },
        open,
      )
      .catch((error: unknown) => {
        const answer = refused(error, requestId);
        end();
        if (!call.cancelled) call.emit('error', answer);
      });
  };

  const health = new GatewayHealth(pool);
  const release = () => {
    checks?.stop();
    routes.closeAll();
  };
  let port: number;
  let address: string;
  try {
    ({ port, address } = await listen(
      server,
      options.host,
      options.port,
      health,
      { unary, stream },
      grpcServerCredentials(options.tls),
    ));
  } catch (error) {
    release();
    throw error;
  }

  let closing: Promise<void> | undefined;
  return {
    address,
    port,
    close: () =>
      (closing ??= (async () => {
        health.endWatches();
        // New calls are refused from here; an idle client connection would hold tryShutdown open
        // forever, so the server is shut once the calls it has are answered.
        const shut = new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
        await Promise.race([calls.idle(), shut]);
        server.forceShutdown();
        release();
      })()),
    closeAll: () => {
      health.endWatches();
      server.forceShutdown();
      release();
    },
  };
}

/** What the caller sent to authenticate: a bearer key or token in its metadata, or its client certificate. */
function callerCredentials(
  metadata: Metadata,
  call: Parameters<typeof grpcCertificateSubject>[0],
): ReturnType<typeof credentialsOf> {
  return credentialsOf(
    metadata.get('authorization')[0],
    metadata.get('x-api-key')[0],
    grpcCertificateSubject(call),
  );
}

/** RPCs whose request names a model in its field 1 (`name`, or ModelInfer's `model_name`). */
const NAMES_A_MODEL = new Set([
  'ModelReady',
  'ModelMetadata',
  'ModelInfer',
  'ModelConfig',
  'ModelStatistics',
]);

/** The model a unary call names, read from its bytes, or "" for one that names none (as REST's routes). */
function modelOf(method: string, message: Buffer): string {
  return NAMES_A_MODEL.has(method) ? protobufStringField(message, 1) : '';
}

interface Route {
  readonly channels: GrpcChannels;
  readonly forwarder: GrpcForwarder;
}

/** The caller's metadata to send on, with its x-request-id (the caller's, or a new one). */
function callMetadata(given: Metadata): { metadata: Metadata; requestId: string } {
  const metadata = forwardedMetadata(given);
  const [id] = metadata.get('x-request-id');
  const requestId = typeof id === 'string' && REQUEST_ID.test(id) ? id : randomUUID();
  metadata.set('x-request-id', requestId);
  return { metadata, requestId };
}

/**
 * Registers every RPC of the inference service (bytes in, bytes out), the health service and
 * reflection on `server`, and listens.
 */
async function listen(
  server: Server,
  host: string,
  port: number,
  health: GatewayHealth,
  make: {
    readonly unary: (method: string, path: string) => UntypedServiceImplementation[string];
    readonly stream: (path: string) => UntypedServiceImplementation[string];
  },
  serverCredentials: ServerCredentials,
): Promise<{ port: number; address: string }> {
  const definition: Record<string, ServiceDefinition[string]> = {};
  const handlers: UntypedServiceImplementation = {};
  for (const [name, method] of Object.entries(inferenceMethods())) {
    if (method.requestStream !== method.responseStream) {
      // No such RPC in the schema today; a new one must be forwarded on purpose, not dropped.
      throw new BerthError(
        'BERTH_ERR_INTERNAL',
        `the gateway cannot forward ${method.path}: one-way streams`,
      );
    }
    definition[name] = {
      path: method.path,
      requestStream: method.requestStream,
      responseStream: method.responseStream,
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
    };
    handlers[name] = method.requestStream ? make.stream(method.path) : make.unary(name, method.path);
  }
  server.addService(definition, handlers);
  server.addService(healthMethods(), health.handlers());
  addReflection(server, REFLECTED_FILES, [INFERENCE_SERVICE, HEALTH_SERVICE]);

  const address = host.includes(':') ? `[${host}]` : host;
  const bound = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${address}:${port}`, serverCredentials, (error, given) => {
      if (error === null) resolve(given);
      else {
        reject(
          new BerthError(
            'BERTH_ERR_SERVER_LISTEN_FAILED',
            `cannot listen for gRPC on ${address}:${port}: ${error.message}`,
            { cause: error },
          ),
        );
      }
    });
  });

  return { port: bound, address: `${address}:${bound}` };
}
