/**
 * The transport-independent inference path: resolve the model version, validate the request
 * against its signature, run it, and account for it in metrics. The HTTP adapter (and later gRPC)
 * only translate to and from this.
 */
import {
  BerthError,
  classificationCount,
  classify,
  toBerthError,
  validateInferRequest,
  type InferRequest,
  type InferResponse,
  type TensorSpec,
} from '../protocol/index.js';
import type { ServerMetrics } from '../observability/index.js';
import type { ModelRegistry, ReadyModel } from '../runtime/index.js';
import { batchKey, batchSizeOf, type BatchScheduler, type CancelSignal } from '../scheduler/index.js';
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

export class InferenceService {
  private readonly queues = new WeakMap<ReadyModel, BatchScheduler<QueuedInference, QueuedResult>>();

  constructor(
    private readonly registry: ModelRegistry,
    private readonly metrics: ServerMetrics,
  ) {}

  private queueOf(model: ReadyModel): BatchScheduler<QueuedInference, QueuedResult> {
    let queue = this.queues.get(model);
    if (queue === undefined) {
      queue = createModelQueue(model, this.metrics);
      this.queues.set(model, queue);
    }
    return queue;
  }

  /** The only input of a model, for Triton's raw binary request form. */
  singleInput(model: string, version: string | undefined): TensorSpec {
    const { signature } = this.registry.resolve(model, version);
    const [input] = signature.inputs;
    if (input === undefined || signature.inputs.length !== 1) {
      throw new BerthError(
        'BERTH_ERR_PROTOCOL_INVALID_BINARY',
        `a raw binary request (Inference-Header-Content-Length: 0) needs a model with exactly one input; "${model}" has ${signature.inputs.length}`,
      );
    }
    return input;
  }

  /**
   * Runs one inference request through the model's queue and batcher. The request may be given as
   * a decoder, so that a body that fails to decode is counted against the model like any other
   * failed request. `signal` drops the request if its client goes away while it is queued.
   *
   * @example
   * const response = await service.infer('iris', undefined, request);
   */
  async infer(
    model: string,
    version: string | undefined,
    request: InferRequest | (() => InferRequest | Promise<InferRequest>),
    options: { signal?: CancelSignal } = {},
  ): Promise<InferResponse> {
    let labels = { model, version: version ?? '' };
    try {
      const ready = this.registry.resolve(model, version);
      labels = { model, version: String(ready.version) };
      const decoded = typeof request === 'function' ? await request() : request;
      validateInferRequest(decoded, ready.signature, { maxBatchSize: ready.config.maxBatchSize });
      const classes = new Map<string, number>();
      for (const output of decoded.outputs ?? []) {
        const count = classificationCount(output);
        if (count !== undefined) classes.set(output.name, count);
      }
      const outputs = decoded.outputs?.map((o) => o.name) ?? ready.signature.outputs.map((o) => o.name);
      const scheduling = schedulingOf(decoded);
      this.metrics.pendingRequests.inc(labels);
      const started = performance.now();
      try {
        const result = await this.queueOf(ready).submit({
          payload: { inputs: decoded.inputs, outputs },
          batchSize: ready.config.maxBatchSize > 0 ? batchSizeOf(decoded.inputs) : 1,
          key: batchKey(decoded.inputs),
          ...scheduling,
          ...(options.signal === undefined ? {} : { signal: options.signal }),
        });
        this.metrics.requestSuccess.inc(labels);
        this.metrics.computeDuration.observe(labels, result.computeSeconds);
        this.metrics.requestDuration.observe(labels, (performance.now() - started) / 1000);
        return {
          modelName: model,
          modelVersion: String(ready.version),
          ...(decoded.id === undefined ? {} : { id: decoded.id }),
          outputs:
            classes.size === 0
              ? result.outputs
              : result.outputs.map((o) => {
                  const count = classes.get(o.name);
                  return count === undefined ? o : classify(o, count, ready.config.maxBatchSize > 0);
                }),
        };
      } finally {
        this.metrics.pendingRequests.dec(labels);
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
}
