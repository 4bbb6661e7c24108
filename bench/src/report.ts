/** The bench's results, the targets it checks them against, and their Markdown. */
import type { ColdStart, ComputeLimit } from './limits.js';
import type { LoadResult } from './load.js';
import type { Format, ModelName } from './models.js';
import type { TargetId } from './targets.js';

export interface Row {
  readonly model: ModelName;
  readonly target: TargetId;
  readonly label: string;
  readonly format: Format;
  readonly connections: number;
  readonly result: LoadResult;
}

export interface ProcessReport {
  readonly model: ModelName;
  readonly target: TargetId;
  readonly label: string;
  readonly startMs: number;
  readonly rssMiB: number;
}

export interface BenchResults {
  readonly date: string;
  readonly command: string;
  readonly machine: string;
  readonly versions: Readonly<Record<string, string>>;
  readonly seconds: number;
  readonly cnnSeconds: number;
  readonly warmupSeconds: number;
  readonly targets: readonly { label: string; about: string }[];
  readonly rows: readonly Row[];
  readonly processes: readonly ProcessReport[];
  readonly limits: readonly ComputeLimit[];
  readonly coldStart: ColdStart | undefined;
}

export interface Check {
  readonly name: string;
  readonly measured: string;
  /** undefined when the run did not include what the check needs. */
  readonly pass: boolean | undefined;
}

/** A row's result, when its run completed requests. */
function find(
  results: BenchResults,
  model: ModelName,
  target: TargetId,
  format: Format,
  connections: number,
): LoadResult | undefined {
  const result = results.rows.find(
    (r) => r.model === model && r.target === target && r.format === format && r.connections === connections,
  )?.result;
  return result !== undefined && result.requests > 0 ? result : undefined;
}

const fmt = (n: number, digits = 2) => n.toFixed(digits);

function ratioCheck(
  name: string,
  numerator: number | undefined,
  denominator: number | undefined,
  min: number,
  what: string,
): Check {
  if (numerator === undefined || denominator === undefined || denominator === 0)
    return { name, measured: 'not measured', pass: undefined };
  const ratio = numerator / denominator;
  return {
    name,
    measured: `${fmt(ratio)}x (${what.replace('%n', round(numerator)).replace('%d', round(denominator))})`,
    pass: ratio >= min,
  };
}

/** The issue-3 targets, in the order the issue lists them. */
export function checkTargets(results: BenchResults): Check[] {
  const mobilenetLimit = results.limits.find((l) => l.model === 'mobilenet_v2');
  const mobilenet16 = find(results, 'mobilenet_v2', 'berth', 'binary', 16);
  const cold = results.coldStart;
  const p99Check: Check =
    mobilenet16 === undefined
      ? { name: 'mobilenet_v2, c16: berth p99 <= 1.5x its p50', measured: 'not measured', pass: undefined }
      : {
          name: 'mobilenet_v2, c16: berth p99 <= 1.5x its p50',
          measured: `${fmt(mobilenet16.p99Ms / mobilenet16.p50Ms)}x (p50 ${ms(mobilenet16.p50Ms)} ms, p99 ${ms(mobilenet16.p99Ms)} ms)`,
          pass: mobilenet16.p99Ms <= 1.5 * mobilenet16.p50Ms,
        };
  return [
    ratioCheck(
      'mobilenet_v2, binary, c16: berth >= 0.95x raw onnxruntime in-process best',
      mobilenet16?.rps,
      mobilenetLimit?.bestItemsPerSecond,
      0.95,
      `%n req/s vs %d images/s at batch ${mobilenetLimit?.bestBatch ?? '?'}`,
    ),
    ratioCheck(
      'tiny MLP, c64: berth binary >= 0.5x bare node:http',
      find(results, 'mlp', 'berth', 'binary', 64)?.rps,
      find(results, 'mlp', 'node-http-bare', 'json', 64)?.rps,
      0.5,
      '%n vs %d req/s',
    ),
    ratioCheck(
      'tiny MLP, c64: berth binary >= berth JSON',
      find(results, 'mlp', 'berth', 'binary', 64)?.rps,
      find(results, 'mlp', 'berth', 'json', 64)?.rps,
      1,
      '%n vs %d req/s',
    ),
    p99Check,
    ratioCheck(
      'resnet18, binary, c16: berth >= 2x FastAPI + torch',
      find(results, 'resnet18', 'berth', 'binary', 16)?.rps,
      find(results, 'resnet18', 'fastapi-torch', 'binary', 16)?.rps,
      2,
      '%n vs %d req/s',
    ),
    cold === undefined
      ? { name: 'mobilenet_v2: berth serve start to ready <= 1 s', measured: 'not measured', pass: undefined }
      : {
          name: 'mobilenet_v2: berth serve start to ready <= 1 s',
          measured: `${Math.round(cold.medianMs)} ms median of ${cold.samplesMs.length}; RSS at ready ${Math.round(cold.rssAtReadyMiB)} MiB`,
          pass: cold.medianMs <= 1000,
        },
  ];
}

