/**
 * `npm run fuzz`: coverage-guided fuzzing of every parser of untrusted input (fuzz/targets/),
 * each in a worker thread of its own for a given time, guided by V8's block coverage of berth's
 * built code. A finding (an exception outside the parser's contract, a run past --timeout, memory
 * out of proportion to the input) is written to fuzz/.work/findings/ and fails the run.
 *
 *   npm run build && node fuzz/main.ts [--target NAME]... [--time 10s] [--seed N] [--save] [--json]
 *   node fuzz/main.ts --replay [FILE --target NAME]   the committed corpus and regressions (or one input)
 *   node fuzz/main.ts --write-seeds                    rewrites fuzz/corpus/ from each target's seeds
 *   node fuzz/main.ts --list
 *
 * docs/fuzzing.md says how to run it for an hour and what to do with a finding.
 */
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { runOnce, type Finding, type LoopStats } from './engine.ts';
import { loadTarget, TARGETS } from './targets/index.ts';
import type { WorkerInput } from './worker.ts';

const HERE = fileURLToPath(new URL('.', import.meta.url));
/** Findings and grown corpora; BERTH_FUZZ_WORK moves them (the tests use a temporary folder). */
const WORK = process.env.BERTH_FUZZ_WORK ?? join(HERE, '.work');
const MAX_INPUT = 64 * 1024;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    target: { type: 'string', multiple: true },
    time: { type: 'string', default: '10s' },
    seed: { type: 'string' },
    timeout: { type: 'string', default: '2s' },
    'max-execs': { type: 'string', default: String(Number.MAX_SAFE_INTEGER) },
    'max-alloc': { type: 'string', default: '64' },
    save: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    replay: { type: 'boolean', default: false },
    'write-seeds': { type: 'boolean', default: false },
    list: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

function ms(text: string, what: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text);
  if (match === null)
    throw new Error(`${what}: expected a duration such as 500ms, 10s, 5m or 1h; got "${text}"`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] as 'ms' | 's' | 'm' | 'h'];
  return Number(match[1]) * unit;
}

/** The files of a folder, by name, or none when it does not exist. */
function filesOf(dir: string): { name: string; bytes: Uint8Array }[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .map((name) => ({ name, bytes: new Uint8Array(readFileSync(join(dir, name))) }));
}

const sha1 = (bytes: Uint8Array) => createHash('sha1').update(bytes).digest('hex').slice(0, 16);

const names = values.target ?? TARGETS;
const log = (line: string) => process.stderr.write(`${line}\n`);

/** Where the targets write (scratchFolder): one for this thread, and one for each worker, removed when it ends. */
function newScratch(): string {
  return mkdtempSync(join(tmpdir(), 'berth-fuzz-scratch-'));
}
const ownScratch = newScratch();
process.env.BERTH_FUZZ_SCRATCH = ownScratch;
process.once('exit', () => rmSync(ownScratch, { recursive: true, force: true }));

if (values.help) {
  log(
    readFileSync(fileURLToPath(import.meta.url), 'utf8')
      .split('*/')[0]
      ?.replace(/^\/\*\*|^ \* ?/gm, '') ?? '',
  );
  process.exit(0);
}

if (values.list) {
  for (const name of TARGETS) log(`${name.padEnd(18)} ${(await loadTarget(name)).description}`);
  process.exit(0);
}

if (values['write-seeds']) {
  for (const name of TARGETS) {
    const dir = join(HERE, 'corpus', name);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const seeds = await (await loadTarget(name)).seeds();
    for (const [file, bytes] of Object.entries(seeds)) writeFileSync(join(dir, file), bytes);
    log(`${name}: ${Object.keys(seeds).length} seeds in fuzz/corpus/${name}/`);
  }
  process.exit(0);
}

const maxAllocBytes = Number(values['max-alloc']) * 2 ** 20;

if (values.replay) {
  let failed = 0;
  if (positionals.length > 0) {
    if (names.length !== 1) throw new Error('--replay FILE needs exactly one --target');
    const target = await loadTarget(names[0] as string);
    for (const file of positionals) {
      const finding = await runOnce(target, new Uint8Array(readFileSync(file)), maxAllocBytes);
      log(
        finding === undefined ? `${file}: kept the contract` : `${file}: ${finding.kind}\n${finding.detail}`,
      );
      if (finding !== undefined) failed++;
    }
    process.exit(failed === 0 ? 0 : 1);
  }
  const report: Record<string, number> = {};
  for (const name of names) {
    const target = await loadTarget(name);
    const inputs = [...filesOf(join(HERE, 'corpus', name)), ...filesOf(join(HERE, 'regressions', name))];
    for (const { name: file, bytes } of inputs) {
      const finding = await runOnce(target, bytes, maxAllocBytes);
      if (finding !== undefined) {
        failed++;
        log(`${name}/${file}: ${finding.kind}\n${finding.detail}`);
      }
    }
    report[name] = inputs.length;
  }
  if (values.json) process.stdout.write(`${JSON.stringify({ replayed: report, failed })}\n`);
  else
    log(
      `replayed ${Object.values(report).reduce((a, b) => a + b, 0)} inputs of ${names.length} targets: ${failed} failed`,
    );
  process.exit(failed === 0 ? 0 : 1);
}

