/**
 * `berth bench`'s engine: a closed-loop load generator for any Open Inference Protocol server
 * (berth, Triton, KServe), over REST (binary or JSON tensors) or gRPC, in the manner of Triton's
 * perf_analyzer. It reads the model's metadata, makes one request up front, and measures
 * throughput, latency percentiles and errors by class at each concurrency level.
 *
 * @example
 * import { parseTarget, runBench } from './loadgen/index.js';
 * const report = await runBench({
 *   target: parseTarget('http://127.0.0.1:8000', false), model: 'iris', concurrency: [1, 4],
 *   warmupMs: 2000, durationMs: 10_000, shapes: new Map(), data: { kind: 'random' },
 *   encoding: 'binary', headers: {}, timeoutMs: 30_000,
 * });
 */
export {
  parseConcurrency,
  parseDataSource,
  parseHeader,
  parseShapes,
  parseTarget,
  type BenchTarget,
  type DataSource,
} from './bench-options.js';
export { runBench, type BenchHooks, type BenchOptions } from './bench-run.js';
export {
  clientCpuNote,
  errorLines,
  formatMs,
  formatRate,
  levelLine,
  progressLine,
  reportRows,
  setupLines,
  type BenchReport,
  type BenchSetup,
  type LevelReport,
} from './bench-report.js';
export type { LiveCounts } from './closed-loop.js';
