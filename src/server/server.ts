/**
 * One inference server process: the local engine behind the request seam (interceptors), served
 * over REST and gRPC, draining on shutdown. Listening starts while models load, so liveness
 * answers at once and readiness turns true only when loading is done.
 */
import { BerthError, intercept, type DecodeLimits, type Interceptor } from '../protocol/index.js';
import { createServerMetrics, type Logger, type ServerMetrics } from '../observability/index.js';
import { createEngine, type EngineOptions, type LocalEngine, type ModelControl } from '../engine/index.js';
import type { LoadFailure, ModelRegistry } from '../runtime/index.js';
import type { RunningGrpcServer } from './grpc/grpc-server.js';
import { createHttpApp } from './http/http-app.js';
import { requestLog, requestMetrics } from './interceptors/index.js';
import {
  accessControl,
  auditAdmin,
  earlyRefusal,
  rateLimit,
  type Authenticator,
  type AuditLog,
  type RateLimitOptions,
  type TlsFiles,
} from '../access/index.js';
import { roleOf } from './operations.js';

/** Access control: who may call what (docs/security.md). Absent: every caller may call anything. */
export interface ServerAccess {
  readonly keys: Authenticator;
  /** Whether health and readiness need a key too. Default: open, for probes. */
  readonly protectHealth?: boolean;
}

export interface ServeOptions extends Omit<EngineOptions, 'metrics'> {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /**
   * A unix socket path to serve REST on instead of host:port (`berth up`'s replicas: the gateway
   * reaches them without a TCP loopback hop). The gRPC endpoint, if any, stays on host.
   */
  readonly socketPath?: string;
  readonly logger: Logger;
  readonly limits: DecodeLimits & { readonly maxBodyBytes: number };
  /** Longest wait for in-flight requests on shutdown before connections are cut. */
  readonly drainTimeoutMs: number;
  readonly requestTimeoutMs: number;
  /** The gRPC endpoint, on the same host; absent for none. */
  readonly grpc?: {
    /** 0 picks a free port. */
    readonly port: number;
    /** Listen on this unix socket instead of the port (a replica of `berth up`). */
    readonly socketPath?: string;
    /** Largest request message accepted. */
    readonly maxMessageBytes: number;
  };
  /**
   * Interceptors every call passes after request metrics, access control and rate limits and
   * before the request log, outermost first.
   */
  readonly interceptors?: readonly Interceptor[];
  /** API keys and roles, checked before every other interceptor; absent for none. */
  readonly access?: ServerAccess;
  /** HTTPS and gRPC over TLS (mTLS with a client CA) from these watched files; absent for plain. */
  readonly tls?: TlsFiles;
  /** Rate limits and the concurrency cap, checked after access control; absent for none. */
  readonly limitsPerCaller?: Omit<RateLimitOptions, 'roleOf'>;
  /** Where refused authentications and admin operations are recorded; absent for nowhere. */
  readonly audit?: AuditLog;
  /** Origins browsers may call REST from (CORS), or `*`; absent for none. */
  readonly corsOrigins?: readonly string[];
}

export interface RunningServer {
  /** Base URL, e.g. http://127.0.0.1:8000, or unix:PATH when it serves on a unix socket. */
  readonly url: string;
  /** The TCP port; 0 on a unix socket. */
  readonly port: number;
  /** The gRPC port, when gRPC is served on TCP. */
  readonly grpcPort: number | undefined;
  /** Where gRPC clients reach it (`host:port`, or `unix:PATH`), when gRPC is served. */
  readonly grpcAddress: string | undefined;
  readonly engine: LocalEngine;
  readonly registry: ModelRegistry;
  readonly control: ModelControl;
  readonly metrics: ServerMetrics;
  /**
   * Settles when every model given at start has finished loading (READY or UNAVAILABLE), with
   * those that did not load.
   */
  readonly loaded: Promise<readonly LoadFailure[]>;
  /** Stops accepting requests, lets in-flight ones finish (bounded), unloads models. */
  close(): Promise<{ drained: boolean }>;
}

