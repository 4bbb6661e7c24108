/**
 * What a benchmark found: one JSON document for scripts (`--json-output`), and the table, the
 * per-level lines and the progress line people read. Pure: formatting only.
 */
import type { TensorSpec } from '../ground/index.js';
import type { LatencySummary } from './latency-stats.js';
import type { FailureCount } from './request-outcome.js';

export interface LevelReport {
  readonly concurrency: number;
  /** Answers in the measured window, good or not. */
  readonly requests: number;
  readonly ok: number;
  readonly failed: number;
  /** Failures by class: `HTTP 400`, `gRPC UNAVAILABLE`, `malformed`, `timeout`, `ECONNRESET`. */
  readonly errors: Readonly<Record<string, FailureCount>>;
  /** Good answers per second of the window. */
  readonly requestsPerSecond: number;
  /** requestsPerSecond times the inferences (batch) each request carries. */
  readonly inferencesPerSecond: number;
  /** Latencies of the good answers, in milliseconds. */
  readonly latencyMs: LatencySummary;
  /** CPU the generator itself used over the level, in cores (1 = one core busy). */
  readonly clientCpu: number;
}

export interface BenchReport {
  readonly url: string;
  /** `rest binary`, `rest json` or `grpc`. */
  readonly transport: string;
  readonly model: string;
  readonly modelVersion: string | null;
  /** The tensors each request sends. */
  readonly inputs: readonly TensorSpec[];
  /** Inferences one request carries (its batch). */
  readonly inferencesPerRequest: number;
  /** Size of one request body (gRPC: message). */
  readonly requestBytes: number;
  /** `random`, `zero`, or the --data file. */
  readonly data: string;
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly timeoutMs: number;
  /** Choices made for the user (default shapes) and warnings. */
  readonly notes: readonly string[];
  readonly levels: readonly LevelReport[];
  /** Every request of every level succeeded, and every level had some. */
  readonly ok: boolean;
}

/** What a run will send and how, known before its first level. */
export type BenchSetup = Omit<BenchReport, 'levels' | 'ok'>;

/** What the run will send, and the choices made for the user, printed before the first level. */
export function setupLines(setup: BenchSetup): string[] {
  const version = setup.modelVersion === null ? '' : ` version ${setup.modelVersion}`;
  const inputs = setup.inputs.map((i) => `${i.name} ${i.datatype} [${i.shape.join(',')}]`).join(', ');
  return [
    `bench ${setup.model}${version} at ${setup.url} (${setup.transport}): ${inputs}; ` +
      `${setup.requestBytes} bytes a request, ${setup.data} data; ` +
      `${setup.warmupMs / 1000} s warm-up, ${setup.durationMs / 1000} s measured per level`,
    ...setup.notes.map((note) => `note: ${note}`),
  ];
}

/** Milliseconds with three significant digits or so: 0.412, 4.12, 41.2, 412. */
export function formatMs(ms: number | null): string {
  if (ms === null) return '-';
  if (ms < 1) return ms.toFixed(3);
  if (ms < 10) return ms.toFixed(2);
  if (ms < 100) return ms.toFixed(1);
  return ms.toFixed(0);
}

/** A rate: one decimal under 1000 a second, whole numbers above. */
export function formatRate(perSecond: number): string {
  return perSecond < 1000 ? perSecond.toFixed(1) : perSecond.toFixed(0);
}

/** The result table: a header row and one row per concurrency level. */
export function reportRows(report: BenchReport): string[][] {
  return [
    ['CONCURRENCY', 'REQ/S', 'INFER/S', 'P50 MS', 'P90 MS', 'P99 MS', 'MAX MS', 'REQUESTS', 'ERRORS'],
    ...report.levels.map((level) => [
      String(level.concurrency),
      formatRate(level.requestsPerSecond),
      formatRate(level.inferencesPerSecond),
      formatMs(level.latencyMs.p50),
      formatMs(level.latencyMs.p90),
      formatMs(level.latencyMs.p99),
      formatMs(level.latencyMs.max),
      String(level.requests),
      String(level.failed),
    ]),
  ];
}

/** One line per error class of each level: `concurrency 4: HTTP 400 x 812: input "x": ...`. */
export function errorLines(report: BenchReport): string[] {
  return report.levels.flatMap((level) => [
    ...Object.entries(level.errors).map(
      ([kind, { count, example }]) => `concurrency ${level.concurrency}: ${kind} x ${count}: ${example}`,
    ),
    ...(level.requests === 0
      ? [
          `concurrency ${level.concurrency}: no answer arrived within the measured window (a longer --duration?)`,
        ]
      : []),
  ]);
}

/** The line printed when a level is done, where no progress line is drawn (stderr not a terminal). */
export function levelLine(level: LevelReport): string {
  const errors =
    level.failed === 0 ? '0 errors' : `${level.failed} errors (${Object.keys(level.errors).join(', ')})`;
  return (
    `concurrency ${level.concurrency}: ${level.requests} requests, ${formatRate(level.requestsPerSecond)} req/s, ` +
    `p50 ${formatMs(level.latencyMs.p50)} ms, p99 ${formatMs(level.latencyMs.p99)} ms, ${errors}`
  );
}

/** Above this share of one core, the generator may be what limits the numbers. */
const BUSY_CLIENT = 0.9;

/** A warning when the generator itself was busy enough to limit what it measured. */
export function clientCpuNote(level: LevelReport): string | undefined {
  if (level.clientCpu < BUSY_CLIENT) return undefined;
  return (
    `note: at concurrency ${level.concurrency} berth bench itself used ${Math.round(level.clientCpu * 100)}% of a CPU core; ` +
    'it may be what limits these numbers (run it on another machine than the server, or split the load)'
  );
}

/** The progress line of a running level. */
export function progressLine(
  concurrency: number,
  elapsedMs: number,
  warmupMs: number,
  durationMs: number,
  counts: { readonly ok: number; readonly failed: number },
): string {
  const phase =
    elapsedMs < warmupMs
      ? `warming up ${(elapsedMs / 1000).toFixed(1)}/${(warmupMs / 1000).toFixed(1)} s`
      : `measuring ${(Math.min(elapsedMs - warmupMs, durationMs) / 1000).toFixed(1)}/${(durationMs / 1000).toFixed(1)} s`;
  const measured = Math.max(0, Math.min(elapsedMs - warmupMs, durationMs));
  const rate = measured > 0 ? ` ${formatRate((counts.ok * 1000) / measured)} req/s,` : '';
  return `concurrency ${concurrency}: ${phase},${rate} ${counts.ok} ok, ${counts.failed} errors`;
}
