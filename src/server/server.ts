/**
 * One inference server process: loads the models, serves the REST protocol, and drains on
 * shutdown. Listening starts before models load, so liveness answers at once and readiness turns
 * true only when loading is done.
 */
import type { AddressInfo } from 'node:net';
import type { DecodeLimits } from '../protocol/index.js';
import { createServerMetrics, type Logger, type ServerMetrics } from '../observability/index.js';
import type { ModelDescriptor } from '../repository/index.js';
import { createOnnxBackend, ModelRegistry, type Backend } from '../runtime/index.js';
import { createHttpApp } from './http/http-app.js';
import { InferenceService } from './inference-service.js';

export const SERVER_EXTENSIONS = ['binary_tensor_data', 'classification'] as const;

export interface ServeOptions {
  readonly models: readonly ModelDescriptor[];
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
  /** Ready only when every model is ready (true, as Triton) or when any one is (false). */
  readonly strictReadiness: boolean;
  readonly requestTimeoutMs: number;
  readonly backends?: readonly Backend[];
}

export interface RunningServer {
  /** Base URL, e.g. http://127.0.0.1:8000. */
  readonly url: string;
  readonly port: number;
  readonly registry: ModelRegistry;
  readonly metrics: ServerMetrics;
  /** Settles when every model has finished loading (READY or UNAVAILABLE). */
  readonly loaded: Promise<void>;
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
    onStateChange: (v) =>
      metrics.modelReady.set({ model: v.name, version: String(v.version) }, v.state === 'READY' ? 1 : 0),
  });
  const service = new InferenceService(registry, metrics);
  let draining = false;
  const app = createHttpApp({
    registry,
    service,
    metrics,
    logger: options.logger,
    server: { name: 'berth', version: options.version, extensions: SERVER_EXTENSIONS },
    limits: options.limits,
    requestTimeoutMs: options.requestTimeoutMs,
    isReady: () => !draining && (options.strictReadiness ? registry.allReady() : registry.anyReady()),
    isDraining: () => draining,
  });
  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const loaded = registry.loadAll(options.models);

  let closing: Promise<{ drained: boolean }> | undefined;
  const close = async (): Promise<{ drained: boolean }> => {
    draining = true;
    await loaded.catch(() => undefined);
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
    // A model execution cannot be interrupted, so unloading waits for any still running.
    await registry.unloadAll();
    return { drained: outcome === 'closed' };
  };
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    registry,
    metrics,
    loaded,
    close: () => (closing ??= close()),
  };
}
