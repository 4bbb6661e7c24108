/**
 * Issue 12's speed targets, each checked against a limit measured in the same run (target-runs.ts),
 * on the median of the rounds. A missed target fails `--check`; rows marked informational (the
 * tuned variant, JSON tensors, the naive server) are there for context only.
 */
import { type ComputeLimit, describeConfig, median } from './limits.js';
import type { LoadResult } from './load.js';
import type { Format, ModelName } from './models.js';
import type { BenchResults } from './report.js';
import type { TargetId } from './targets.js';

export interface Check {
  readonly name: string;
  /** berth's figures. */
  readonly measured: string;
  /** The limit's figures, and the bound they give. */
  readonly limit: string;
  /** The ratio or difference the target is on. */
  readonly result: string;
  /** undefined when the run did not include what the check needs. */
  readonly pass: boolean | undefined;
  /** Shown for context; `--check` ignores it. */
  readonly informational: boolean;
}

/** The medians of a load over the rounds, undefined when a round completed no request. */
export interface Medians {
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly cpuUsPerRequest: number | undefined;
  readonly runs: readonly LoadResult[];
}

export function medians(
  results: BenchResults,
  model: ModelName,
  target: TargetId,
  format: Format,
  connections: number,
): Medians | undefined {
  const runs = results.samples
    .filter(
      (s) => s.model === model && s.target === target && s.format === format && s.connections === connections,
    )
    .map((s) => s.result);
  if (runs.length === 0 || runs.some((r) => r.requests === 0)) return undefined;
  const cpu = runs.map((r) => r.cpuUsPerRequest).filter((c): c is number => c !== undefined);
  return {
    rps: median(runs.map((r) => r.rps)),
    p50Ms: median(runs.map((r) => r.p50Ms)),
    p99Ms: median(runs.map((r) => r.p99Ms)),
    cpuUsPerRequest: cpu.length === runs.length ? median(cpu) : undefined,
    runs,
  };
}

export function round(n: number): string {
  return n >= 100 ? String(Math.round(n)) : n.toFixed(1);
}

/** A duration given in µs, in µs below 1 ms, else in ms. */
export function time(us: number): string {
  if (us < 1000) return `${Math.round(us)} µs`;
  const ms = us / 1000;
  return `${ms < 10 ? ms.toFixed(2) : ms < 100 ? ms.toFixed(1) : String(Math.round(ms))} ms`;
}

const notMeasured = (name: string, informational: boolean): Check => ({
  name,
  measured: 'not measured',
  limit: '',
  result: '',
  pass: undefined,
  informational,
});

const cpuText = (m: Medians) =>
  m.cpuUsPerRequest === undefined ? '' : `, ${time(m.cpuUsPerRequest)} CPU/request`;

function throughputCheck(
  name: string,
  berth: Medians | undefined,
  limit: ComputeLimit | undefined,
  min: number,
  informational: boolean,
): Check {
  if (berth === undefined || limit === undefined) return notMeasured(name, informational);
  const ratio = berth.rps / limit.best.itemsPerSecond;
  return {
    name,
    measured: `${round(berth.rps)} req/s`,
    limit: `${round(limit.best.itemsPerSecond)} images/s (${describeConfig(limit.best)})`,
    result: `${ratio.toFixed(2)}x (>= ${min}x)`,
    pass: ratio >= min,
    informational,
  };
}

function cpuCheck(
  name: string,
  server: Medians | undefined,
  limit: ComputeLimit | undefined,
  max: number,
  informational: boolean,
): Check {
  const own = limit?.singleThread ?? limit?.best;
  if (server?.cpuUsPerRequest === undefined || limit === undefined || own === undefined)
    return notMeasured(name, informational);
  const ratio = server.cpuUsPerRequest / own.cpuUsPerItem;
  return {
    name,
    measured: `${time(server.cpuUsPerRequest)} CPU/request`,
    limit:
      `${time(own.cpuUsPerItem)}/image (${describeConfig(own)}); ` +
      `${time(limit.best.cpuUsPerItem)}/image at the best config (${describeConfig(limit.best)})`,
    result: `${ratio.toFixed(2)}x (<= ${max}x); ${(server.cpuUsPerRequest / limit.best.cpuUsPerItem).toFixed(2)}x of the best config's`,
    pass: ratio <= max,
    informational,
  };
}

