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
import type { ModelRegistry } from '../runtime/index.js';

export class InferenceService {
  constructor(
    private readonly registry: ModelRegistry,
    private readonly metrics: ServerMetrics,
  ) {}

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
   * Runs one inference request. The request may be given as a decoder, so that a body that fails
   * to decode is counted against the model like any other failed request.
   *
   * @example
   * const response = await service.infer('iris', undefined, request);
   */
  async infer(
    model: string,
    version: string | undefined,
    request: InferRequest | (() => InferRequest | Promise<InferRequest>),
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
      this.metrics.pendingRequests.inc(labels);
      const started = performance.now();
      try {
        const result = await ready.loaded.run(decoded.inputs, outputs);
        const seconds = (performance.now() - started) / 1000;
        const first = decoded.inputs[0];
        const inferences = ready.config.maxBatchSize > 0 && first !== undefined ? (first.shape[0] ?? 1) : 1;
        this.metrics.requestSuccess.inc(labels);
        this.metrics.inferenceCount.inc(labels, inferences);
        this.metrics.executionCount.inc(labels);
        this.metrics.computeDuration.observe(labels, result.computeSeconds);
        this.metrics.queueDuration.observe(labels, Math.max(0, seconds - result.computeSeconds));
        this.metrics.requestDuration.observe(labels, seconds);
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
