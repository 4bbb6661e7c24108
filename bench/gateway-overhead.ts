/**
 * What the gateway of `berth up` costs, measured with `berth bench` against its limits in the
 * same run (issue 13):
 *
 * - latency overhead: p50 through the gateway minus p50 straight to a replica, tiny MLP, binary,
 *   one connection; target <= 0.3 ms (an Istio sidecar adds 2.65 ms at p90);
 * - CPU the gateway process spends per proxied request (its utime + stime over the measured
 *   window, divided by the requests), at 1 and 16 connections; target <= 100 µs (a sidecar:
 *   about 350 µs);
 * - time from a replica's SIGKILL to its replacement being ready (restart backoff included);
 * - scale from zero: the first request's latency, and the cold start berth up reports.
 *
 * Rounds alternate the order (direct first, then gateway first) because this VM's speed drifts.
 *
 *   npm run build && node bench/gateway-overhead.ts [--rounds 3] [--duration 5s]
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildTinyMlp } from './src/tiny-mlp.ts';

const BERTH = fileURLToPath(new URL('../bin/berth.js', import.meta.url));
const HZ = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);
const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '3' }, duration: { type: 'string', default: '5s' } },
});
const rounds = Number(values.rounds);

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  // utime and stime are fields 14 and 15 of /proc/PID/stat; [1] starts at field 3.
  return (Number(fields[11]) + Number(fields[12])) / HZ;
}

async function until(check: () => Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function ready(url: string): Promise<boolean> {
  const response = await fetch(`${url}/v2/health/ready`);
  await response.arrayBuffer();
  return response.status === 200;
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

interface Level {
  requests: number;
  ok: number;
  latencyMs: { p50: number; p90: number; p99: number };
}

/** `berth bench` against `url`, with the CPU `pid` spent over the whole run. */
function bench(url: string, concurrency: number, pid: number): { level: Level; cpuUs: number } {
  const before = cpuSeconds(pid);
  const run = spawnSync(
    process.execPath,
    [
      BERTH,
      'bench',
      url,
      '-m',
      'mlp',
      '-c',
      String(concurrency),
      '--duration',
      values.duration,
      '--warmup',
      '0s',
      '--json-output',
    ],
    { encoding: 'utf8' },
  );
  const after = cpuSeconds(pid);
  if (run.status !== 0) throw new Error(`berth bench failed: ${run.stderr}`);
  const report = JSON.parse(run.stdout) as { levels: Level[] };
  const level = report.levels[0];
  if (level === undefined) throw new Error('no level in the report');
  return { level, cpuUs: ((after - before) * 1e6) / level.requests };
}

/** The figures of one variant: a warm-up, then 1 and 16 connections, CPU of process `pid`. */
async function measure(url: string, pid: number, what: string): Promise<Record<string, number>> {
  await until(() => ready(url), what);
  bench(url, 1, pid); // warm-up
  const c1 = bench(url, 1, pid);
  const c16 = bench(url, 16, pid);
  return {
    p50: c1.level.latencyMs.p50,
    p99: c1.level.latencyMs.p99,
    cpuC1: c1.cpuUs,
    cpuC16: c16.cpuUs,
    rpsC16: c16.level.ok,
  };
}

/** `berth up ARGS` quietly, gRPC on a free port (the bench speaks REST only). */
function up(args: string[]): ChildProcess {
  return spawn(process.execPath, [BERTH, 'up', ...args, '--grpc-port', '0', '--log-level', 'warn'], {
    stdio: 'ignore',
  });
}

function port(): number {
  return 20_000 + Math.floor(Math.random() * 20_000);
}

const repo = mkdtempSync(join(tmpdir(), 'berth-gateway-bench-'));
mkdirSync(join(repo, 'mlp', '1'), { recursive: true });
writeFileSync(join(repo, 'mlp', '1', 'model.onnx'), buildTinyMlp());

async function direct(): Promise<Record<string, number>> {
  const p = port();
  const child = spawn(
    process.execPath,
    [BERTH, 'serve', repo, '--port', String(p), '--grpc-port', '0', '--log-level', 'warn'],
    {
      stdio: 'ignore',
    },
  );
  const url = `http://127.0.0.1:${p}`;
  try {
    return await measure(url, child.pid as number, 'berth serve');
  } finally {
    await stop(child);
  }
}

/** The naive Node proxy (bench/servers/naive-proxy.mjs) in front of a berth serve on a unix socket. */
async function naive(): Promise<Record<string, number>> {
  const p = port();
  const socket = join(repo, `naive-${p}.sock`);
  const server = spawn(
    process.execPath,
    [BERTH, 'serve', repo, '--socket', socket, '--grpc-port', '0', '--log-level', 'warn'],
    {
      stdio: 'ignore',
    },
  );
  const proxy = spawn(
    process.execPath,
    [fileURLToPath(new URL('servers/naive-proxy.mjs', import.meta.url)), String(p), `unix:${socket}`],
    {
      stdio: 'ignore',
    },
  );
  const url = `http://127.0.0.1:${p}`;
  try {
    return await measure(url, proxy.pid as number, 'the naive proxy over berth serve');
  } finally {
    await Promise.all([stop(proxy), stop(server)]);
  }
}