function latencyCheck(
  name: string,
  berth: Medians | undefined,
  naive: Medians | undefined,
  slackUs: number,
  informational: boolean,
): Check {
  if (berth === undefined || naive === undefined) return notMeasured(name, informational);
  const berthUs = berth.p50Ms * 1000;
  const naiveUs = naive.p50Ms * 1000;
  const over = berthUs - naiveUs;
  return {
    name,
    measured: `p50 ${time(berthUs)}${cpuText(berth)}`,
    limit: `${time(naiveUs + slackUs)} (naive p50 ${time(naiveUs)} + ${slackUs} µs${cpuText(naive)})`,
    result: `${over >= 0 ? '+' : '-'}${time(Math.abs(over))} against the naive server`,
    pass: over <= slackUs,
    informational,
  };
}

function httpCheck(
  name: string,
  berth: Medians | undefined,
  bare: Medians | undefined,
  min: number,
  informational: boolean,
): Check {
  if (berth === undefined || bare === undefined) return notMeasured(name, informational);
  const ratio = berth.rps / bare.rps;
  return {
    name,
    measured: `${round(berth.rps)} req/s${cpuText(berth)}`,
    limit: `${round(bare.rps)} req/s${cpuText(bare)}`,
    result: `${ratio.toFixed(2)}x (>= ${min}x)`,
    pass: ratio >= min,
    informational,
  };
}

function berthChecks(results: BenchResults, target: 'berth' | 'berth-tuned'): Check[] {
  const informational = target !== 'berth';
  const who = target === 'berth' ? 'berth' : 'berth, tuned';
  const limit = results.limits.find((l) => l.model === 'mobilenet_v2');
  const mobilenet = medians(results, 'mobilenet_v2', target, 'binary', 16);
  const checks = [
    throughputCheck(
      `mobilenet_v2, binary, c16: ${who} >= 0.9x onnxruntime in-process best`,
      mobilenet,
      limit,
      0.9,
      informational,
    ),
    cpuCheck(
      `mobilenet_v2, binary, c16: ${who} CPU per request <= 1.1x onnxruntime's own CPU per image`,
      mobilenet,
      limit,
      1.1,
      informational,
    ),
  ];
  for (const format of ['binary', 'json'] as const)
    checks.push(
      latencyCheck(
        `tiny MLP, ${format === 'json' ? 'JSON' : 'binary'}, c1: ${who} p50 <= naive node:http + ORT p50 + 50 µs`,
        medians(results, 'mlp', target, format, 1),
        medians(results, 'mlp', 'node-naive', format, 1),
        50,
        informational || format === 'json',
      ),
    );
  checks.push(
    httpCheck(
      `tiny MLP, binary, c64: ${who} >= 0.6x bare node:http`,
      medians(results, 'mlp', target, 'binary', 64),
      medians(results, 'mlp', 'node-http-bare', 'binary', 64),
      0.6,
      informational,
    ),
  );
  return checks;
}

/** Issue 12's targets, in the order the issue lists them; then the tuned variant's, if it ran. */
export function checkTargets(results: BenchResults): Check[] {
  const checks = berthChecks(results, 'berth');
  const cold = results.coldStart;
  const coldName = 'mobilenet_v2: berth serve start to ready <= 1 s';
  checks.push(
    cold === undefined
      ? notMeasured(coldName, false)
      : {
          name: coldName,
          measured: `${Math.round(cold.medianMs)} ms median of ${cold.samplesMs.length} (${cold.samplesMs.map((s) => Math.round(s)).join(', ')}); RSS at ready ${Math.round(cold.rssAtReadyMiB)} MiB`,
          limit: '1000 ms',
          result: `${(cold.medianMs / 1000).toFixed(2)}x`,
          pass: cold.medianMs <= 1000,
          informational: false,
        },
  );
  const limit = results.limits.find((l) => l.model === 'mobilenet_v2');
  checks.push(
    cpuCheck(
      'for context: naive node:http + ORT CPU per request, mobilenet_v2, binary, c16',
      medians(results, 'mobilenet_v2', 'node-naive', 'binary', 16),
      limit,
      1.1,
      true,
    ),
  );
  if (results.samples.some((s) => s.target === 'berth-tuned'))
    checks.push(...berthChecks(results, 'berth-tuned'));
  return checks;
}
