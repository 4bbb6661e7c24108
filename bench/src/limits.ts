/**
 * Measurements that are not an HTTP load: the compute limit (onnxruntime-node in-process at each
 * batch size, in a child process of its own) and berth's cold start.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

import type { BenchModel } from './models.js';
import { BENCH_DIR, BERTH_BIN } from './paths.js';
import { freePort, startProcess, treeRssMiB } from './process.js';

const run = promisify(execFile);

export interface ComputeLimit {
  readonly model: string;
  readonly results: readonly { batch: number; itemsPerSecond: number }[];
  readonly bestBatch: number;
  readonly bestItemsPerSecond: number;
}

export async function computeLimit(model: BenchModel, seconds: number): Promise<ComputeLimit> {
  const batches = [1, 2, 4, 8, 16, 32, 64, 128, 256].filter((b) => b <= Math.max(model.maxBatchSize, 1));
  const { stdout } = await run(
    process.execPath,
    [
      join(BENCH_DIR, 'servers', 'compute-limit.mjs'),
      model.onnxPath,
      JSON.stringify(model.itemShape),
      JSON.stringify(batches),
      String(seconds),
    ],
    { maxBuffer: 1 << 20 },
  );
  const { results } = JSON.parse(stdout) as { results: { batch: number; itemsPerSecond: number }[] };
  const best = results.reduce((a, b) => (b.itemsPerSecond > a.itemsPerSecond ? b : a));
  return { model: model.name, results, bestBatch: best.batch, bestItemsPerSecond: best.itemsPerSecond };
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
  const sorted = [...samplesMs].sort((a, b) => a - b);
  return {
    model: model.name,
    samplesMs,
    medianMs: sorted[Math.floor(sorted.length / 2)] ?? 0,
    rssAtReadyMiB,
  };
}
