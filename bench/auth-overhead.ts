/**
 * What access control and rate limits cost on the request path (issue 14): `berth serve` on the
 * tiny MLP, binary, with and without `--api-keys --rate-limit --max-concurrent`, the key sent on
 * every request either way. Reports
 * p50 with minus p50 without (target: auth and rate limits together <= 20 µs), and the server's
 * CPU per request at 1 and 16 connections. Rounds alternate the order, as this VM's speed drifts.
 *
 *   npm run build && node bench/auth-overhead.ts [--rounds 5] [--duration 5s]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { benchWithCpu, median, serveRepo } from './src/measured-run.ts';
import { writeTinyMlpRepo } from './src/tiny-mlp.ts';

const BERTH = fileURLToPath(new URL('../bin/berth.js', import.meta.url));
const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '5' }, duration: { type: 'string', default: '5s' } },
});
const rounds = Number(values.rounds);

const dir = mkdtempSync(join(tmpdir(), 'berth-auth-bench-'));
const repo = join(dir, 'models');
writeTinyMlpRepo(repo);
const keyFile = join(dir, 'keys.json');
const made = spawnSync(
  process.execPath,
  [BERTH, 'keys', 'create', '--role', 'infer', '--role', 'read', '--file', keyFile],
  {
    encoding: 'utf8',
  },
);
if (made.status !== 0) throw new Error(`berth keys create failed: ${made.stderr}`);
const key = made.stdout.trim();

async function variant(withKeys: boolean): Promise<Record<string, number>> {
  const served = await serveRepo(
    repo,
    // A limit no run reaches: what is measured is the work of counting, not refusals.
    withKeys ? ['--api-keys', keyFile, '--rate-limit', '1000000/s', '--max-concurrent', '1000'] : [],
  );
  try {
    // The key is sent either way, so that both sides parse the same request.
    const run = (concurrency: number) =>
      benchWithCpu({
        url: served.url,
        model: 'mlp',
        concurrency,
        duration: values.duration,
        pid: served.pid,
        headers: [`authorization:Bearer ${key}`],
      });
    run(1); // warm-up, and the key's one scrypt check
    const c1 = run(1);
    const c16 = run(16);
    return { p50: c1.level.latencyMs.p50, cpuC1: c1.cpuUs, cpuC16: c16.cpuUs };
  } finally {
    await served.stop();
  }
}

/**
 * The interceptor alone, in this process, on a service that answers at once: what access control
 * adds to a request's CPU, without the network's noise. Calls with and without it alternate in
 * blocks; the median difference per call is reported.
 */
async function inProcess(): Promise<{ withUs: number; withoutUs: number; addedUs: number }> {
  const dist = new URL('../dist/', import.meta.url);
  const access = (await import(
    new URL('access/index.js', dist).href
  )) as typeof import('../src/access/index.ts');
  const protocol = (await import(
    new URL('protocol/index.js', dist).href
  )) as typeof import('../src/protocol/index.ts');
  const server = (await import(
    new URL('server/index.js', dist).href
  )) as typeof import('../src/server/index.ts');
  const { readFileSync } = await import('node:fs');
  const keys = new access.ApiKeyStore(access.parseKeyFile(readFileSync(keyFile, 'utf8'), keyFile));
  const answer = Promise.resolve({ model_name: 'mlp', outputs: [] });
  const service = { infer: () => answer } as unknown as Parameters<typeof protocol.intercept>[0];
  const guarded = protocol.intercept(service, [
    access.accessControl({ keys, roleOf: server.roleOf }),
    access.rateLimit({
      perCaller: { perSecond: 1_000_000, burst: 1_000_000 },
      maxConcurrent: 1000,
      roleOf: server.roleOf,
    }),
  ]);
  const bare = protocol.intercept(service, [(next) => (call) => next(call)]);
  const context = { requestId: 'r', transport: 'http' as const, credentials: { token: key } };
  const input = { name: 'mlp', request: {} } as Parameters<typeof guarded.infer>[0];
  await guarded.infer(input, context); // the key's one scrypt check
  const time = async (target: typeof guarded, n: number) => {
    const started = process.hrtime.bigint();
    for (let i = 0; i < n; i++) await target.infer(input, context);
    return Number(process.hrtime.bigint() - started) / 1000 / n;
  };
  const withUs: number[] = [];
  const withoutUs: number[] = [];
  for (let block = 0; block < 20; block++) {
    withoutUs.push(await time(bare, 20_000));
    withUs.push(await time(guarded, 20_000));
  }
  return {
    withUs: median(withUs),
    withoutUs: median(withoutUs),
    addedUs: median(withUs.map((w, i) => w - (withoutUs[i] as number))),
  };
}

try {
  const interceptor = await inProcess();
  console.error(
    `in process: ${interceptor.withoutUs.toFixed(2)} µs a call without access control and rate limits, ${interceptor.withUs.toFixed(2)} µs with (+${interceptor.addedUs.toFixed(2)} µs)`,
  );
  const off: Record<string, number>[] = [];
  const on: Record<string, number>[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const withKeys of round % 2 === 0 ? [false, true] : [true, false]) {
      (withKeys ? on : off).push(await variant(withKeys));
    }
    const [a, b] = [off.at(-1) ?? {}, on.at(-1) ?? {}];
    console.error(
      `round ${round + 1}: p50 without ${a.p50?.toFixed(3)} ms, with ${b.p50?.toFixed(3)} ms; ` +
        `server CPU µs/request c1/c16 without ${Math.round(a.cpuC1 ?? 0)}/${Math.round(a.cpuC16 ?? 0)}, ` +
        `with ${Math.round(b.cpuC1 ?? 0)}/${Math.round(b.cpuC16 ?? 0)}`,
    );
  }
  const deltas = off.map((a, i) => ((on[i]?.p50 ?? NaN) - (a.p50 ?? NaN)) * 1000);
  const of = (runs: Record<string, number>[], k: string) => median(runs.map((r) => r[k] as number));
  console.log(
    JSON.stringify(
      {
        command: 'node bench/auth-overhead.ts',
        rounds,
        duration: values.duration,
        without: off,
        with: on,
        p50OverheadUs: { rounds: deltas, median: median(deltas), limit: 20 },
        interceptorUsPerCall: interceptor,
        serverCpuUsPerRequest: {
          without: { c1: of(off, 'cpuC1'), c16: of(off, 'cpuC16') },
          with: { c1: of(on, 'cpuC1'), c16: of(on, 'cpuC16') },
        },
      },
      null,
      2,
    ),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