function round(n: number): string {
  return n >= 100 ? String(Math.round(n)) : n.toFixed(1);
}

function ms(n: number): string {
  return n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : String(Math.round(n));
}

function table(
  header: readonly string[],
  align: readonly ('l' | 'r')[],
  rows: readonly (readonly string[])[],
): string {
  const widths = header.map((h, i) => Math.max(h.length, 3, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((c, i) => (align[i] === 'r' ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join(' | ')} |`;
  const rule = `| ${widths.map((w, i) => (align[i] === 'r' ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w))).join(' | ')} |`;
  return [line(header), rule, ...rows.map(line)].join('\n');
}

const MODEL_TITLES: Record<ModelName, string> = {
  mlp: 'Tiny MLP (`[1,64]` FP32 per request, 3 Gemm layers; overhead-bound)',
  mobilenet_v2: 'mobilenet_v2 (`[1,3,224,224]` FP32 per request, random weights)',
  resnet18: 'resnet18 (`[1,3,224,224]` FP32 per request, random weights)',
};

export function toMarkdown(
  results: BenchResults,
  checks: readonly Check[],
  chartPath: string | undefined,
): string {
  const out: string[] = [];
  out.push(
    `Command: \`${results.command}\`\n`,
    `Machine: ${results.machine}. ${Object.entries(results.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}. ${results.date}.\n`,
    `Each run: wrk, one thread, keep-alive connections, ${results.seconds} s measured (${results.cnnSeconds} s for the CNNs) ` +
      `after a ${results.warmupSeconds} s warm-up whose numbers are dropped; every target in its own process, one at a time, ` +
      'on the same cores as wrk. Latencies are of completed requests; "-" means none completed within the run.\n',
    '### Targets\n',
    table(
      ['target', 'measured', 'met'],
      ['l', 'l', 'l'],
      checks.map((c) => [c.name, c.measured, c.pass === undefined ? 'n/a' : c.pass ? 'yes' : '**no**']),
    ),
    '',
  );
  if (chartPath !== undefined) out.push(`![throughput against p99 latency](${chartPath})\n`);
  out.push('### Compute limit: onnxruntime-node in-process, no HTTP\n');
  out.push(
    table(
      ['model', ...(results.limits[0]?.results.map((r) => `batch ${r.batch}`) ?? []), 'best'],
      ['l', ...(results.limits[0]?.results.map(() => 'r' as const) ?? []), 'r'],
      results.limits.map((l) => [
        l.model,
        ...(results.limits[0]?.results.map((r) => {
          const mine = l.results.find((m) => m.batch === r.batch);
          return mine === undefined ? '' : round(mine.itemsPerSecond);
        }) ?? []),
        `${round(l.bestItemsPerSecond)} (batch ${l.bestBatch})`,
      ]),
    ),
    '\nItems per second; each batch size run back to back.\n',
  );
  for (const model of [...new Set(results.rows.map((r) => r.model))]) {
    out.push(`### ${MODEL_TITLES[model]}\n`);
    const rows = results.rows
      .filter((r) => r.model === model)
      .sort((a, b) => a.connections - b.connections)
      .map((r) => [
        r.label,
        r.format === 'json' ? 'JSON' : 'binary',
        String(r.connections),
        ...(r.result.requests === 0
          ? ['-', '-', '-', '-']
          : [round(r.result.rps), ms(r.result.p50Ms), ms(r.result.p90Ms), ms(r.result.p99Ms)]),
        String(r.result.errors),
      ]);
    out.push(
      table(
        ['target', 'tensors', 'connections', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'errors'],
        ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r'],
        rows,
      ),
      '',
    );
  }
  out.push('### Start and memory\n');
  out.push(
    table(
      ['model', 'target', 'start to ready ms', 'RSS after the load MiB'],
      ['l', 'l', 'r', 'r'],
      results.processes.map((p) => [
        p.model,
        p.label,
        String(Math.round(p.startMs)),
        String(Math.round(p.rssMiB)),
      ]),
    ),
    '\nRSS is the whole process tree (gunicorn\'s workers included). "Start to ready" is spawn to the first ' +
      '200 from `GET /v2/health/ready`, polled every 5 ms.\n',
  );
  out.push('### What each target is\n');
  out.push(results.targets.map((t) => `- **${t.label}**: ${t.about}.`).join('\n'), '');
  return out.join('\n');
}
