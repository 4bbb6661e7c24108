/**
 * A whole benchmark: read the model's metadata, plan the inputs, make the one request body, then
 * run every concurrency level (warm-up, measured window) on fresh connections and report.
 */
import { createClient, type OipClient } from '../client/index.js';
import { BerthError, isBerthError, type InferInput, type ModelMetadata } from '../ground/index.js';
import type { BenchTarget, DataSource } from './bench-options.js';
import { inferencesPerRequest, planInputs, type BenchPlan } from './bench-plan.js';
import type { BenchReport, BenchSetup, LevelReport } from './bench-report.js';
import { PERFORMANCE_CLOCK, runClosedLoop, type Clock, type LiveCounts } from './closed-loop.js';
import { createGrpcTarget } from './grpc-target.js';
import { readDataFile } from './input-data-file.js';
import { syntheticInputs } from './input-data.js';
import type { LoadTarget } from './load-target.js';
import { createRestTarget } from './rest-target.js';

export interface BenchOptions {
  readonly target: BenchTarget;
  readonly model: string;
  readonly version?: string;
  /** Concurrency levels, run in this order. */
  readonly concurrency: readonly number[];
  readonly warmupMs: number;
  readonly durationMs: number;
  /** --shape: input name to shape. */
  readonly shapes: ReadonlyMap<string, readonly number[]>;
  readonly batchSize?: number;
  readonly data: DataSource;
  /** REST only: binary (default) or JSON tensors. */
  readonly encoding: 'binary' | 'json';
  /** Headers (gRPC: metadata) for every request, lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
  /** Longest wait for one answer, and for the metadata. */
  readonly timeoutMs: number;
}

export interface BenchHooks {
  /** The plan is made: what will be sent, and the notes to show before the run. */
  onPlan?(setup: BenchSetup): void;
  /** A level starts; `live` is updated as its measured answers arrive. */
  onLevelStart?(concurrency: number, live: Readonly<LiveCounts>): void;
  onLevelDone?(level: LevelReport): void;
}

function urlOf(target: BenchTarget): string {
  return target.protocol === 'grpc' ? `grpc://${target.address}` : target.url.href.replace(/\/+$/, '');
}

async function readMetadata(options: BenchOptions): Promise<ModelMetadata> {
  // gRPC has no Host header: the load's channels take it as their authority (grpc-target.ts).
  const headers = Object.fromEntries(
    Object.entries(options.headers).filter(([name]) => options.target.protocol !== 'grpc' || name !== 'host'),
  );
  const client: OipClient = createClient({
    url: urlOf(options.target),
    timeoutMs: options.timeoutMs,
    headers,
  });
  try {
    return await client.modelMetadata(options.model, options.version);
  } catch (error) {
    if (!isBerthError(error) || error.message.startsWith('cannot reach ')) throw error;
    const version = options.version === undefined ? '' : ` version ${options.version}`;
    throw new BerthError(
      error.code,
      `cannot read the metadata of model "${options.model}"${version}: ${error.message}`,
      { cause: error },
    );
  } finally {
    client.close();
  }
}

function inputsOf(options: BenchOptions, plan: BenchPlan): { inputs: InferInput[]; notes: string[] } {
  if (options.data.kind !== 'file')
    return { inputs: syntheticInputs(plan.inputs, options.data.kind), notes: [] };
  const file = readDataFile(options.data.path, plan.inputs);
  const notes =
    options.shapes.size > 0 ? ['--shape is ignored with --data FILE: the file gives the shapes'] : [];
  return { inputs: file.inputs, notes: [...notes, ...file.notes] };
}

function targetOf(
  options: BenchOptions,
  inputs: readonly InferInput[],
  outputs: readonly string[],
): LoadTarget {
  const common = {
    model: options.model,
    ...(options.version === undefined ? {} : { version: options.version }),
    inputs,
    outputs,
    headers: options.headers,
    timeoutMs: options.timeoutMs,
  };
  return options.target.protocol === 'grpc'
    ? createGrpcTarget({ ...common, address: options.target.address })
    : createRestTarget({ ...common, url: options.target.url, encoding: options.encoding });
}

/** CPU time this process used since `since`, in microseconds. */
function cpuSince(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return used.user + used.system;
}

/**
 * Runs a benchmark against an OIP server (berth, Triton, KServe) and reports on each level.
 *
 * @example
 * const report = await runBench({
 *   target: parseTarget('http://127.0.0.1:8000', false), model: 'iris', concurrency: [1, 4],
 *   warmupMs: 2000, durationMs: 10_000, shapes: new Map(), data: { kind: 'random' },
 *   encoding: 'binary', headers: {}, timeoutMs: 30_000,
 * });
 * report.levels[0]?.latencyMs.p99;
 */
export async function runBench(
  options: BenchOptions,
  hooks: BenchHooks = {},
  clock: Clock = PERFORMANCE_CLOCK,
): Promise<BenchReport> {
  const metadata = await readMetadata(options);
  const plan = planInputs(options.model, metadata, {
    shapes: options.shapes,
    ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
  });
  const { inputs, notes } = inputsOf(options, plan);
  const outputs = plan.declared.outputs.map((o) => o.name);
  const target = targetOf(options, inputs, outputs);
  const perRequest = inferencesPerRequest(plan.declared.inputs, inputs);
  const setup: BenchSetup = {
    url: urlOf(options.target),
    transport: target.transport,
    model: options.model,
    modelVersion: options.version ?? null,
    inputs: inputs.map(({ name, datatype, shape }) => ({ name, datatype, shape })),
    inferencesPerRequest: perRequest,
    requestBytes: target.requestBytes,
    data: options.data.kind === 'file' ? options.data.path : options.data.kind,
    warmupMs: options.warmupMs,
    durationMs: options.durationMs,
    timeoutMs: options.timeoutMs,
    notes: [...plan.notes, ...notes],
  };
  hooks.onPlan?.(setup);

  const levels: LevelReport[] = [];
  for (const concurrency of options.concurrency) {
    const connections = target.open(concurrency);
    const live: LiveCounts = { ok: 0, failed: 0 };
    hooks.onLevelStart?.(concurrency, live);
    const cpu = process.cpuUsage();
    const started = clock.now();
    let result;
    try {
      result = await runClosedLoop({
        concurrency,
        warmupMs: options.warmupMs,
        durationMs: options.durationMs,
        send: (client) => connections.send(client),
        clock,
        live,
      });
    } finally {
      connections.close();
    }
    const elapsedMs = Math.max(1, clock.now() - started);
    const requestsPerSecond = (result.ok * 1000) / result.windowMs;
    const level: LevelReport = {
      concurrency,
      requests: result.requests,
      ok: result.ok,
      failed: result.requests - result.ok,
      errors: result.errors,
      requestsPerSecond,
      inferencesPerSecond: requestsPerSecond * perRequest,
      latencyMs: result.latencyMs,
      clientCpu: cpuSince(cpu) / 1000 / elapsedMs,
    };
    levels.push(level);
    hooks.onLevelDone?.(level);
  }
  return { ...setup, levels, ok: levels.every((l) => l.failed === 0 && l.ok > 0) };
}
