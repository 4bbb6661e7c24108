/**
 * The engine's inference path: resolve the model version, decode and validate the request
 * against its signature, run it through the model's queue and batcher, and account for it in the
 * model's metrics and statistics.
 */
import {
  BerthError,
  classificationCount,
  classify,
  toBerthError,
  validateInferRequest,
  type CallContext,
  type InferCall,
  type InferPayload,
  type InferRequest,
  type InferResponse,
} from '../protocol/index.js';
import type { ServerMetrics } from '../observability/index.js';
import { relabelShape, type ModelRegistry, type ReadyModel } from '../runtime/index.js';
import { batchKey, batchSizeOf, type BatchScheduler } from '../scheduler/index.js';
import { createModelQueue, type QueuedInference, type QueuedResult } from './model-queue.js';

/** Triton request parameters: `timeout` in microseconds, `priority` (1 is the highest). */
function schedulingOf(request: InferRequest): { timeoutMs?: number; priority?: number } {
  const out: { timeoutMs?: number; priority?: number } = {};
  const timeout = request.parameters?.timeout;
  if (timeout !== undefined) {
    if (typeof timeout !== 'number' || !Number.isSafeInteger(timeout) || timeout < 0) {
      throw new BerthError(
        'BERTH_ERR_PROTOCOL_INVALID_REQUEST',
        'parameters.timeout must be a non-negative integer (microseconds)',
      );
    }
    if (timeout > 0) out.timeoutMs = timeout / 1000;
  }
  const priority = request.parameters?.priority;
  if (priority !== undefined) {
    if (typeof priority !== 'number' || !Number.isSafeInteger(priority) || priority < 0) {
      throw new BerthError(
        'BERTH_ERR_PROTOCOL_INVALID_REQUEST',
        'parameters.priority must be a non-negative integer',
      );
    }
    out.priority = priority;
  }
  return out;
}

/** A model version's request series, looked up once (the lookup hashes the labels). */
interface Series {
  readonly success: { inc(): void };
  readonly pending: { inc(): void; dec(): void };
  readonly compute: { observe(value: number): void };
  readonly duration: { observe(value: number): void };
  /** Every output of the model, in its order: what a request that names none gets. */
  readonly outputs: readonly string[];
}

export class InferRunner {
  private readonly queues = new WeakMap<ReadyModel, BatchScheduler<QueuedInference, QueuedResult>>();
  private readonly series = new WeakMap<ReadyModel, Series>();

  constructor(
    private readonly registry: ModelRegistry,
    private readonly metrics: ServerMetrics,
  ) {}

  private seriesOf(model: ReadyModel, labels: { model: string; version: string }): Series {
    let found = this.series.get(model);
    if (found === undefined) {
      found = {
        success: this.metrics.requestSuccess.labels(labels),
        pending: this.metrics.pendingRequests.labels(labels),
        compute: this.metrics.computeDuration.labels(labels),
        duration: this.metrics.requestDuration.labels(labels),
        outputs: model.signature.outputs.map((o) => o.name),
      };
      this.series.set(model, found);
    }
    return found;
  }

  private queueOf(model: ReadyModel): BatchScheduler<QueuedInference, QueuedResult> {
    let queue = this.queues.get(model);
    if (queue === undefined) {
      queue = createModelQueue(model, this.metrics);
      this.queues.set(model, queue);
    }
    return queue;
  }

