/**
 * The gateway's own Prometheus metrics, in a registry of their own (never prom-client's global
 * one), so that tests and embedded gateways do not share state. Events on the request path are
 * recorded by the methods below; the state of the upstreams, the replica counts and the rollout
 * are read from the caller's `collect` callback when the registry is scraped, so that nothing has
 * to be kept in step as replicas come and go. Names, labels and meanings are in docs/metrics.md
 * ("Gateway metrics"); times are in seconds.
 *
 * Every label value is bounded: track, reason, breaker state and rollout phase are closed sets,
 * `code` is a status from 100 to 599, `upstream` is the pool's own id, and `model` (which comes
 * from the client's URL) takes at most `maxModels` distinct values, the rest folded into
 * `"other"`, so that a client sending random model names cannot grow the series without bound.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import {
  CounterFamily,
  HistogramFamily,
  type CounterSeries,
  type HistogramSeries,
} from '../observability/index.js';
import type { BreakerState } from './circuit-breaker.js';
import type { RolloutState } from './rollout-analysis.js';
import type { UpstreamView } from './upstream-pool.js';

/** Which side of a rollout answered: the stable version, the canary, or a shadow copy. */
export const GATEWAY_TRACKS = ['stable', 'canary', 'shadow'] as const;
export type GatewayTrack = (typeof GATEWAY_TRACKS)[number];

/**
 * Why a request was sent to another replica: its connection was refused, reset or closed before
 * an answer, the replica said it drains, or it answered with a failure.
 */
export const RETRY_REASONS = ['refused', 'reset', 'draining', 'timeout'] as const;
export type RetryReason = (typeof RETRY_REASONS)[number];

const BREAKER_STATES: readonly BreakerState[] = ['closed', 'open', 'half-open'];
const ROLLOUT_PHASES: readonly RolloutState['phase'][] = ['progressing', 'promoted', 'rolled-back'];

/** The `model` value of the requests past the cap, and of those for a model never found. */
export const OTHER_MODEL = 'other';
export const DEFAULT_MAX_MODELS = 64;

/**
 * The server's latency buckets (src/observability/metrics.ts), so gateway and replica latencies
 * compare bucket for bucket, and 30 s, the gateway's usual deadline.
 */
const LATENCY_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];

/** What the gauges show, read once per scrape. */
export interface GatewaySnapshot {
  readonly upstreams: readonly UpstreamView[];
  /** Replicas the spec or the autoscaler asks for. */
  readonly desired: number;
  /** The rollout in progress or last finished; `RolloutPlan`'s state fits. Absent: none. */
  readonly rollout?: Pick<RolloutState, 'step' | 'weight' | 'phase'>;
}

export interface GatewayMetricsOptions {
  /** Called at each scrape (once, however many gauges read it). Without it the gauges are 0. */
  readonly collect?: () => GatewaySnapshot;
  /** Distinct `model` values at most; later models count as `"other"`. */
  readonly maxModels?: number;
}

export interface GatewayMetrics {
  readonly registry: Registry;
  /** The `Content-Type` of `metrics()`'s text. */
  readonly contentType: string;
  /**
   * A request answered: to its client, or, for `shadow`, by the candidate whose answer was only
   * compared. `model` is the one the route names (`""` for routes that name none, such as server
   * metadata); `status` the HTTP status sent; `seconds` from its arrival to its answer.
   */
  requestEnded(model: string, track: GatewayTrack, status: number, seconds: number): void;
  /** One attempt at a replica ended, answered or not: from sending the request to the outcome. */
  attemptEnded(upstream: string, seconds: number): void;
  /** A request was sent on to another replica. */
  retried(reason: RetryReason): void;
  /** A retry was not made because the retry budget was spent. */
  retryBudgetExhausted(): void;
  /** A request began waiting for a replica that can take it. */
  bufferEntered(): void;
  /** A request stopped waiting (a replica took it, or it gave up) after `waitSeconds`. */
  bufferLeft(waitSeconds: number): void;
  /** A request was refused because the buffer was full; it never entered it. */
  bufferOverflowed(): void;
  /** The outlier detector ejected `upstream`. */
  ejected(upstream: string): void;
  /** A rollout compared the two tracks' answers to one request (shadow, or a canary with agreement). */
  compared(agree: boolean): void;
  /** Drops the counters and histograms of an upstream that left the pool for good. */
  upstreamRemoved(upstream: string): void;
  /** The text exposition, gauges read from `collect` now. */
  metrics(): Promise<string>;
}

/**
 * @example
 * const metrics = createGatewayMetrics({ collect: () => ({ upstreams: pool.view(), desired: 3 }) });
 * const started = performance.now();
 * // ... forward the request
 * metrics.requestEnded('iris', 'stable', 200, (performance.now() - started) / 1000);
 * reply.header('content-type', metrics.contentType).send(await metrics.metrics());
 */
