/**
 * The local engine: the OipService of models served in this process. It owns the model registry,
 * model control, the inference path and the lifecycle; it imports no transport, so importing it
 * loads neither fastify nor gRPC.
 */
import {
  inferEach,
  toBerthError,
  type CallContext,
  type InferCall,
  type InferResponse,
  type ModelIndexEntry,
  type ModelMetadata,
  type ModelFilter,
  type ModelRef,
  type ModelStatsJson,
  type NoInput,
  type OipService,
  type RepositoryCall,
  type ServerMetadata,
  type StreamOutcome,
  type TritonModelConfig,
} from '../protocol/index.js';
import type { Logger, ServerMetrics } from '../observability/index.js';
import { createModelCatalog, type ModelCatalog, type ModelDescriptor } from '../repository/index.js';
import { createOnnxBackend, ModelRegistry, type Backend, type LoadFailure } from '../runtime/index.js';
import { InferRunner } from './infer-runner.js';
import { Lifecycle } from './lifecycle.js';
import { ModelControl, type ModelControlMode } from './model-control.js';
import { loadModel, unloadModel } from './repository-actions.js';
import { tritonModelConfig } from './triton-model-config.js';

export const SERVER_EXTENSIONS = ['binary_tensor_data', 'classification'] as const;

export interface EngineOptions {
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
  readonly logger: Logger;
  readonly metrics: ServerMetrics;
  readonly version: string;
  readonly intraOpThreads: number;
  readonly interOpThreads: number;
  /**
   * Until the engine is first ready: ready only when every model is ready (true, as Triton) or
   * when any one is (false). Once it has been ready it stays ready until it drains (ADR 0004).
   */
  readonly strictReadiness: boolean;
  readonly backends?: readonly Backend[];
}

const versionOf = (ref: ModelFilter): string | undefined =>
  ref.version === undefined || ref.version === '' ? undefined : ref.version;

/**
 * @example
 * const engine = await createEngine({ ...options, catalog });
 * const loaded = engine.start();
 * await engine.infer({ name: 'iris', request }, { requestId: '1', transport: 'local' });
 * await engine.close();
 */
export class LocalEngine implements OipService {
  readonly lifecycle: Lifecycle;
  private readonly runner: InferRunner;
  private readonly metadata: ServerMetadata;
  private starting: Promise<LoadFailure[]> | undefined;

  constructor(
    readonly registry: ModelRegistry,
    readonly control: ModelControl,
    private readonly options: EngineOptions,
    lifecycle: Lifecycle,
  ) {
    this.lifecycle = lifecycle;
    this.runner = new InferRunner(registry, options.metrics);
    this.metadata = { name: 'berth', version: options.version, extensions: SERVER_EXTENSIONS };
  }

  /**
   * Loads the models the control mode starts with. `onLoading` is called once the loads have
   * begun in their worker threads, so a caller can set up transports meanwhile. Resolves with the
   * models given at start that did not load.
   */
  start(onLoading?: () => void): Promise<LoadFailure[]> {
    this.starting ??= this.control.start(onLoading).finally(() => this.lifecycle.refresh());
    return this.starting;
  }

  /** Drains: new calls are refused, polling stops; running calls go on. */
  async drain(): Promise<void> {
    this.lifecycle.drain();
    await this.starting?.catch(() => undefined);
    await this.control.stop();
  }

  /** Drains, then unloads every model once its running executions have finished. */
  async close(): Promise<void> {
    await this.drain();
    await this.registry.unloadAll();
    this.lifecycle.stop();
  }

  /** Runs an operation unless the process is draining; its result or error as a promise. */
  private admitted<T>(operation: () => T | Promise<T>): Promise<T> {
    const refusal = this.lifecycle.refusal();
    if (refusal !== undefined) return Promise.reject(refusal);
    try {
      return Promise.resolve(operation());
    } catch (error) {
      return Promise.reject(toBerthError(error));
    }
  }