  /**
   * Runs one inference request through the model's queue and batcher. A request given as a
   * decoder is decoded here, so that a body that fails to decode counts against the model like any
   * other failed request. The context's deadline cuts the request's queue timeout, and its signal
   * drops the request if the caller goes away while it waits.
   *
   * @example
   * const response = await runner.infer({ name: 'iris', request }, context);
   */
  async infer(call: InferCall, context: CallContext): Promise<InferResponse> {
    const model = call.name;
    const version = call.version === '' ? undefined : call.version;
    let labels = { model, version: version ?? '' };
    try {
      // Counted against the version until it settles, so an unload or reload lets it finish.
      const ready = this.registry.acquire(model, version);
      const started = performance.now();
      try {
        labels = { model, version: String(ready.version) };
        const response = await this.run(ready, labels, call.request, context);
        ready.stats.success(performance.now() - started);
        return response;
      } catch (error) {
        ready.stats.fail(performance.now() - started);
        throw error;
      } finally {
        this.registry.release(ready);
      }
    } catch (error) {
      const berth = toBerthError(error);
      // Unknown models get no per-model series, so a scan of random names cannot grow the label set.
      if (berth.category !== 'NOT_FOUND' && this.registry.has(model)) {
        this.metrics.requestFailure.inc({ ...labels, reason: berth.category });
      }
      throw berth;
    }
  }

  private async run(
    ready: ReadyModel,
    labels: { model: string; version: string },
    request: InferPayload,
    context: CallContext,
  ): Promise<InferResponse> {
    let decoded: InferRequest | Promise<InferRequest> =
      typeof request === 'function' ? request(ready.signature) : request;
    if (decoded instanceof Promise) decoded = await decoded;
    validateInferRequest(decoded, ready.signature, { maxBatchSize: ready.config.maxBatchSize });
    let classes: Map<string, number> | undefined;
    for (const output of decoded.outputs ?? []) {
      const count = classificationCount(output);
      if (count !== undefined) (classes ??= new Map()).set(output.name, count);
    }
    // No requested outputs, or an empty list of them: every output (never an empty fetch list).
    const outputs =
      decoded.outputs === undefined || decoded.outputs.length === 0
        ? this.seriesOf(ready, labels).outputs
        : decoded.outputs.map((o) => o.name);
    const scheduling = schedulingOf(decoded);
    if (context.deadline !== undefined) {
      const left = context.deadline - Date.now();
      if (left <= 0) {
        throw new BerthError(
          'BERTH_ERR_SCHEDULER_TIMEOUT',
          'the request deadline passed before it was queued',
        );
      }
      const own = scheduling.timeoutMs ?? (ready.config.batching.timeoutMs || Infinity);
      scheduling.timeoutMs = Math.min(own, left);
    }
    const plan = ready.reshape;
    const batched = ready.config.maxBatchSize > 0;
    const inputs =
      plan === undefined || plan.inputs.size === 0
        ? decoded.inputs
        : decoded.inputs.map((input) => {
            const target = plan.inputs.get(input.name);
            return target === undefined
              ? input
              : { ...input, shape: relabelShape(input.name, input.shape, target[1], batched) };
          });
    const series = this.seriesOf(ready, labels);
    series.pending.inc();
    const started = performance.now();
    try {
      const result = await this.queueOf(ready).submit({
        payload: { inputs, outputs },
        batchSize: batched ? batchSizeOf(inputs) : 1,
        key: batchKey(inputs),
        priority: scheduling.priority,
        timeoutMs: scheduling.timeoutMs,
        signal: context.signal,
      });
      let produced = result.outputs;
      if (plan !== undefined && plan.outputs.size > 0) {
        produced = produced.map((output) => {
          const target = plan.outputs.get(output.name);
          return target === undefined
            ? output
            : { ...output, shape: relabelShape(output.name, output.shape, target[0], batched) };
        });
      }
      series.success.inc();
      series.compute.observe(result.computeSeconds);
      series.duration.observe((performance.now() - started) / 1000);
      return {
        modelName: ready.name,
        modelVersion: String(ready.version),
        ...(decoded.id === undefined ? {} : { id: decoded.id }),
        outputs:
          classes === undefined
            ? produced
            : produced.map((o) => {
                const count = classes.get(o.name);
                return count === undefined ? o : classify(o, count, ready.config.maxBatchSize > 0);
              }),
      };
    } finally {
      series.pending.dec();
    }
  }
}
