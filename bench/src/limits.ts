/**
 * Measurements that are not an HTTP load: the compute limit (onnxruntime-node in-process, in a
 * child process of its own, over thread counts, spinning and batch sizes) and berth's cold start.
 */
import { execFile } from 'node:child_process';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import type { BenchModel } from './models.js';
import { BENCH_DIR, BERTH_BIN } from './paths.js';
import { freePort, startProcess, treeRssMiB } from './process.js';

const run = promisify(execFile);

export const CORES = cpus().length;

/** One session configuration and batch size of the compute limit. */
export interface LimitConfig {
  /** intraOpNumThreads. */
  readonly threads: number;
  /** allow_spinning for the intra- and inter-op thread pools. */
  readonly spinning: boolean;
  readonly batch: number;
}

export interface LimitResult extends LimitConfig {
  readonly itemsPerSecond: number;
  /** process.cpuUsage() (user + system, every thread) over the timed loop per item, in µs. */
  readonly cpuUsPerItem: number;
}

export interface ComputeLimit {
  readonly model: string;
  /** Every configuration; with several rounds, each figure is the median of the rounds. */
  readonly results: readonly LimitResult[];
  /** The most items per second with as many intra-op threads as cores, spinning on or off. */
  readonly best: LimitResult;
  /** One thread, batch 1: onnxruntime's own CPU per item, nothing shared between items. */
  readonly singleThread: LimitResult | undefined;
}

/** Batch sizes up to `max`, powers of two, or just 1, 4, 16 for a quick run. */
export function limitBatches(max: number, quick: boolean): number[] {
  return [1, 2, 4, 8, 16, 32, 64, 128, 256].filter(
    (b) => b <= Math.max(max, 1) && (!quick || b === 1 || b === 4 || b === 16),
  );
}

/**
 * As many intra-op threads as cores, spinning on and off, at each batch size; and one thread
 * without spinning at batch 1, for onnxruntime's own CPU per item.
 */
export function limitConfigs(batches: readonly number[]): LimitConfig[] {
  const configs: LimitConfig[] = [];
  for (const spinning of [true, false])
    for (const batch of batches) configs.push({ threads: CORES, spinning, batch });
  if (CORES > 1) configs.push({ threads: 1, spinning: false, batch: 1 });
  return configs;
}

export const sameConfig = (a: LimitConfig, b: LimitConfig): boolean =>
  a.threads === b.threads && a.spinning === b.spinning && a.batch === b.batch;

export function describeConfig(c: LimitConfig): string {
  return `batch ${c.batch}, ${c.threads} thread${c.threads === 1 ? '' : 's'}${c.threads === 1 ? '' : c.spinning ? ', spinning' : ', no spinning'}`;
}

/** One run of bench/servers/compute-limit.mjs over the configurations, `seconds` each. */
export async function measureComputeLimit(
  model: BenchModel,
  configs: readonly LimitConfig[],
  seconds: number,
): Promise<LimitResult[]> {
  const { stdout } = await run(
    process.execPath,
    [
      join(BENCH_DIR, 'servers', 'compute-limit.mjs'),
      model.onnxPath,
      JSON.stringify(model.itemShape),
      JSON.stringify(configs),
      String(seconds),
    ],
    { maxBuffer: 1 << 20 },
  );
  return (JSON.parse(stdout) as { results: LimitResult[] }).results;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  if (sorted.length === 0) return NaN;
  return sorted.length % 2 === 1
    ? (sorted[Math.floor(mid)] ?? NaN)
    : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
}

/** The compute limit of one or more rounds: each configuration's medians, and the best. */
export function summarizeLimit(model: string, rounds: readonly (readonly LimitResult[])[]): ComputeLimit {
  const first = rounds[0] ?? [];
  const results = first.map((config) => {
    const runs = rounds.flatMap((r) => r.filter((x) => sameConfig(x, config)));
    return {
      threads: config.threads,
      spinning: config.spinning,
      batch: config.batch,
      itemsPerSecond: median(runs.map((x) => x.itemsPerSecond)),
      cpuUsPerItem: median(runs.map((x) => x.cpuUsPerItem)),
    };
  });
  const candidates = results.filter((r) => r.threads === CORES);
  const best = (candidates.length > 0 ? candidates : results).reduce((a, b) =>
    b.itemsPerSecond > a.itemsPerSecond ? b : a,
  );
  const singleThread = results.find((r) => r.threads === 1 && r.batch === 1 && !r.spinning);
  return { model, results, best, singleThread };
}

export interface ColdStart {
  readonly model: string;
  /** Spawn of `node bin/berth.js serve` to the first 200 from /v2/health/ready, per try. */
  readonly samplesMs: readonly number[];
  readonly medianMs: number;
  readonly rssAtReadyMiB: number;
}

export async function coldStart(model: BenchModel, tries: number): Promise<ColdStart> {
  const samplesMs: number[] = [];
  let rssAtReadyMiB = 0;
  for (let i = 0; i < tries; i++) {
    const port = await freePort();
    const server = await startProcess(
      'berth',
      process.execPath,
      [BERTH_BIN, 'serve', model.repos.batching, '--port', String(port), '--grpc-port', '0'],
      {
        port,
      },
    );
    samplesMs.push(server.startMs);
    rssAtReadyMiB = server.child.pid === undefined ? 0 : treeRssMiB(server.child.pid);
    await server.stop();
  }
  return { model: model.name, samplesMs, medianMs: median(samplesMs), rssAtReadyMiB };
}
