/** The bench's results and their Markdown. */
import { type Check, medians, round, time } from './checks.js';
import { type ColdStart, type ComputeLimit, type LimitResult, describeConfig } from './limits.js';
import type { LoadResult } from './load.js';
import type { Format, ModelName } from './models.js';
import type { ProcessReport } from './server-run.js';
import type { Sample } from './target-runs.js';
import type { TargetId } from './targets.js';

/** One load of the side-by-side sweep. */
export interface Row {
  readonly model: ModelName;
  readonly target: TargetId;
  readonly label: string;
  readonly format: Format;
  readonly connections: number;
  readonly result: LoadResult;
}

export interface BenchResults {
  readonly date: string;
  readonly command: string;
  readonly machine: string;
  readonly versions: Readonly<Record<string, string>>;
  readonly seconds: number;
  readonly cnnSeconds: number;
  readonly warmupSeconds: number;
  /** Rounds of the target runs. */
  readonly rounds: number;
  readonly limitSeconds: number;
  readonly targets: readonly { label: string; about: string }[];
  /** The target runs, every round. */
  readonly samples: readonly Sample[];
  /** The side-by-side sweep (not in a quick run). */
  readonly rows: readonly Row[];
  readonly processes: readonly ProcessReport[];
  /** Per model, the medians of its compute-limit rounds. */
  readonly limits: readonly ComputeLimit[];
  readonly coldStart: ColdStart | undefined;
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

const tensors = (format: Format) => (format === 'json' ? 'JSON' : 'binary');

function targetsSection(results: BenchResults, checks: readonly Check[]): string[] {
  const met = (c: Check) => {
    const word = c.pass === undefined ? 'n/a' : c.pass ? 'yes' : 'no';
    return c.informational ? `(${word})` : c.pass === false ? '**no**' : word;
  };
  return [
    '### Targets (issue 12)\n',
    table(
      ['target', 'berth', 'limit', 'result', 'met'],
      ['l', 'l', 'l', 'l', 'l'],
      checks.map((c) => [c.name, c.measured, c.limit, c.result, met(c)]),
    ),
    (results.rounds === 1
      ? '\nOne round: berth and its limits ran one after the other. '
      : `\nEach figure is the median of ${results.rounds} rounds in which berth and its limits ran one after ` +
        'the other, the order reversed every other round. ') +
      'CPU per request: user + system time of the ' +
      "server's process (every thread) over the measured run, from /proc/PID/stat, over the requests " +
      "completed; onnxruntime's CPU per image: process.cpuUsage() over its timed loop, over the images. " +
      'Met in parentheses: for context, not checked.\n',
  ];
}

function roundsSection(results: BenchResults): string[] {
  const keys = [
    ...new Map(
      results.samples.map((s) => [`${s.model}\0${s.target}\0${s.format}\0${s.connections}`, s]),
    ).values(),
  ];
  const cell = (values: readonly number[], median: number, show: (n: number) => string) =>
    values.length > 1 ? `${show(median)} (${values.map(show).join(', ')})` : show(median);
  const rows = keys.flatMap((s) => {
    const m = medians(results, s.model, s.target, s.format, s.connections);
    if (m === undefined) return [[s.model, s.label, tensors(s.format), String(s.connections), '-', '-', '-']];
    const cpu = m.runs.map((r) => r.cpuUsPerRequest ?? NaN);
    return [
      [
        s.model,
        s.label,
        tensors(s.format),
        String(s.connections),
        cell(
          m.runs.map((r) => r.rps),
          m.rps,
          round,
        ),
        cell(
          m.runs.map((r) => r.p50Ms * 1000),
          m.p50Ms * 1000,
          time,
        ),
        m.cpuUsPerRequest === undefined ? '-' : cell(cpu, m.cpuUsPerRequest, time),
      ],
    ];
  });
  return [
    '### Target runs: median (each round)\n',
    table(
      ['model', 'target', 'tensors', 'connections', 'req/s', 'p50', 'CPU/request'],
      ['l', 'l', 'l', 'r', 'r', 'r', 'r'],
      rows,
    ),
    '',
  ];
}

function limitSection(results: BenchResults): string[] {
  const batches = [...new Set(results.limits.flatMap((l) => l.results.map((r) => r.batch)))].sort(
    (a, b) => a - b,
  );
  const rows = results.limits.flatMap((l) => {
    const configs = [...new Map(l.results.map((r) => [`${r.threads}/${r.spinning}`, r])).values()];
    return configs.map((c) => [
      l.model,
      String(c.threads),
      c.threads === 1 ? '-' : c.spinning ? 'on' : 'off',
      ...batches.map((b) => {
        const r: LimitResult | undefined = l.results.find(
          (x) => x.batch === b && x.threads === c.threads && x.spinning === c.spinning,
        );
        return r === undefined ? '' : `${round(r.itemsPerSecond)} · ${time(r.cpuUsPerItem)}`;
      }),
    ]);
  });
  const bests = results.limits.map(
    (l) => `${l.model}: ${round(l.best.itemsPerSecond)} items/s, ${describeConfig(l.best)}`,
  );
  return [
    '### Compute limit: onnxruntime-node in-process, no HTTP\n',
    table(
      ['model', 'intra-op threads', 'spinning', ...batches.map((b) => `batch ${b}`)],
      ['l', 'r', 'l', ...batches.map(() => 'r' as const)],
      rows,
    ),
    `\nItems per second · CPU per item (user + system, every thread). Each configuration run back to back ` +
      `for ${results.limitSeconds} s in one process; with several rounds, the median. ` +
      `berth's session options otherwise (graph optimisation "all", CPU provider). Best: ${bests.join('; ')}.\n`,
  ];
}

function sweepSection(results: BenchResults): string[] {
  const out: string[] = [];
  for (const model of [...new Set(results.rows.map((r) => r.model))]) {
    out.push(`### ${MODEL_TITLES[model]}\n`);
    const rows = results.rows
      .filter((r) => r.model === model)
      .sort((a, b) => a.connections - b.connections)
      .map((r) => [
        r.label,
        tensors(r.format),
        String(r.connections),
        ...(r.result.requests === 0
          ? ['-', '-', '-', '-', '-']
          : [
              round(r.result.rps),
              ms(r.result.p50Ms),
              ms(r.result.p90Ms),
              ms(r.result.p99Ms),
              r.result.cpuUsPerRequest === undefined ? '-' : time(r.result.cpuUsPerRequest),
            ]),
        String(r.result.errors),
      ]);
    out.push(
      table(
        ['target', 'tensors', 'connections', 'req/s', 'p50 ms', 'p90 ms', 'p99 ms', 'CPU/request', 'errors'],
        ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
        rows,
      ),
      '',
    );
  }
  return out;
}

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
    ...targetsSection(results, checks),
    ...roundsSection(results),
  );
  if (chartPath !== undefined) out.push(`![throughput against p99 latency](${chartPath})\n`);
  if (results.limits.length > 0) out.push(...limitSection(results));
  out.push(...sweepSection(results));
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
      '200 from `GET /v2/health/ready`, polled every 5 ms; the last start of each.\n',
  );
  out.push('### What each target is\n');
  out.push(results.targets.map((t) => `- **${t.label}**: ${t.about}.`).join('\n'), '');
  return out.join('\n');
}
