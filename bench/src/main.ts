/**
 * `npm run bench`: berth against the hardware limits and the servers users would pick instead,
 * in one run on this machine. First the target runs (issue 12's targets, each beside its limit,
 * in rounds), then the side-by-side sweep. Writes bench/results/*.json; a full run also rewrites
 * the results section of BENCHMARKS.md and its chart. `--help` lists the options.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { throughputChartSvg } from './chart.js';
import { checkTargets } from './checks.js';
import { type ComputeLimit, summarizeLimit } from './limits.js';
import { type ConfigObject, MODEL_NAMES, type ModelName, prepareModels } from './models.js';
import { preflight, versions } from './environment.js';
import { BENCH_DIR, ROOT_DIR } from './paths.js';
import { type BenchResults, type Row, toMarkdown } from './report.js';
import { createServerRuns } from './server-run.js';
import { runSweep } from './sweep.js';
import { runTargets } from './target-runs.js';
import { TARGET_IDS, type TargetId, createTargets } from './targets.js';

const HELP = `Usage: npm run bench [-- options]

First the target runs: what issue 12's targets need, each beside its limit in the same run, in
--rounds rounds (the order reversed every other round; the report takes the medians):
mobilenet_v2 through berth, the naive node:http + onnxruntime server and onnxruntime-node
in-process (batch 1 to 16, intra-op threads = cores, spinning on and off; one thread at batch 1);
the tiny MLP through berth, the naive server and bare node:http; berth's cold start. Then, unless
--quick or --no-sweep, the side-by-side sweep: berth (JSON and binary tensors, batching on and
off) against the limits, the naive server, FastAPI + uvicorn + torch and Flask + gunicorn +
torch, on the tiny MLP, mobilenet_v2 and resnet18, at each connection count.

Options:
  --quick               about 3 minutes: the target runs only, shorter; writes results/ only
  --no-sweep            the target runs only, full length; writes results/ only
  --rounds <n>          rounds of the target runs (default: 3, 2 with --quick)
  --models <list>       comma-separated, of: ${MODEL_NAMES.join(', ')} (default: all)
  --targets <list>      the sweep's targets, comma-separated, of: ${TARGET_IDS.join(', ')}
                        (default: all; berth-tuned only with --tuned-args or --tuned-config)
  --connections <list>  the sweep's concurrency (default: 1,4,16,64)
  --duration <s>        measured whole seconds per run (default: 8, 3 with --quick; the CNNs
                        get 10 (5) at least, so that slow peers complete enough requests)
  --warmup <s>          warm-up seconds before each run, not counted (default: 2, 1 with --quick)
  --tuned-args=<flags>  also run "berth, tuned" (target runs and sweep), berth serve with these
                        extra flags: --tuned-args='--intra-op-threads 1' (with the =)
  --tuned-config <json> and/or these config.yaml keys merged into the batching config:
                        --tuned-config '{"instances":2,"threads":{"spinning":true}}'
  --no-write            do not touch BENCHMARKS.md or its chart (a full run writes them)
  --check               exit 1 when a target is missed (informational rows do not count)
  -h, --help            this text

Needs wrk and, for the torch peers and model export, Debian's python3-torch & co:
  npm run deps   (runs scripts/bench-deps.sh; apt, as root or with sudo)`;

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'no-sweep': { type: 'boolean', default: false },
    rounds: { type: 'string' },
    models: { type: 'string' },
    targets: { type: 'string' },
    connections: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    'tuned-args': { type: 'string' },
    'tuned-config': { type: 'string' },
    'no-write': { type: 'boolean', default: false },
    check: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

function fail(message: string): never {
  console.error(`bench: ${message}`);
  process.exit(2);
}

function listOption<T extends string>(value: string | undefined, allowed: readonly T[], what: string): T[] {
  if (value === undefined) return [...allowed];
  const items = value.split(',').map((s) => s.trim());
  for (const item of items)
    if (!allowed.includes(item as T))
      fail(`--${what}: unknown ${JSON.stringify(item)}; expected one of ${allowed.join(', ')}`);
  return items as T[];
}

/** A whole number option (wrk counts whole seconds). */
function wholeOption(
  value: string | undefined,
  fallback: number,
  what: string,
  range: { min: number; max: number; unit: string },
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < range.min || n > range.max)
    fail(
      `--${what}: expected whole ${range.unit} from ${range.min} to ${range.max}, got ${JSON.stringify(value)}`,
    );
  return n;
}

