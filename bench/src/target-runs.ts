/**
 * The measurements issue 12's speed targets are checked on, each against its limit in the same
 * run: rounds in which berth and its limits run one after the other, each server in its own
 * process, the order reversed every other round (A B C, C B A) so that a machine getting slower
 * or faster during the run weighs on both sides alike. The report takes the median of the rounds.
 *
 * - mobilenet_v2, binary tensors, 16 connections: berth (and the tuned variant), the naive
 *   node:http + onnxruntime server for context, and onnxruntime in-process over its thread,
 *   spinning and batch-size configurations (bench/servers/compute-limit.mjs);
 * - the tiny MLP: berth and the naive server at 1 connection, JSON and binary tensors; berth and
 *   bare node:http at 64 connections, binary;
 * - berth's cold start with mobilenet_v2, before the rounds.
 */
import {
  type ColdStart,
  type LimitResult,
  coldStart,
  limitBatches,
  limitConfigs,
  measureComputeLimit,
} from './limits.js';
import { type LoadResult, measure } from './load.js';
import type { BenchModel, Format, ModelName } from './models.js';
import type { ServerRuns } from './server-run.js';
import type { Target, TargetId } from './targets.js';

/** One load of the target runs. */
export interface Sample {
  readonly round: number;
  readonly model: ModelName;
  readonly target: TargetId;
  readonly label: string;
  readonly format: Format;
  readonly connections: number;
  readonly result: LoadResult;
}

export interface TargetRuns {
  readonly rounds: number;
  readonly samples: readonly Sample[];
  /** Per model, the compute limit's results of each round. */
  readonly limitRounds: readonly { model: ModelName; rounds: readonly (readonly LimitResult[])[] }[];
  readonly coldStart: ColdStart | undefined;
}

export interface TargetRunOptions {
  readonly models: readonly BenchModel[];
  readonly targets: readonly Target[];
  /** Whether `berth, tuned` runs beside berth. */
  readonly tuned: boolean;
  readonly rounds: number;
  readonly quick: boolean;
  readonly secondsFor: (model: ModelName) => number;
  readonly warmupSeconds: number;
  /** Seconds per compute-limit configuration. */
  readonly limitSeconds: number;
  readonly coldStartTries: number;
  readonly servers: ServerRuns;
}

type Load = { readonly format: Format; readonly connections: number };
type Step =
  | { readonly kind: 'server'; readonly target: TargetId; readonly loads: readonly Load[] }
  | { readonly kind: 'limit' };

/** Connections of the mobilenet_v2 targets; also the largest batch the limit is run at. */
export const CNN_CONNECTIONS = 16;

function stepsFor(model: ModelName, tuned: boolean): Step[] {
  const berths: TargetId[] = tuned ? ['berth', 'berth-tuned'] : ['berth'];
  if (model === 'mobilenet_v2') {
    const loads: Load[] = [{ format: 'binary', connections: CNN_CONNECTIONS }];
    return [
      ...berths.map((target): Step => ({ kind: 'server', target, loads })),
      { kind: 'server', target: 'node-naive', loads },
      { kind: 'limit' },
    ];
  }
  if (model === 'mlp') {
    const c1: Load[] = [
      { format: 'binary', connections: 1 },
      { format: 'json', connections: 1 },
    ];
    return [
      ...berths.map((target): Step => ({
        kind: 'server',
        target,
        loads: [...c1, { format: 'binary', connections: 64 }],
      })),
      { kind: 'server', target: 'node-naive', loads: c1 },
      { kind: 'server', target: 'node-http-bare', loads: [{ format: 'binary', connections: 64 }] },
    ];
  }
  return [];
}

export async function runTargets(options: TargetRunOptions): Promise<TargetRuns> {
  const samples: Sample[] = [];
  const limitRounds: { model: ModelName; rounds: LimitResult[][] }[] = [];
  const targetById = (id: TargetId): Target => {
    const target = options.targets.find((t) => t.id === id);
    if (target === undefined) throw new Error(`no target ${id}`);
    return target;
  };
  let cold: ColdStart | undefined;
  const mobilenet = options.models.find((m) => m.name === 'mobilenet_v2');
  if (mobilenet !== undefined) {
    console.error(`bench: cold start, mobilenet_v2, ${options.coldStartTries} starts`);
    cold = await coldStart(mobilenet, options.coldStartTries);
  }
  for (const model of options.models) {
    const steps = stepsFor(model.name, options.tuned);
    if (steps.length === 0) continue;
    const limits: LimitResult[][] = [];
    for (let round = 1; round <= options.rounds; round++) {
      for (const step of round % 2 === 1 ? steps : [...steps].reverse()) {
        const where = `round ${round}/${options.rounds} · ${model.name}`;
        if (step.kind === 'limit') {
          const configs = limitConfigs(
            limitBatches(Math.min(model.maxBatchSize, CNN_CONNECTIONS), options.quick),
          );
          console.error(`${where} · onnxruntime in-process, ${configs.length} configurations`);
          limits.push(await measureComputeLimit(model, configs, options.limitSeconds));
          continue;
        }
        const target = targetById(step.target);
        const formats = [...new Set(step.loads.map((l) => l.format))];
        await options.servers.withServer(target, model, formats, async (server) => {
          for (const { format, connections } of step.loads) {
            const result = await measure(server.url, model, format, connections, {
              seconds: options.secondsFor(model.name),
              warmupSeconds: options.warmupSeconds,
              pid: server.child.pid,
            });
            samples.push({
              round,
              model: model.name,
              target: target.id,
              label: target.label,
              format,
              connections,
              result,
            });
            console.error(`${where} · ${target.label} · ${format} · c${connections}: ${summary(result)}`);
          }
        });
      }
    }
    if (limits.length > 0) limitRounds.push({ model: model.name, rounds: limits });
  }
  return { rounds: options.rounds, samples, limitRounds, coldStart: cold };
}

export function summary(result: LoadResult): string {
  return (
    `${result.rps.toFixed(1)} req/s, p50 ${result.p50Ms.toFixed(3)} ms, p99 ${result.p99Ms.toFixed(2)} ms` +
    (result.cpuUsPerRequest === undefined ? '' : `, ${Math.round(result.cpuUsPerRequest)} µs CPU/request`) +
    (result.errors > 0 ? `, ${result.errors} ERRORS` : '') +
    (result.requests === 0 ? ', NO REQUEST COMPLETED' : '')
  );
}