async function gateway(): Promise<Record<string, number>> {
  const p = port();
  const child = up([repo, '--replicas', '1', '--port', String(p), '--control-port', String(p + 1)]);
  const url = `http://127.0.0.1:${p}`;
  try {
    return await measure(url, child.pid as number, 'berth up');
  } finally {
    await stop(child);
  }
}

/** SIGKILL of the only replica: until the replacement is ready; and a scale from zero. */
async function recovery(): Promise<Record<string, number>> {
  const p = port();
  const child = up([repo, '--replicas', '1', '--port', String(p), '--control-port', String(p + 1)]);
  const control = `http://127.0.0.1:${p + 1}/berth/v1/status`;
  type Status = { replicas: { pid: number; state: string; restarts: number }[]; lastColdStartMs?: number };
  const status = async () => (await (await fetch(control)).json()) as Status;
  let killToReady: number;
  try {
    await until(async () => (await status()).replicas[0]?.state === 'ready', 'the replica');
    const victim = (await status()).replicas[0]?.pid as number;
    const killed = performance.now();
    process.kill(victim, 'SIGKILL');
    await until(async () => {
      const r = (await status()).replicas[0];
      return r?.state === 'ready' && r.restarts === 1;
    }, 'the replacement');
    killToReady = performance.now() - killed;
  } finally {
    await stop(child);
  }
  const spec = join(repo, 'zero.yaml');
  writeFileSync(spec, 'replicas: { min: 0, max: 1, idleToZero: 1h }\n');
  const zero = up([repo, '-f', spec, '--port', String(p + 2), '--control-port', String(p + 3)]);
  try {
    const gatewayUrl = `http://127.0.0.1:${p + 2}`;
    await until(async () => (await fetch(`${gatewayUrl}/v2/health/live`)).status === 200, 'the gateway');
    const body = JSON.stringify({
      inputs: [{ name: 'input', datatype: 'FP32', shape: [1, 64], data: new Array(64).fill(0.1) }],
    });
    const sent = performance.now();
    const response = await fetch(`${gatewayUrl}/v2/models/mlp/infer`, { method: 'POST', body });
    await response.arrayBuffer();
    const firstRequestMs = performance.now() - sent;
    if (response.status !== 200) throw new Error(`the first request after zero got ${response.status}`);
    const reported = (await (await fetch(`http://127.0.0.1:${p + 3}/berth/v1/status`)).json()) as Status;
    return {
      killToReadyMs: killToReady,
      firstRequestFromZeroMs: firstRequestMs,
      coldStartMs: reported.lastColdStartMs ?? NaN,
    };
  } finally {
    await stop(zero);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
try {
  const directRuns: Record<string, number>[] = [];
  const gatewayRuns: Record<string, number>[] = [];
  const naiveRuns: Record<string, number>[] = [];
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? ['direct', 'naive', 'gateway'] : ['gateway', 'naive', 'direct'];
    for (const which of order) {
      if (which === 'direct') directRuns.push(await direct());
      else if (which === 'naive') naiveRuns.push(await naive());
      else gatewayRuns.push(await gateway());
    }
    const d = directRuns.at(-1) as Record<string, number>;
    const g = gatewayRuns.at(-1) as Record<string, number>;
    const n = naiveRuns.at(-1) as Record<string, number>;
    console.error(
      `round ${round + 1}: p50 direct ${d.p50?.toFixed(3)} ms, naive proxy ${n.p50?.toFixed(3)} ms, gateway ${g.p50?.toFixed(3)} ms; ` +
        `proxy process CPU µs/request c1/c16: naive ${Math.round(n.cpuC1 ?? 0)}/${Math.round(n.cpuC16 ?? 0)}, gateway ${Math.round(g.cpuC1 ?? 0)}/${Math.round(g.cpuC16 ?? 0)}`,
    );
  }
  const overheads = directRuns.map((d, i) => (gatewayRuns[i]?.p50 as number) - (d.p50 as number));
  const recover = await recovery();
  const result = {
    command: 'node bench/gateway-overhead.ts',
    rounds,
    duration: values.duration,
    direct: directRuns,
    gateway: gatewayRuns,
    naiveProxy: naiveRuns,
    p50OverheadMs: {
      rounds: overheads,
      median: median(overheads),
      naiveProxyMedian: median(directRuns.map((d, i) => (naiveRuns[i]?.p50 as number) - (d.p50 as number))),
      limit: 0.3,
    },
    gatewayCpuUsPerRequest: {
      c1: median(gatewayRuns.map((g) => g.cpuC1 as number)),
      c16: median(gatewayRuns.map((g) => g.cpuC16 as number)),
      naiveProxyC1: median(naiveRuns.map((g) => g.cpuC1 as number)),
      naiveProxyC16: median(naiveRuns.map((g) => g.cpuC16 as number)),
      limit: 100,
    },
    recovery: recover,
  };
  console.log(JSON.stringify(result, null, 2));
} finally {
  rmSync(repo, { recursive: true, force: true });
}