  serverLive(_input: NoInput, _context: CallContext): Promise<{ live: boolean }> {
    return Promise.resolve({ live: this.lifecycle.live });
  }

  serverReady(_input: NoInput, _context: CallContext): Promise<{ ready: boolean }> {
    return Promise.resolve({ ready: this.lifecycle.ready });
  }

  serverMetadata(_input: NoInput, _context: CallContext): Promise<ServerMetadata> {
    return this.admitted(() => this.metadata);
  }

  modelReady(input: ModelRef, _context: CallContext): Promise<{ name: string; ready: boolean }> {
    return this.admitted(() => ({
      name: input.name,
      ready: this.registry.isReady(input.name, versionOf(input)),
    }));
  }

  modelMetadata(input: ModelRef, _context: CallContext): Promise<ModelMetadata> {
    return this.admitted(() => this.registry.metadata(input.name, versionOf(input)));
  }

  modelConfig(input: ModelRef, _context: CallContext): Promise<TritonModelConfig> {
    return this.admitted(() => tritonModelConfig(this.registry.resolve(input.name, versionOf(input))));
  }

  modelStatistics(input: ModelFilter, _context: CallContext): Promise<ModelStatsJson[]> {
    return this.admitted(() => this.registry.stats(input.name, versionOf(input)));
  }

  repositoryIndex(input: { readonly ready: boolean }, _context: CallContext): Promise<ModelIndexEntry[]> {
    return this.admitted(() => this.control.index(input.ready));
  }

  async repositoryLoad(input: RepositoryCall, _context: CallContext): Promise<void> {
    this.lifecycle.admit();
    await loadModel(this.control, this.options.logger, input.name, input.parameters);
  }

  async repositoryUnload(input: RepositoryCall, _context: CallContext): Promise<void> {
    this.lifecycle.admit();
    await unloadModel(this.control, input.name, input.parameters);
  }

  infer(input: InferCall, context: CallContext): Promise<InferResponse> {
    const refusal = this.lifecycle.refusal();
    return refusal === undefined ? this.runner.infer(input, context) : Promise.reject(refusal);
  }

  inferStream(input: AsyncIterable<InferCall>, context: CallContext): AsyncIterable<StreamOutcome> {
    return inferEach((call, c) => this.infer(call, c), input, context);
  }
}

/**
 * The engine with its registry, control and lifecycle; nothing loads until `start`.
 *
 * @example
 * const engine = await createEngine({ catalog, logger, metrics, version, intraOpThreads: 2, interOpThreads: 1, strictReadiness: true });
 */
export async function createEngine(options: EngineOptions): Promise<LocalEngine> {
  const { metrics } = options;
  // The registry reports model states to the lifecycle, which asks the registry whether the
  // models are ready; the closure is only called once both exist.
  const lifecycle = new Lifecycle({
    modelsReady: options.strictReadiness ? () => registry.allReady() : () => registry.anyReady(),
  });
  const registry = new ModelRegistry({
    backends: options.backends ?? [createOnnxBackend({ logger: options.logger })],
    load: {
      intraOpThreads: options.intraOpThreads,
      interOpThreads: options.interOpThreads,
      spinning: false,
      execution: 'cpu',
    },
    logger: options.logger,
    onStateChange: (v) => {
      metrics.modelReady.set({ model: v.name, version: String(v.version) }, v.state === 'READY' ? 1 : 0);
      lifecycle.refresh();
    },
  });
  const control = new ModelControl({
    mode: options.modelControl?.mode ?? 'none',
    startupModels: options.modelControl?.startupModels ?? [],
    pollIntervalMs: options.modelControl?.pollIntervalMs ?? 15_000,
    catalog: options.catalog ?? (await createModelCatalog([], options.models ?? [])),
    registry,
    logger: options.logger,
  });
  return new LocalEngine(registry, control, options, lifecycle);
}
