/**
 * `npm run bench`: berth against the hardware limits and the servers users would pick instead,
 * in one run on this machine. Writes bench/results/*.json; a full run also rewrites the results
 * section of BENCHMARKS.md and its chart. `--help` lists the options.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

import { throughputChartSvg } from './chart.js';
import { type ColdStart, type ComputeLimit, coldStart, computeLimit } from './limits.js';
import { measure, probe } from './load.js';
import { type BenchModel, MODEL_NAMES, type ModelName, prepareModels } from './models.js';
import { BENCH_DIR, PYTHON, ROOT_DIR } from './paths.js';
import { freePort, treeRssMiB } from './process.js';
import { type BenchResults, type ProcessReport, type Row, checkTargets, toMarkdown } from './report.js';
import { TARGETS, type TargetId } from './targets.js';

const HELP = `Usage: npm run bench [-- options]

Measures berth (JSON and binary tensors, batching on and off) against the compute limit
(onnxruntime-node in-process), the HTTP limit (bare node:http), a naive node:http + onnxruntime
server, FastAPI + uvicorn + torch and Flask + gunicorn + torch, on a tiny MLP, mobilenet_v2 and
resnet18, and checks the targets listed in BENCHMARKS.md.

Options:
  --quick               about 2 minutes: only what the targets need (MLP at 16 and 64
                        connections, the CNNs at 16), short runs; writes results/ only
  --models <list>       comma-separated, of: ${MODEL_NAMES.join(', ')} (default: all)
  --targets <list>      comma-separated, of: ${TARGETS.map((t) => t.id).join(', ')} (default: all)
  --connections <list>  concurrency sweep (default: 1,4,16,64)
  --duration <s>        measured whole seconds per run (default: 8; the CNNs get 10 at least,
                        so that slow peers complete enough requests)
  --warmup <s>          warm-up seconds before each run, not counted (default: 2)
  --no-write            do not touch BENCHMARKS.md or its chart (a full run writes them)
  --check               exit 1 when a target is missed
  -h, --help            this text

Needs wrk and, for the torch peers and model export, Debian's python3-torch & co:
  npm run deps   (runs scripts/bench-deps.sh; apt, as root or with sudo)`;

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    models: { type: 'string' },
    targets: { type: 'string' },
    connections: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
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

/** wrk counts whole seconds. */
function secondsOption(value: string | undefined, fallback: number, what: string, min: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > 3600)
    fail(`--${what}: expected whole seconds from ${min} to 3600, got ${JSON.stringify(value)}`);
  return n;
}

function preflight(needsPython: boolean): void {
  if (spawnSync('wrk', ['-v']).error !== undefined)
    fail('wrk not found. Install the bench tools: npm run deps');
  if (!needsPython) return;
  const imports = spawnSync(
    PYTHON,
    ['-c', 'import torch, torchvision, onnx, numpy, fastapi, uvicorn, flask, gunicorn'],
    {
      encoding: 'utf8',
    },
  );
  if (imports.status !== 0)
    fail(
      `${PYTHON} cannot import the torch peers' packages (${(imports.stderr || String(imports.error)).trim().split('\n').pop() ?? ''}).\nInstall them: npm run deps`,
    );
}