/**
 * @example
 * const server = await startServer({ ...defaults, models: [await modelFromFile('double.onnx')] });
 * await server.loaded;
 * await server.close();
 */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const metrics = createServerMetrics();
  const engine = await createEngine({ ...options, metrics });
  const { lifecycle } = engine;
  const { access, audit } = options;
  const refuseEarly = access === undefined ? undefined : earlyRefusal(access.keys, audit);
  // Request metrics outermost, so that refusals (401, 403, 429) are counted by their code too:
  // their labels (operation, transport, code) do not grow with what a caller sends.
  const service = intercept(
    engine,
    [
      requestMetrics(metrics),
      access === undefined
        ? undefined
        : accessControl({ ...access, roleOf, ...(audit === undefined ? {} : { audit }) }),
      options.limitsPerCaller === undefined ? undefined : rateLimit({ ...options.limitsPerCaller, roleOf }),
      audit === undefined ? undefined : auditAdmin(audit, roleOf),
      ...(options.interceptors ?? []),
      requestLog(options.logger),
    ].filter((i) => i !== undefined),
  );
  let grpc: RunningGrpcServer | undefined;
  lifecycle.onChange((state) => grpc?.setServing(state === 'ready'));
  const common = { service, logger: options.logger, limits: options.limits };
  // Models load in their worker threads while the main thread sets up HTTP and gRPC (whose
  // modules take a while to import): the loads begin first, and nothing waits for them.
  let loadsBegun: () => void = () => undefined;
  const begun = new Promise<void>((resolve) => (loadsBegun = resolve));
  const loaded = engine.start(loadsBegun);
  await Promise.race([begun, loaded.catch(() => undefined)]);
  const app = createHttpApp({
    ...common,
    metrics,
    requestTimeoutMs: options.requestTimeoutMs,
    isDraining: () => lifecycle.draining,
    ...(access === undefined ? {} : { keys: access.keys }),
    ...(refuseEarly === undefined ? {} : { refuseEarly }),
    ...(options.tls === undefined ? {} : { tls: options.tls }),
    ...(options.corsOrigins === undefined ? {} : { corsOrigins: options.corsOrigins }),
  });
  const where = options.socketPath ?? `${options.host}:${options.port}`;
  try {
    await (options.socketPath === undefined
      ? app.listen({ host: options.host, port: options.port })
      : app.listen({ path: options.socketPath }));
  } catch (error) {
    await engine.close();
    throw new BerthError(
      'BERTH_ERR_SERVER_LISTEN_FAILED',
      `cannot listen for HTTP on ${where}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  if (options.grpc !== undefined) {
    try {
      const { startGrpcServer } = await import('./grpc/grpc-server.js');
      grpc = await startGrpcServer({
        ...common,
        host: options.host,
        ...options.grpc,
        ...(refuseEarly === undefined ? {} : { refuseEarly }),
        ...(options.tls === undefined ? {} : { tls: options.tls }),
      });
      grpc.setServing(lifecycle.ready);
    } catch (error) {
      await app.close();
      await engine.close();
      throw error;
    }
  }
  const address = app.server.address();
  const url =
    typeof address === 'string' || address === null
      ? `unix:${options.socketPath ?? String(address)}`
      : `${options.tls === undefined ? 'http' : 'https'}://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;

  let closing: Promise<{ drained: boolean }> | undefined;
  const close = async (): Promise<{ drained: boolean }> => {
    // Refuse new calls (readiness and gRPC health turn false), stop polling, then wait for
    // the calls already taken, bounded by the drain timeout.
    await engine.drain();
    const grpcClosing = grpc?.close(options.drainTimeoutMs);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), options.drainTimeoutMs);
    });
    const closed = app.close().then(() => 'closed' as const);
    const outcome = await Promise.race([closed, timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      options.logger.warn(
        { drainTimeoutMs: options.drainTimeoutMs },
        'drain timeout reached; closing remaining connections',
      );
      app.server.closeAllConnections();
      await closed;
    }
    const grpcClosed = await grpcClosing;
    // A model execution cannot be interrupted, so unloading waits for any still running.
    await engine.close();
    return { drained: outcome === 'closed' && grpcClosed?.drained !== false };
  };
  return {
    url,
    port: typeof address === 'object' && address !== null ? address.port : 0,
    grpcPort: grpc?.port,
    grpcAddress: grpc?.address,
    engine,
    registry: engine.registry,
    control: engine.control,
    metrics,
    loaded,
    close: () => (closing ??= close()),
  };
}
