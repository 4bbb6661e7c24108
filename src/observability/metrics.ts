/**
 * Prometheus metrics, one registry per server so tests and embedded servers do not share state.
 * prom-client's Registry writes the exposition and collects the process metrics; berth's own
 * series are metric-families.ts's, which cost a few field updates per observation. Names and
 * labels are documented in docs/metrics.md; base units are seconds.
 */
import { Registry, collectDefaultMetrics } from 'prom-client';
import { CounterFamily, GaugeFamily, HistogramFamily } from './metric-families.js';

const LATENCY_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

const NON_CONFORMING_DEFAULTS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

export interface ServerMetrics {
  readonly registry: Registry;
  readonly requestSuccess: CounterFamily<'model' | 'version'>;
  readonly requestFailure: CounterFamily<'model' | 'version' | 'reason'>;
  readonly inferenceCount: CounterFamily<'model' | 'version'>;
  readonly executionCount: CounterFamily<'model' | 'version'>;
  readonly requestDuration: HistogramFamily<'model' | 'version'>;
  readonly queueDuration: HistogramFamily<'model' | 'version'>;
  readonly computeDuration: HistogramFamily<'model' | 'version'>;
  readonly pendingRequests: GaugeFamily<'model' | 'version'>;
  readonly batchSize: HistogramFamily<'model' | 'version'>;
  readonly modelReady: GaugeFamily<'model' | 'version'>;
  /** Every call through the request seam, by operation, transport and outcome. */
  readonly requests: CounterFamily<'operation' | 'transport' | 'code'>;
  readonly requestSeconds: HistogramFamily<'operation' | 'transport'>;
}

/**
 * @example
 * const metrics = createServerMetrics();
 * metrics.requestSuccess.inc({ model: 'iris', version: '1' });
 * const text = await metrics.registry.metrics();
 */
export function createServerMetrics(options: { processMetrics?: boolean } = {}): ServerMetrics {
  const registry = new Registry();
  if (options.processMetrics ?? true) {
    collectDefaultMetrics({ register: registry });
    // prom-client names these gauges *_total, which Prometheus reserves for counters
    // (promtool check metrics rejects them); they carry nothing the event-loop metrics do not.
    for (const name of NON_CONFORMING_DEFAULTS) registry.removeSingleMetric(name);
  }
  const registers = [registry];
  const labels = ['model', 'version'] as const;
  return {
    registry,
    requestSuccess: new CounterFamily({
      name: 'berth_inference_request_success_total',
      help: 'Inference requests that completed successfully.',
      labelNames: labels,
      registers,
    }),
    requestFailure: new CounterFamily({
      name: 'berth_inference_request_failure_total',
      help: 'Inference requests that failed, by reason (the error category).',
      labelNames: [...labels, 'reason'],
      registers,
    }),
    inferenceCount: new CounterFamily({
      name: 'berth_inference_count_total',
      help: 'Inferences performed (a batch of N counts N; without a batch dimension each request counts 1).',
      labelNames: labels,
      registers,
    }),
    executionCount: new CounterFamily({
      name: 'berth_inference_exec_count_total',
      help: 'Model executions (runs of the runtime; one execution can serve a whole batch).',
      labelNames: labels,
      registers,
    }),
    requestDuration: new HistogramFamily({
      name: 'berth_inference_request_duration_seconds',
      help: 'Time from the request reaching the model to its response being ready, queue and compute included.',
      labelNames: labels,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    queueDuration: new HistogramFamily({
      name: 'berth_inference_queue_duration_seconds',
      help: 'Time a request waited before its execution started.',
      labelNames: labels,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    computeDuration: new HistogramFamily({
      name: 'berth_inference_compute_duration_seconds',
      help: 'Time the runtime spent executing the model for a request.',
      labelNames: labels,
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    batchSize: new HistogramFamily({
      name: 'berth_inference_batch_size',
      help: 'Rows (or requests, for models without a batch dimension) in each execution.',
      labelNames: labels,
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers,
    }),
    pendingRequests: new GaugeFamily({
      name: 'berth_inference_pending_requests',
      help: 'Inference requests accepted and not yet answered.',
      labelNames: labels,
      registers,
    }),
    modelReady: new GaugeFamily({
      name: 'berth_model_ready',
      help: '1 when the model version is ready to serve, 0 otherwise.',
      labelNames: labels,
      registers,
    }),
    requests: new CounterFamily({
      name: 'berth_requests_total',
      help: 'Calls of every OIP operation, by transport and outcome (OK or the error category).',
      labelNames: ['operation', 'transport', 'code'],
      registers,
    }),
    requestSeconds: new HistogramFamily({
      name: 'berth_request_duration_seconds',
      help: 'Time from a call entering the request seam to its result, decoding and inference included.',
      labelNames: ['operation', 'transport'],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
  };
}
