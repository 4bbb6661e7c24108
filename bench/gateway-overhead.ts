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
 * Beside berth's gateway it measures, in front of the same replica, three other proxies that tell
 * where the gateway's cost comes from: the naive ten-line Node proxy (node:http in and out), a
 * Node process that only copies bytes (no proxy in Node can cost less), and nginx (a proxy
 * written in C; left out where nginx is not installed).
 *
 * Rounds alternate the order (direct first, then gateway first) because this VM's speed drifts.
 * `--before DIR` adds a row for the gateway of another built checkout (a git worktree of the
 * commit before a change), measured in the same rounds: an A/B on the same machine.
 *
 *   npm run build && node bench/gateway-overhead.ts [--rounds 3] [--duration 5s] [--before DIR]
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { benchWithCpu, median, ready, stop, until, type MeasuredLevel } from './src/measured-run.ts';
import { writeTinyMlpRepo } from './src/tiny-mlp.ts';

const BERTH = fileURLToPath(new URL('../bin/berth.js', import.meta.url));
const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    duration: { type: 'string', default: '5s' },
    before: { type: 'string' },
  },
});
const rounds = Number(values.rounds);

function bench(url: string, concurrency: number, pid: number): MeasuredLevel {
  return benchWithCpu({ url, model: 'mlp', concurrency, duration: values.duration, pid });
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
    userC16: c16.userUs,
    systemC16: c16.systemUs,
    rpsC16: c16.level.ok,
  };
}

/** `berth up ARGS` quietly, gRPC on a free port (the bench speaks REST only). */
function up(args: string[], bin = BERTH): ChildProcess {
  return spawn(process.execPath, [bin, 'up', ...args, '--grpc-port', '0', '--log-level', 'warn'], {
    stdio: 'ignore',
  });
}

function port(): number {
  return 20_000 + Math.floor(Math.random() * 20_000);
}

const repo = mkdtempSync(join(tmpdir(), 'berth-gateway-bench-'));
writeTinyMlpRepo(repo);
/** Sockets and nginx's files: not in `repo`, where berth would take a folder for a model. */
const scratch = mkdtempSync(join(tmpdir(), 'berth-gateway-bench-scratch-'));

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

/** Starts a proxy on 127.0.0.1:`p` in front of the unix socket `socket`. */
type ProxyStart = (p: number, socket: string) => ChildProcess;

/** The naive Node proxy (bench/servers/naive-proxy.mjs). */
const naiveProxy: ProxyStart = (p, socket) =>
  spawn(
    process.execPath,
    [fileURLToPath(new URL('servers/naive-proxy.mjs', import.meta.url)), String(p), `unix:${socket}`],
    { stdio: 'ignore' },
  );

/**
 * nginx as a keep-alive reverse proxy, one process (no master, one worker), no access log: what a
 * proxy written in C costs on this machine, the floor under any proxy's CPU per request here.
 */
const nginxProxy: ProxyStart = (p, socket) => {
  const dir = mkdtempSync(join(scratch, 'nginx-'));
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `daemon off; master_process off; worker_processes 1; pid ${dir}/nginx.pid; error_log stderr error;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/f; uwsgi_temp_path ${dir}/u; scgi_temp_path ${dir}/s;
  upstream replica { server unix:${socket}; keepalive 64; }
  server {
    listen 127.0.0.1:${p};
    location / { proxy_pass http://replica; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
}
`,
  );
  return spawn('nginx', ['-p', dir, '-c', conf], { stdio: 'ignore' });
};

/** Whether nginx is installed (scripts/bench-deps.sh installs it); its row is left out otherwise. */
/** A Node process that only copies bytes (bench/servers/byte-pipe.mjs): no proxy in Node costs less. */
const bytePipe: ProxyStart = (p, socket) =>
  spawn(
    process.execPath,
    [fileURLToPath(new URL('servers/byte-pipe.mjs', import.meta.url)), String(p), socket],
    {
      stdio: 'ignore',
    },
  );
