/**
 * The request queue of one model version: a scheduler (src/scheduler) whose executor merges a
 * batch, runs it on a free model instance, and splits the outputs back per request.
 */
import type { ServerMetrics } from '../observability/index.js';
import type { NumericArray, Tensor } from '../ground/index.js';
import type { LoadedModel, ReadyModel } from '../runtime/index.js';
import {
  BatchScheduler,
  batchSizeOf,
  mergeBatch,
  splitBatch,
  systemClock,
  type BatchPolicy,
} from '../scheduler/index.js';

const byteLengthOf = (tensor: Tensor): number =>
  tensor.datatype === 'BYTES' ? 0 : (tensor.data as NumericArray).byteLength;

export interface QueuedInference {
  readonly inputs: readonly Tensor[];
  /** Outputs this request asked for, in its order. */
  readonly outputs: readonly string[];
}

export interface QueuedResult {
  readonly outputs: Tensor[];
  /** Runtime compute time of the batch the request ran in. */
  readonly computeSeconds: number;
}

/**
 * Executions handed to one instance at a time. A model that does not batch gets a second one
 * queued in its worker, so the worker starts the next request the moment one ends instead of
 * idling for the round trip to the main thread (which dominates for small models). A batching
 * model gets one, so that its next batch keeps collecting requests while the current one runs.
 */
function pipelineDepth(model: ReadyModel): number {
  return model.config.maxBatchSize > 0 ? 1 : 4;
}

export function batchPolicyOf(model: ReadyModel): BatchPolicy {
  const { config } = model;
  const depth = pipelineDepth(model);
  return {
    maxBatchSize: config.maxBatchSize,
    maxQueueDelayMs: config.batching.maxQueueDelayMs,
    preferredBatchSizes: config.batching.preferredBatchSizes,
    maxQueueSize: config.batching.maxQueueSize,
    defaultTimeoutMs: config.batching.timeoutMs,
    // Read at each dispatch: instances the machine's default adds join while the model serves.
    get instances() {
      return model.instances.length * depth;
    },
    priorityLevels: config.batching.priorityLevels,
    defaultPriority: config.batching.defaultPriority,
  };
}

/**
 * @example
 * const queue = createModelQueue(model, metrics);
 * const result = await queue.submit({ payload: { inputs, outputs: ['y'] }, batchSize: 1, key });
 */
export function createModelQueue(
  model: ReadyModel,
  metrics: ServerMetrics,
): BatchScheduler<QueuedInference, QueuedResult> {
  const labels = { model: model.name, version: String(model.version) };
  // Each series looked up once: the lookup hashes the labels.
  const executions = metrics.executionCount.labels(labels);
  const inferences = metrics.inferenceCount.labels(labels);
  const batchSizes = metrics.batchSize.labels(labels);
  const queueSeconds = metrics.queueDuration.labels(labels);
  const inflight = new Map<LoadedModel, number>();
  const allOutputs = model.signature.outputs.map((o) => o.name);

  /** The instance with the fewest executions handed to it. */
  const leastBusy = (): LoadedModel => {
    let best: LoadedModel | undefined;
    let count = Infinity;
    for (const instance of model.instances) {
      const n = inflight.get(instance) ?? 0;
      if (n < count) {
        best = instance;
        count = n;
      }
    }
    if (best === undefined) throw new Error('model has no instance');
    return best;
  };

  const batching = model.config.maxBatchSize > 0;
  const execute = async (batch: readonly QueuedInference[]): Promise<QueuedResult[]> => {
    const instance = leastBusy();
    inflight.set(instance, (inflight.get(instance) ?? 0) + 1);
    const started = performance.now();
    try {
      const [only] = batch;
      if (batch.length === 1 && only !== undefined) {
        const result = await instance.run(only.inputs, only.outputs);
        const inferMs = result.computeSeconds * 1000;
        const size = batching ? batchSizeOf(only.inputs) : 1;
        model.stats.execution(size, 1, 0, inferMs, performance.now() - started - inferMs);
        return [{ outputs: result.outputs, computeSeconds: result.computeSeconds }];
      }
      const wanted = new Set(batch.flatMap((r) => r.outputs));
      const names = allOutputs.filter((name) => wanted.has(name));
      let bytes = 0;
      for (const request of batch) for (const input of request.inputs) bytes += byteLengthOf(input);
      const allocate = instance.inputAllocator?.(bytes, batch[0]?.inputs.length ?? 0);
      const { inputs, sizes } = mergeBatch(
        batch.map((r) => r.inputs),
        allocate,
      );
      const merged = performance.now();
      // The merged arrays are fresh and ours alone: the runtime may take them without a copy.
      const result = await instance.run(inputs, names, { consumeInputs: true });
      const split = splitBatch(result.outputs, sizes).map((outputs, i) => {
        const byName = new Map(outputs.map((o) => [o.name, o]));
        const requested = batch[i]?.outputs ?? [];
        return {
          outputs: requested.flatMap((name) => byName.get(name) ?? []),
          computeSeconds: result.computeSeconds,
        };
      });
      const inferMs = result.computeSeconds * 1000;
      const size = batching ? sizes.reduce((a, b) => a + b, 0) : batch.length;
      model.stats.execution(
        size,
        batch.length,
        merged - started,
        inferMs,
        performance.now() - merged - inferMs,
      );
      return split;
    } finally {
      inflight.set(instance, (inflight.get(instance) ?? 1) - 1);
    }
  };

  return new BatchScheduler<QueuedInference, QueuedResult>(
    batchPolicyOf(model),
    execute,
    systemClock,
    (stats) => {
      executions.inc();
      inferences.inc(model.config.maxBatchSize > 0 ? stats.size : stats.requests);
      batchSizes.observe(stats.size);
      for (const waited of stats.waitedMs) {
        queueSeconds.observe(waited / 1000);
        model.stats.queued(waited);
      }
    },
  );
}