export function createGatewayMetrics(options: GatewayMetricsOptions = {}): GatewayMetrics {
  const maxModels = options.maxModels ?? DEFAULT_MAX_MODELS;
  if (!(Number.isInteger(maxModels) && maxModels >= 0)) {
    throw new RangeError(`maxModels must be a non-negative integer, got ${maxModels}`);
  }
  const registry = new Registry();
  const registers = [registry];
  const snapshot = memoisedPerScrape(options.collect);

  // The three series every request touches are berth's own families (plain numbers, labels checked
  // once per series), each series kept here by its label values: prom-client would hash a labels
  // object on every observation.
  const requests = new CounterFamily({
    name: 'berth_gateway_requests_total',
    help: 'Requests the gateway answered, by model, track (stable, canary, shadow) and HTTP status.',
    labelNames: ['model', 'track', 'code'] as const,
    registers,
  });
  const requestSeconds = new HistogramFamily({
    name: 'berth_gateway_request_duration_seconds',
    help: 'Time from a request reaching the gateway to its answer, waits and retries included.',
    labelNames: ['model', 'track'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const attemptSeconds = new HistogramFamily({
    name: 'berth_gateway_upstream_duration_seconds',
    help: 'Time of one attempt at a replica, from sending the request to its answer or failure.',
    labelNames: ['upstream'] as const,
    buckets: LATENCY_BUCKETS,
    registers,
  });
  /** By model label, then track: the duration series and the counter of each status. */
  const requestSeries = new Map<
    string,
    Map<GatewayTrack, { seconds: HistogramSeries; codes: Map<number, CounterSeries> }>
  >();
  const attemptSeries = new Map<string, HistogramSeries>();
  const retries = new Counter({
    name: 'berth_gateway_retries_total',
    help: 'Requests sent on to another replica, by reason (refused, reset, draining, timeout).',
    labelNames: ['reason'] as const,
    registers,
  });
  const budgetExhausted = new Counter({
    name: 'berth_gateway_retry_budget_exhausted_total',
    help: 'Retries not made because the retry budget was spent.',
    registers,
  });
  const buffered = new Gauge({
    name: 'berth_gateway_buffered_requests',
    help: 'Requests waiting for a replica that can take them.',
    registers,
  });
  const overflows = new Counter({
    name: 'berth_gateway_buffer_overflows_total',
    help: 'Requests refused because the buffer of waiting requests was full.',
    registers,
  });
  const bufferSeconds = new Histogram({
    name: 'berth_gateway_buffer_wait_seconds',
    help: 'Time a request waited for a replica, whether one took it or it gave up.',
    buckets: LATENCY_BUCKETS,
    registers,
  });
  const comparisons = new Counter({
    name: 'berth_gateway_comparisons_total',
    help: 'Requests whose stable and candidate answers a rollout compared, by outcome (agree, differ).',
    labelNames: ['outcome'] as const,
    registers,
  });
  const ejections = new Counter({
    name: 'berth_gateway_ejections_total',
    help: 'Times the outlier detector ejected a replica.',
    labelNames: ['upstream'] as const,
    registers,
  });
  // Known label values start at 0, so that rate() sees the first one (Prometheus' advice).
  for (const reason of RETRY_REASONS) retries.inc({ reason }, 0);

  /** A gauge per upstream, rewritten from the snapshot at each scrape. */
  const perUpstream = (name: string, help: string, value: (u: UpstreamView) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['upstream'] as const,
      registers,
      collect() {
        this.reset();
        for (const u of snapshot()?.upstreams ?? []) this.set({ upstream: u.id }, value(u));
      },
    });
  perUpstream(
    'berth_gateway_upstream_outstanding',
    'Requests sent to the replica and not yet answered.',
    (u) => u.outstanding,
  );
  perUpstream(
    'berth_gateway_upstream_ready',
    '1 when the replica takes requests (ready, not draining, its health checks passing), 0 otherwise.',
    (u) => Number(u.ready && u.healthy),
  );
  perUpstream(
    'berth_gateway_upstream_ejected',
    '1 while the outlier detector has the replica ejected, 0 otherwise.',
    (u) => Number(u.ejected),
  );
  new Gauge({
    name: 'berth_gateway_upstream_breaker_state',
    help: "The replica's circuit breaker: 1 for its current state (closed, open, half-open), 0 for the others.",
    labelNames: ['upstream', 'state'] as const,
    registers,
    collect() {
      this.reset();
      for (const u of snapshot()?.upstreams ?? []) {
        for (const state of BREAKER_STATES) this.set({ upstream: u.id, state }, Number(u.breaker === state));
      }
    },
  });
  const scalar = (name: string, help: string, value: (s: GatewaySnapshot | undefined) => number) =>
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(value(snapshot()));
      },
    });
  scalar('berth_replicas_desired', 'Replicas the spec or the autoscaler asks for.', (s) => s?.desired ?? 0);
  scalar(
    'berth_replicas_ready',
    'Replicas ready to take requests (not draining, health checks passing); ejection and breakers aside.',
    (s) => s?.upstreams.filter((u) => u.ready && u.healthy).length ?? 0,
  );
  scalar(
    'berth_rollout_step',
    'Index of the rollout step in progress (the last one reached when it ended), 0 without a rollout.',
    (s) => s?.rollout?.step ?? 0,
  );
  scalar(
    'berth_rollout_canary_weight',
    'Share of live traffic the candidate answers, 0 to 1 (0 without a rollout and for a shadow rollout).',
    (s) => (s?.rollout?.weight ?? 0) / 100,
  );
  new Gauge({
    name: 'berth_rollout_phase',
    help: 'The rollout: 1 for its phase (progressing, promoted, rolled-back), 0 for the others; none without one.',
    labelNames: ['phase'] as const,
    registers,
    collect() {
      this.reset();
      const rollout = snapshot()?.rollout;
      if (rollout === undefined) return;
      for (const phase of ROLLOUT_PHASES) this.set({ phase }, Number(rollout.phase === phase));
    },
  });

  const models = new Set<string>();
  /** The model's label value: its name while there is room for it, else "other". */
  const modelLabel = (model: string, status: number): string => {
    if (model === '' || models.has(model)) return model;
    // A model no replica knows takes no slot, so a scan of names cannot fill them.
    if (status === 404 || models.size >= maxModels) return OTHER_MODEL;
    models.add(model);
    return model;
  };

  return {
    registry,
    contentType: registry.contentType,
    requestEnded(model, track, status, seconds) {
      const label = modelLabel(model, status);
      let byTrack = requestSeries.get(label);
      if (byTrack === undefined) {
        byTrack = new Map();
        requestSeries.set(label, byTrack);
      }
      let series = byTrack.get(track);
      if (series === undefined) {
        series = { seconds: requestSeconds.labels({ model: label, track }), codes: new Map() };
        byTrack.set(track, series);
      }
      // Keyed as the label is bounded: 100 to 599, everything else one key (0, "other").
      const code = Number.isInteger(status) && status >= 100 && status <= 599 ? status : 0;
      let counter = series.codes.get(code);
      if (counter === undefined) {
        counter = requests.labels({ model: label, track, code: statusCode(status) });
        series.codes.set(code, counter);
      }
      counter.inc();
      series.seconds.observe(seconds);
    },
    attemptEnded(upstream, seconds) {
      let series = attemptSeries.get(upstream);
      if (series === undefined) {
        series = attemptSeconds.labels({ upstream });
        attemptSeries.set(upstream, series);
      }
      series.observe(seconds);
    },
    retried(reason) {
      retries.inc({ reason });
    },
    retryBudgetExhausted() {
      budgetExhausted.inc();
    },
    bufferEntered() {
      buffered.inc();
    },
    bufferLeft(waitSeconds) {
      buffered.dec();
      bufferSeconds.observe(waitSeconds);
    },
    bufferOverflowed() {
      overflows.inc();
    },
    ejected(upstream) {
      ejections.inc({ upstream });
    },
    compared(agree) {
      comparisons.inc({ outcome: agree ? 'agree' : 'differ' });
    },
    upstreamRemoved(upstream) {
      attemptSeries.delete(upstream);
      attemptSeconds.remove({ upstream });
      ejections.remove({ upstream });
    },
    metrics: () => registry.metrics(),
  };
}

/** An HTTP status as the `code` label: itself from 100 to 599, else "other". */
function statusCode(status: number): string {
  return Number.isInteger(status) && status >= 100 && status <= 599 ? String(status) : 'other';
}

/**
 * `collect`, called at most once per scrape: the Registry asks every metric for its values in
 * one synchronous pass, so a snapshot kept until the next microtask serves them all, and the
 * gauges agree with one another (an upstream is not ready in one and gone in the next).
 */
function memoisedPerScrape(collect: (() => GatewaySnapshot) | undefined): () => GatewaySnapshot | undefined {
  let taken: GatewaySnapshot | undefined;
  return () => {
    if (collect === undefined) return undefined;
    if (taken === undefined) {
      taken = collect();
      queueMicrotask(() => (taken = undefined));
    }
    return taken;
  };
}