/** The command line as typed into a shell. */
function shellQuote(args: readonly string[]): string {
  return args.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

function tunedConfigOption(value: string | undefined): ConfigObject {
  if (value === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (error) {
    fail(`--tuned-config: not JSON (${error instanceof Error ? error.message : String(error)}): ${value}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    fail(`--tuned-config: expected a JSON object of config.yaml keys, got ${value}`);
  return parsed as ConfigObject;
}

async function main(): Promise<void> {
  if (opts.help) {
    console.log(HELP);
    return;
  }
  const quick = opts.quick;
  const sweep = !quick && !opts['no-sweep'];
  const models = listOption<ModelName>(opts.models, MODEL_NAMES, 'models');
  const tunedArgs = opts['tuned-args']?.split(/\s+/).filter((a) => a !== '') ?? [];
  const tunedConfig = tunedConfigOption(opts['tuned-config']);
  const tuned = opts['tuned-args'] !== undefined || opts['tuned-config'] !== undefined;
  const allTargets = createTargets({ args: tunedArgs, config: tunedConfig });
  const sweepTargets = listOption<TargetId>(
    opts.targets,
    TARGET_IDS.filter((id) => tuned || id !== 'berth-tuned'),
    'targets',
  ).map((id) => allTargets.find((t) => t.id === id) ?? fail(`unknown target ${id}`));
  const connectionsOption = opts.connections?.split(',').map((c) => {
    const n = Number(c);
    if (!Number.isInteger(n) || n < 1 || n > 1024)
      fail(`--connections: expected integers 1..1024, got ${JSON.stringify(c)}`);
    return n;
  });
  const connections = connectionsOption ?? [1, 4, 16, 64];
  const seconds = wholeOption(opts.duration, quick ? 3 : 8, 'duration', {
    min: 1,
    max: 3600,
    unit: 'seconds',
  });
  const secondsFor = (model: ModelName): number =>
    model === 'mlp' ? seconds : Math.max(seconds, quick ? 5 : 10);
  const warmupSeconds = wholeOption(opts.warmup, quick ? 1 : 2, 'warmup', {
    min: 0,
    max: 3600,
    unit: 'seconds',
  });
  const rounds = wholeOption(opts.rounds, quick ? 2 : 3, 'rounds', { min: 1, max: 99, unit: 'rounds' });
  const limitSeconds = quick ? 1.5 : 3;
  const torchPeers = sweep && sweepTargets.some((t) => t.id.endsWith('-torch'));
  // The CNNs are exported by torch the first time.
  const needsPython = models.some((m) => m !== 'mlp') || torchPeers;
  preflight(needsPython);

  const started = performance.now();
  const benchModels = prepareModels(models, tunedConfig);
  const servers = createServerRuns();
  const targetRuns = await runTargets({
    models: benchModels,
    targets: allTargets,
    tuned,
    rounds,
    quick,
    secondsFor,
    warmupSeconds,
    limitSeconds,
    coldStartTries: quick ? 3 : 5,
    servers,
  });
  const limits: ComputeLimit[] = targetRuns.limitRounds.map((l) => summarizeLimit(l.model, l.rounds));
  console.error(`bench: target runs done in ${Math.round((performance.now() - started) / 1000)} s`);

  const rows: readonly Row[] = sweep
    ? await runSweep({
        models: benchModels,
        targets: sweepTargets,
        connections,
        secondsFor,
        warmupSeconds,
        limitSeconds,
        limits,
        servers,
      })
    : [];
  limits.sort(
    (a, b) => MODEL_NAMES.indexOf(a.model as ModelName) - MODEL_NAMES.indexOf(b.model as ModelName),
  );

  const described = new Set([
    'berth',
    'node-naive',
    'node-http-bare',
    ...(tuned ? ['berth-tuned'] : []),
    ...(sweep ? sweepTargets.map((t) => t.id) : []),
  ]);
  const results: BenchResults = {
    date: new Date().toISOString().slice(0, 10),
    command: `cd bench && npm run bench${process.argv.length > 2 ? ` -- ${shellQuote(process.argv.slice(2))}` : ''}`,
    machine: `${cpus().length} x ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB`,
    versions: versions(torchPeers),
    seconds,
    cnnSeconds: secondsFor('resnet18'),
    warmupSeconds,
    rounds,
    limitSeconds,
    targets: allTargets.filter((t) => described.has(t.id)).map((t) => ({ label: t.label, about: t.about })),
    samples: targetRuns.samples,
    rows,
    processes: servers.processes(),
    limits,
    coldStart: targetRuns.coldStart,
  };
  const checks = checkTargets(results);
  const resultsDir = join(BENCH_DIR, 'results');
  mkdirSync(resultsDir, { recursive: true });
  const stamp = `${sweep ? '' : quick ? 'quick-' : 'targets-'}${new Date().toISOString().replace(/[:.]/g, '-')}`;
  writeFileSync(
    join(resultsDir, `${stamp}.json`),
    JSON.stringify({ ...results, limitRounds: targetRuns.limitRounds, checks }, null, 2),
  );
  const write = sweep && !opts['no-write'];
  const chartRelative = 'docs/img/bench-throughput-p99.svg';
  const svg = rows.length > 0 ? await throughputChartSvg(results) : undefined;
  if (svg !== undefined) writeFileSync(join(resultsDir, `${stamp}.svg`), svg);
  const markdown = toMarkdown(results, checks, write && svg !== undefined ? chartRelative : undefined);
  writeFileSync(join(resultsDir, `${stamp}.md`), markdown);
  if (write) {
    mkdirSync(join(ROOT_DIR, 'docs', 'img'), { recursive: true });
    if (svg !== undefined) writeFileSync(join(ROOT_DIR, chartRelative), svg);
    updateBenchmarksMd(markdown);
  }
  console.log(markdown);
  const counted = checks.filter((c) => !c.informational);
  const missed = counted.filter((c) => c.pass === false);
  const unmeasured = counted.filter((c) => c.pass === undefined).length;
  console.error(
    `bench: ${counted.filter((c) => c.pass === true).length} of ${counted.length} targets met` +
      (unmeasured > 0 ? ` (${unmeasured} not measured)` : '') +
      (missed.length > 0 ? `; missed: ${missed.map((c) => c.name).join('; ')}` : '') +
      `; ${Math.round((performance.now() - started) / 1000)} s` +
      (write ? '; BENCHMARKS.md updated' : `; results in ${join(resultsDir, stamp)}.*`),
  );
  if (opts.check && missed.length > 0) process.exitCode = 1;
}

const START = '<!-- bench:start -->';
const END = '<!-- bench:end -->';

function updateBenchmarksMd(markdown: string): void {
  const path = join(ROOT_DIR, 'BENCHMARKS.md');
  const text = readFileSync(path, 'utf8');
  const block = `${START}\n${markdown}\n${END}`;
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  writeFileSync(
    path,
    start >= 0 && end > start
      ? text.slice(0, start) + block + text.slice(end + END.length)
      : `${text.trimEnd()}\n\n${block}\n`,
  );
}

await main();
