/**
 * Per model version statistics in the shape of Triton's statistics extension
 * (triton-inference-server/server docs/protocol/extension_statistics.md): cumulative counts and
 * total nanoseconds of successful, failed and queued requests and of the compute phases, plus the
 * same per batch size. Kept as plain numbers: recording is a few additions on the request path.
 */
import {
  INFER_STAT_NAMES,
  type BatchStat,
  type DurationStat,
  type InferStat,
  type ModelStatsJson,
} from '../ground/index.js';

export type { BatchStat, DurationStat, ModelStatsJson } from '../ground/index.js';

const INFER_STATS = INFER_STAT_NAMES;

const zero = (): DurationStat => ({ count: 0, ns: 0 });
const ns = (ms: number): number => Math.max(0, Math.round(ms * 1e6));

export class ModelStats {
  private lastInference = 0;
  private inferences = 0;
  private executions = 0;
  private readonly infer: Record<InferStat, DurationStat> = Object.fromEntries(
    INFER_STATS.map((k) => [k, zero()]),
  ) as Record<InferStat, DurationStat>;
  private readonly batches = new Map<number, BatchStat>();

  /** A request answered successfully, `ms` after it arrived. */
  success(ms: number): void {
    this.infer.success.count++;
    this.infer.success.ns += ns(ms);
    this.lastInference = Date.now();
  }

  /** A request that failed (bad input, timeout, runtime error), `ms` after it arrived. */
  fail(ms: number): void {
    this.infer.fail.count++;
    this.infer.fail.ns += ns(ms);
  }

  /** One request's wait in the queue before its batch ran. */
  queued(ms: number): void {
    this.infer.queue.count++;
    this.infer.queue.ns += ns(ms);
  }

  /**
   * One execution of `batchSize` items for `requests` requests, with its phases: gathering the
   * inputs, the runtime's compute, and everything after (output split, thread hand-off).
   */
  execution(batchSize: number, requests: number, inputMs: number, inferMs: number, outputMs: number): void {
    this.executions++;
    this.inferences += batchSize;
    let batch = this.batches.get(batchSize);
    if (batch === undefined) {
      batch = { batch_size: batchSize, compute_input: zero(), compute_infer: zero(), compute_output: zero() };
      this.batches.set(batchSize, batch);
    }
    // Three phases written out: a list of them per execution is garbage on every request.
    this.phase('compute_input', batch, requests, ns(inputMs));
    this.phase('compute_infer', batch, requests, ns(inferMs));
    this.phase('compute_output', batch, requests, ns(outputMs));
  }

  private phase(phase: InferStat & keyof BatchStat, batch: BatchStat, requests: number, total: number): void {
    this.infer[phase].count += requests;
    this.infer[phase].ns += total * requests;
    batch[phase].count++;
    batch[phase].ns += total;
  }

  toJSON(name: string, version: string): ModelStatsJson {
    const copy = (d: DurationStat): DurationStat => ({ count: d.count, ns: d.ns });
    return {
      name,
      version,
      last_inference: this.lastInference,
      inference_count: this.inferences,
      execution_count: this.executions,
      inference_stats: Object.fromEntries(INFER_STATS.map((k) => [k, copy(this.infer[k])])) as Record<
        InferStat,
        DurationStat
      >,
      batch_stats: [...this.batches.values()]
        .sort((a, b) => a.batch_size - b.batch_size)
        .map((b) => ({
          batch_size: b.batch_size,
          compute_input: copy(b.compute_input),
          compute_infer: copy(b.compute_infer),
          compute_output: copy(b.compute_output),
        })),
      memory_usage: [],
    };
  }
}
