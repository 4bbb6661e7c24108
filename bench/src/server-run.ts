/**
 * One target's server for the time of some measurements: started in its own process, its answer
 * checked against the first target's (so every target runs the same model), stopped after, with
 * its start time and memory recorded.
 */
import type { BenchModel, Format, ModelName } from './models.js';
import { probe } from './load.js';
import { type Running, freePort, treeRssMiB } from './process.js';
import type { Target, TargetId } from './targets.js';

export interface ProcessReport {
  readonly model: ModelName;
  readonly target: TargetId;
  readonly label: string;
  readonly startMs: number;
  readonly rssMiB: number;
}

export interface ServerRuns {
  /** Starts `target` for `model`, runs `measure` against it, stops it. */
  withServer<T>(
    target: Target,
    model: BenchModel,
    formats: readonly Format[],
    measure: (server: Running) => Promise<T>,
  ): Promise<T>;
  /** The last start of each model and target. */
  processes(): ProcessReport[];
}

/** Largest difference relative to the reference's largest magnitude. */
function relativeDifference(reference: Float32Array, other: Float32Array): number {
  if (reference.length !== other.length) return Infinity;
  let scale = 1e-6;
  let diff = 0;
  for (let i = 0; i < reference.length; i++) {
    scale = Math.max(scale, Math.abs(reference[i] ?? 0));
    diff = Math.max(diff, Math.abs((reference[i] ?? 0) - (other[i] ?? 0)));
  }
  return diff / scale;
}

export function createServerRuns(): ServerRuns {
  const references = new Map<ModelName, Float32Array>();
  const reports = new Map<string, ProcessReport>();

  /** Every target must compute the same function as the first one probed (berth, usually). */
  async function checkAnswer(url: string, model: BenchModel, label: string, formats: readonly Format[]) {
    for (const format of formats) {
      const output = await probe(url, model, format);
      const reference = references.get(model.name);
      if (reference === undefined) {
        references.set(model.name, output);
        continue;
      }
      const diff = relativeDifference(reference, output);
      if (!(diff <= 1e-3))
        throw new Error(
          `${label} answered ${model.name} differently from the reference (relative difference ${diff}); not the same model`,
        );
    }
  }

  return {
    async withServer(target, model, formats, measure) {
      const server = await target.start(model, await freePort());
      try {
        if (target.id !== 'node-http-bare') await checkAnswer(server.url, model, target.label, formats);
        const result = await measure(server);
        const pid = server.child.pid;
        reports.set(`${model.name}\0${target.id}`, {
          model: model.name,
          target: target.id,
          label: target.label,
          startMs: server.startMs,
          rssMiB: pid === undefined ? 0 : treeRssMiB(pid),
        });
        return result;
      } finally {
        await server.stop();
      }
    },
    processes: () => [...reports.values()],
  };
}
