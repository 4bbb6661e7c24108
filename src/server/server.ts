/**
 * One inference server process: loads the models, serves the REST and gRPC protocols, and drains
 * on shutdown. Listening starts while models load, so liveness answers at once and readiness turns
 * true only when loading is done.
 */
import type { AddressInfo } from 'node:net';
import { BerthError, type DecodeLimits } from '../ground/index.js';
import { createServerMetrics, type Logger, type ServerMetrics } from '../observability/index.js';
import { createModelCatalog, type ModelCatalog, type ModelDescriptor } from '../repository/index.js';
import { createOnnxBackend, ModelRegistry, type Backend, type LoadFailure } from '../runtime/index.js';
import type { RunningGrpcServer } from './grpc/grpc-server.js';
import { createHttpApp } from './http/http-app.js';
import { InferenceService } from './inference-service.js';
import { ModelControl, type ModelControlMode } from './model-control.js';

export const SERVER_EXTENSIONS = ['binary_tensor_data', 'classification'] as const;

export interface ServeOptions {
  /** Models to serve when no catalog is given (held in memory: they cannot be re-read). */
  readonly models?: readonly ModelDescriptor[];
  /** Where models come from; re-read by model control (load API, poll). */
  readonly catalog?: ModelCatalog;
  /** Model control mode; default `none`: everything loads at start. */
  readonly modelControl?: {
    readonly mode: ModelControlMode;
    /** explicit: models to load at start (`*` for all). */
    readonly startupModels?: readonly string[];
    /** poll: time between repository reads. */
    readonly pollIntervalMs?: number;
  };
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly logger: Logger;
  readonly version: string;
  readonly intraOpThreads: number;
  readonly interOpThreads: number;
  readonly limits: DecodeLimits & { readonly maxBodyBytes: number };
  /** Longest wait for in-flight requests on shutdown before connections are cut. */
  readonly drainTimeoutMs: number;
  /**
   * Until the server is first ready: ready only when every model is ready (true, as Triton) or
   * when any one is (false). Once it has been ready it stays ready until it drains (ADR 0004).
   */
  readonly strictReadiness: boolean;
  readonly requestTimeoutMs: number;
  /** The gRPC endpoint, on the same host; absent for none. */
  readonly grpc?: {
    /** 0 picks a free port. */
    readonly port: number;
    /** Largest request message accepted. */
    readonly maxMessageBytes: number;
  };
  readonly backends?: readonly Backend[];
}

export interface RunningServer {
  /** Base URL, e.g. http://127.0.0.1:8000. */
  readonly url: string;
  readonly port: number;
  /** The gRPC port, when gRPC is served. */
  readonly grpcPort: number | undefined;
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
  const registry = new ModelRegistry({
    backends: options.backends ?? [createOnnxBackend()],
    load: {
      intraOpThreads: options.intraOpThreads,
      interOpThreads: options.interOpThreads,
      spinning: false,
      execution: 'cpu',
    },
    logger: options.logger,
    onStateChange: (v) => {
      metrics.modelReady.set({ model: v.name, version: String(v.version) }, v.state === 'READY' ? 1 : 0);
      refreshHealth();
    },
  });
  const service = new InferenceService(registry, metrics);
  const control = new ModelControl({
    mode: options.modelControl?.mode ?? 'none',
    startupModels: options.modelControl?.startupModels ?? [],
    pollIntervalMs: options.modelControl?.pollIntervalMs ?? 15_000,
    catalog: options.catalog ?? (await createModelCatalog([], options.models ?? [])),
    registry,
    logger: options.logger,
  });
  let draining = false;
  let grpc: RunningGrpcServer | undefined;
  // Readiness gates a rollout until the server is first ready; after that it says whether the
  // server can take traffic, so a model that breaks later (poll, explicit) cannot take every
  // replica out of its load balancer (docs/adr/0004-readiness-after-ready.md).
  let beenReady = false;
  const isReady = () => {
    if (draining) return false;
    beenReady ||= options.strictReadiness ? registry.allReady() : registry.anyReady();
    return beenReady;
  };
  function refreshHealth(): void {
    grpc?.setServing(isReady());
  }
  const common = {
    registry,
    service,
    control,
    logger: options.logger,
    server: { name: 'berth', version: options.version, extensions: SERVER_EXTENSIONS },
    limits: options.limits,
    isReady,
    isDraining: () => draining,
  };
  // Models load in their worker threads while the main thread sets up HTTP and gRPC (whose
  // modules take a while to import): the loads begin first, and nothing waits for them.
  let loadsBegun: () => void = () => undefined;
  const begun = new Promise<void>((resolve) => (loadsBegun = resolve));
  const loaded = control.start(loadsBegun).finally(refreshHealth);
  await Promise.race([begun, loaded.catch(() => undefined)]);
  const app = createHttpApp({ ...common, metrics, requestTimeoutMs: options.requestTimeoutMs });
  const abandon = async () => {
    draining = true;
    await loaded.catch(() => undefined);
    await control.stop();
    await registry.unloadAll();
  };
  try {
    await app.listen({ host: options.host, port: options.port });
  } catch (error) {
    await abandon();
    throw new BerthError(
      'BERTH_ERR_SERVER_LISTEN_FAILED',
      `cannot listen for HTTP on ${options.host}:${options.port}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  if (options.grpc !== undefined) {
    try {
      const { startGrpcServer } = await import('./grpc/grpc-server.js');
      grpc = await startGrpcServer({ ...common, host: options.host, ...options.grpc });
      refreshHealth();
    } catch (error) {
      await app.close();
      await abandon();
      throw error;
    }
  }
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  let closing: Promise<{ drained: boolean }> | undefined;
  const close = async (): Promise<{ drained: boolean }> => {
    draining = true;
    refreshHealth();
    await loaded.catch(() => undefined);
    await control.stop();
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
    await registry.unloadAll();
    return { drained: outcome === 'closed' && grpcClosed?.drained !== false };
  };
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    grpcPort: grpc?.port,
    registry,
    control,
    metrics,
    loaded,
    close: () => (closing ??= close()),
  };
}
