/**
 * The side-by-side sweep: every target at each connection count and request format, one target
 * at a time, and the compute limit of each model the target runs did not measure.
 */
import {
  type ComputeLimit,
  limitBatches,
  limitConfigs,
  measureComputeLimit,
  summarizeLimit,
} from './limits.js';
import { measure } from './load.js';
import type { BenchModel, ModelName } from './models.js';
import type { Row } from './report.js';
import type { ServerRuns } from './server-run.js';
import { summary } from './target-runs.js';
import type { Target } from './targets.js';

export interface SweepOptions {
  readonly models: readonly BenchModel[];
  readonly targets: readonly Target[];
  readonly connections: readonly number[];
  readonly secondsFor: (model: ModelName) => number;
  readonly warmupSeconds: number;
  readonly limitSeconds: number;
  /** The compute limits so far; the sweep adds the models' that are missing. */
  readonly limits: ComputeLimit[];
  readonly servers: ServerRuns;
}

export async function runSweep(options: SweepOptions): Promise<Row[]> {
  const { connections, limits } = options;
  for (const model of options.models) {
    if (limits.some((l) => l.model === model.name)) continue;
    console.error(`bench: compute limit, ${model.name}`);
    const configs = limitConfigs(limitBatches(model.maxBatchSize, false));
    limits.push(
      summarizeLimit(model.name, [await measureComputeLimit(model, configs, options.limitSeconds)]),
    );
  }
  const plan = options.models.flatMap((model) =>
    options.targets
      .map((target) => ({ model, target, formats: target.formats(model) }))
      .filter((p) => p.formats.length > 0),
  );
  const total = plan.reduce((n, p) => n + p.formats.length * connections.length, 0);
  const rows: Row[] = [];
  for (const { model, target, formats } of plan) {
    await options.servers.withServer(target, model, formats, async (server) => {
      for (const c of connections) {
        for (const format of formats) {
          const result = await measure(server.url, model, format, c, {
            seconds: options.secondsFor(model.name),
            warmupSeconds: options.warmupSeconds,
            pid: server.child.pid,
          });
          rows.push({
            model: model.name,
            target: target.id,
            label: target.label,
            format,
            connections: c,
            result,
          });
          console.error(
            `[${rows.length}/${total}] ${model.name} · ${target.label} · ${format} · c${c}: ${summary(result)}`,
          );
        }
      }
    });
  }
  return rows;
}