const hasNginx = spawnSync('nginx', ['-v'], { stdio: 'ignore' }).status === 0;

/** A proxy started by `start` in front of a berth serve on a unix socket; CPU is the proxy's. */
async function proxied(start: ProxyStart, what: string): Promise<Record<string, number>> {
  const p = port();
  const socket = join(scratch, `proxied-${p}.sock`);
  const server = spawn(
    process.execPath,
    [BERTH, 'serve', repo, '--socket', socket, '--grpc-port', '0', '--log-level', 'warn'],
    { stdio: 'ignore' },
  );
  await until(async () => existsSync(socket), 'berth serve');
  const proxy = start(p, socket);
  const url = `http://127.0.0.1:${p}`;
  try {
    return await measure(url, proxy.pid as number, `${what} over berth serve`);
  } finally {
    await Promise.all([stop(proxy), stop(server)]);
  }
}

async function gateway(bin = BERTH): Promise<Record<string, number>> {
  const p = port();
  const child = up([repo, '--replicas', '1', '--port', String(p), '--control-port', String(p + 1)], bin);
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

/** What each row runs; nginx only where it is installed. */
const variants: Record<string, () => Promise<Record<string, number>>> = {
  direct,
  naiveProxy: () => proxied(naiveProxy, 'the naive proxy'),
  bytePipe: () => proxied(bytePipe, 'the byte pipe'),
  ...(hasNginx ? { nginx: () => proxied(nginxProxy, 'nginx') } : {}),
  gateway: () => gateway(),
  ...(values.before === undefined
    ? {}
    : { gatewayBefore: () => gateway(join(values.before as string, 'bin', 'berth.js')) }),
};
if (!hasNginx)
  console.error('nginx is not installed (scripts/bench-deps.sh installs it): its row is left out');

try {
  const names = Object.keys(variants);
  const runs: Record<string, Record<string, number>[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let round = 0; round < rounds; round++) {
    for (const name of round % 2 === 0 ? names : [...names].reverse()) {
      runs[name]?.push(await (variants[name] as () => Promise<Record<string, number>>)());
    }
    const line = names.map((name) => {
      const r = runs[name]?.at(-1) ?? {};
      const cpu =
        name === 'direct'
          ? ''
          : `, CPU µs/req c1/c16 ${Math.round(r.cpuC1 ?? 0)}/${Math.round(r.cpuC16 ?? 0)}`;
      return `${name} p50 ${r.p50?.toFixed(3)} ms${cpu}`;
    });
    console.error(`round ${round + 1}: ${line.join('; ')}`);
  }
  const directRuns = runs.direct as Record<string, number>[];
  const proxies = names.filter((name) => name !== 'direct');
  const of = (name: string, key: string) => median((runs[name] ?? []).map((r) => r[key] as number));
  const overheads = (name: string) =>
    directRuns.map((d, i) => ((runs[name] ?? [])[i]?.p50 as number) - (d.p50 as number));
  const recover = await recovery();
  const result = {
    command: 'node bench/gateway-overhead.ts',
    rounds,
    duration: values.duration,
    runs,
    p50OverheadMs: {
      rounds: overheads('gateway'),
      ...Object.fromEntries(proxies.map((name) => [name, median(overheads(name))])),
      limit: 0.3,
    },
    // The proxy process's CPU per request, medians over the rounds; user and system apart at 16.
    cpuUsPerRequest: {
      ...Object.fromEntries(
        proxies.map((name) => [
          name,
          {
            c1: of(name, 'cpuC1'),
            c16: of(name, 'cpuC16'),
            userC16: of(name, 'userC16'),
            systemC16: of(name, 'systemC16'),
          },
        ]),
      ),
      limit: 100,
    },
    recovery: recover,
  };
  console.log(JSON.stringify(result, null, 2));
} finally {
  rmSync(repo, { recursive: true, force: true });
  rmSync(scratch, { recursive: true, force: true });
}