function versions(needsPython: boolean): Record<string, string> {
  const pkg = (path: string) => (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
  const out: Record<string, string> = {
    node: process.version,
    berth: `${pkg(join(ROOT_DIR, 'package.json'))} (${execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT_DIR, encoding: 'utf8' }).trim()})`,
    'onnxruntime-node': pkg(join(ROOT_DIR, 'node_modules', 'onnxruntime-node', 'package.json')),
    wrk: /wrk (?:debian\/)?([\d.]+)/.exec(spawnSync('wrk', ['-v'], { encoding: 'utf8' }).stdout)?.[1] ?? '?',
  };
  if (needsPython) {
    const script =
      'import json, sys, importlib.metadata as m\n' +
      'print(json.dumps({"python": sys.version.split()[0], **{p: m.version(p) for p in ["torch", "fastapi", "uvicorn", "flask", "gunicorn"]}}))';
    Object.assign(
      out,
      JSON.parse(execFileSync(PYTHON, ['-c', script], { encoding: 'utf8' })) as Record<string, string>,
    );
  }
  return out;
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

async function main(): Promise<void> {
  if (opts.help) {
    console.log(HELP);
    return;
  }
  const quick = opts.quick;
  const models = listOption<ModelName>(opts.models, MODEL_NAMES, 'models');
  const targets = listOption<TargetId>(
    opts.targets,
    TARGETS.map((t) => t.id),
    'targets',
  ).map((id) => TARGETS.find((t) => t.id === id) ?? fail(`unknown target ${id}`));
  const connectionsOption = opts.connections?.split(',').map((c) => {
    const n = Number(c);
    if (!Number.isInteger(n) || n < 1 || n > 1024)
      fail(`--connections: expected integers 1..1024, got ${JSON.stringify(c)}`);
    return n;
  });
  const connectionsFor = (model: ModelName): number[] =>
    connectionsOption ?? (quick ? (model === 'mlp' ? [16, 64] : [16]) : [1, 4, 16, 64]);
  const seconds = secondsOption(opts.duration, quick ? 1 : 8, 'duration', 1);
  const secondsFor = (model: ModelName): number =>
    model === 'mlp' ? seconds : Math.max(seconds, quick ? 5 : 10);
  const warmupSeconds = secondsOption(opts.warmup, quick ? 1 : 2, 'warmup', 0);
  const needsPython = models.some((m) => m !== 'mlp') || targets.some((t) => t.id.endsWith('-torch'));
  preflight(needsPython);

  const benchModels = prepareModels(models);
  const limits: ComputeLimit[] = [];
  for (const model of benchModels) {
    console.error(`bench: compute limit, ${model.name}`);
    limits.push(await computeLimit(model, quick ? 0.5 : 3));
  }
  const mobilenet = benchModels.find((m) => m.name === 'mobilenet_v2');
  let cold: ColdStart | undefined;
  if (mobilenet !== undefined && targets.some((t) => t.id === 'berth')) {
    console.error('bench: cold start, mobilenet_v2');
    cold = await coldStart(mobilenet, quick ? 2 : 5);
  }

  const plan = benchModels.flatMap((model) =>
    targets
      .map((target) => ({ model, target, formats: target.formats(model, quick) }))
      .filter((p) => p.formats.length > 0),
  );
  const total = plan.reduce((n, p) => n + p.formats.length * connectionsFor(p.model.name).length, 0);
  const rows: Row[] = [];
  const processes: ProcessReport[] = [];
  const references = new Map<ModelName, Float32Array>();
  for (const { model, target, formats } of plan) {
    const server = await target.start(model, await freePort());
    try {
      if (target.id !== 'node-http-bare')
        checkAnswer(references, model, target.label, await probeAll(server.url, model, formats));
      for (const c of connectionsFor(model.name)) {
        for (const format of formats) {
          const result = await measure(server.url, model, format, c, {
            seconds: secondsFor(model.name),
            warmupSeconds,
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
            `[${rows.length}/${total}] ${model.name} · ${target.label} · ${format} · c${c}: ` +
              `${result.rps.toFixed(1)} req/s, p50 ${result.p50Ms.toFixed(2)} ms, p99 ${result.p99Ms.toFixed(2)} ms` +
              (result.errors > 0 ? `, ${result.errors} ERRORS` : '') +
              (result.requests === 0 ? ', NO REQUEST COMPLETED' : ''),
          );
        }
      }
      const pid = server.child.pid;
      processes.push({
        model: model.name,
        target: target.id,
        label: target.label,
        startMs: server.startMs,
        rssMiB: pid === undefined ? 0 : treeRssMiB(pid),
      });
    } finally {
      await server.stop();
    }
  }

  const results: BenchResults = {
    date: new Date().toISOString().slice(0, 10),
    command: `cd bench && npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    machine: `${cpus().length} x ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${Math.round(totalmem() / 2 ** 30)} GiB`,
    versions: versions(needsPython),
    seconds,
    cnnSeconds: secondsFor('resnet18'),
    warmupSeconds,
    targets: targets.map((t) => ({ label: t.label, about: t.about })),
    rows,
    processes,
    limits,
    coldStart: cold,
  };
  const checks = checkTargets(results);
  const resultsDir = join(BENCH_DIR, 'results');
  mkdirSync(resultsDir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  writeFileSync(
    join(resultsDir, `${quick ? 'quick-' : ''}${stamp}.json`),
    JSON.stringify({ ...results, checks }, null, 2),
  );
  const write = !quick && !opts['no-write'];
  const chartRelative = 'docs/img/bench-throughput-p99.svg';
  const svg = await throughputChartSvg(results);
  writeFileSync(join(resultsDir, `${quick ? 'quick-' : ''}${stamp}.svg`), svg);
  const markdown = toMarkdown(results, checks, write ? chartRelative : undefined);
  if (write) {
    mkdirSync(join(ROOT_DIR, 'docs', 'img'), { recursive: true });
    writeFileSync(join(ROOT_DIR, chartRelative), svg);
    updateBenchmarksMd(markdown);
  }
  console.log(markdown);
  const missed = checks.filter((c) => c.pass === false);
  console.error(
    `bench: ${checks.filter((c) => c.pass === true).length} of ${checks.length} targets met` +
      (missed.length > 0 ? `; missed: ${missed.map((c) => c.name).join('; ')}` : '') +
      (write ? '; BENCHMARKS.md updated' : `; results in ${resultsDir}`),
  );
  if (opts.check && missed.length > 0) process.exitCode = 1;
}

async function probeAll(url: string, model: BenchModel, formats: readonly ('json' | 'binary')[]) {
  const outputs = [];
  for (const format of formats) outputs.push(await probe(url, model, format));
  return outputs;
}

/** Every target must compute the same function as the first one measured (berth, usually). */
function checkAnswer(
  references: Map<ModelName, Float32Array>,
  model: BenchModel,
  label: string,
  outputs: Float32Array[],
): void {
  for (const output of outputs) {
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