interface TargetResult {
  readonly target: string;
  readonly stats: LoopStats | undefined;
  readonly finding?:
    { readonly kind: Finding['kind']; readonly file: string; readonly detail: string } | undefined;
}

/** Fuzzes one target in a worker: its stats, and its finding if it had one. */
async function fuzz(name: string, seed: number): Promise<TargetResult> {
  const target = await loadTarget(name);
  const seeds = [
    ...filesOf(join(HERE, 'corpus', name)),
    ...filesOf(join(HERE, 'regressions', name)),
    ...filesOf(join(WORK, 'corpus', name)),
  ].map((file) => file.bytes.subarray(0, target.maxLength));
  const input: WorkerInput = {
    target: name,
    seeds,
    timeMs: ms(values.time, '--time'),
    maxExecs: Number(values['max-execs']),
    seed,
    maxAllocBytes,
    state: new SharedArrayBuffer(8),
    clock: new SharedArrayBuffer(8),
    input: new SharedArrayBuffer(MAX_INPUT),
  };
  const state = new Int32Array(input.state);
  const clock = new Float64Array(input.clock);
  const running = () => new Uint8Array(input.input).slice(0, Atomics.load(state, 1));
  const timeoutMs = ms(values.timeout, '--timeout');
  const scratch = newScratch();
  const worker = new Worker(new URL('./worker.ts', import.meta.url), {
    workerData: input,
    env: { ...process.env, BERTH_FUZZ_SCRATCH: scratch },
    // A parser that needs more than this for at most 64 KiB of input is itself the finding.
    resourceLimits: { maxOldGenerationSizeMb: 512 },
  });
  let stats: LoopStats | undefined;
  const save = (kind: Finding['kind'], bytes: Uint8Array, detail: string): TargetResult['finding'] => {
    const dir = join(WORK, 'findings', name);
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${kind}-${sha1(bytes)}`);
    writeFileSync(file, bytes);
    return { kind, file, detail };
  };
  return new Promise<TargetResult>((resolve) => {
    let settled = false;
    const settle = (result: TargetResult) => {
      if (settled) return;
      settled = true;
      clearInterval(watchdog);
      void worker.terminate().finally(() => {
        rmSync(scratch, { recursive: true, force: true });
        resolve(result);
      });
    };
    const watchdog = setInterval(() => {
      if (Atomics.load(state, 0) === 1 && Date.now() - (clock[0] as number) > timeoutMs) {
        settle({
          target: name,
          stats,
          finding: save('timeout', running(), `one run took longer than ${values.timeout}`),
        });
      }
    }, 100);
    worker.on(
      'message',
      (message: { type: string; stats?: LoopStats; input?: Uint8Array; finding?: Finding }) => {
        if (message.type === 'progress' && message.stats !== undefined) {
          stats = message.stats;
          if (!values.json) log(`  ${name}: ${describe(message.stats)}`);
        } else if (message.type === 'kept' && message.input !== undefined && values.save) {
          const dir = join(WORK, 'corpus', name);
          mkdirSync(dir, { recursive: true });
          writeFileSync(join(dir, sha1(message.input)), message.input);
        } else if (message.type === 'done') {
          stats = message.stats;
          const finding = message.finding;
          settle({
            target: name,
            stats,
            ...(finding === undefined ? {} : { finding: save(finding.kind, finding.input, finding.detail) }),
          });
        }
      },
    );
    worker.on('error', (error: Error & { code?: string }) => {
      const kind = error.code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'oom' : 'crash';
      settle({ target: name, stats, finding: save(kind, running(), error.stack ?? error.message) });
    });
    worker.on('exit', () => settle({ target: name, stats }));
  });
}

function describe(stats: LoopStats): string {
  return `${stats.execs} runs in ${stats.seconds.toFixed(1)} s (${Math.round(stats.execs / Math.max(stats.seconds, 0.001))}/s), corpus ${stats.corpus}, ${stats.features} features, ${stats.covered} of ${stats.blocks} blocks of its modules`;
}

const seed = values.seed === undefined ? Date.now() % 2 ** 31 : Number(values.seed);
const results: TargetResult[] = [];
for (const name of names) {
  if (!values.json) log(`${name} (seed ${seed}, ${values.time})`);
  const result = await fuzz(name, seed);
  results.push(result);
  if (values.json) continue;
  if (result.stats !== undefined) log(`  ${name}: ${describe(result.stats)}`);
  if (result.finding !== undefined) {
    log(`  FINDING (${result.finding.kind}) saved as ${result.finding.file}\n${result.finding.detail}`);
    log(`  reproduce: node fuzz/main.ts --replay ${result.finding.file} --target ${name}`);
  }
}
const found = results.filter((result) => result.finding !== undefined).length;
if (values.json) process.stdout.write(`${JSON.stringify({ seed, results }, null, 2)}\n`);
else log(`${names.length} targets fuzzed: ${found === 0 ? 'no finding' : `${found} with a finding`}`);
process.exit(found === 0 ? 0 : 1);
