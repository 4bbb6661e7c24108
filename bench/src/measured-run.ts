/**
 * `berth bench` against a URL while counting the CPU one process spends, per request: how
 * bench/gateway-overhead.ts and bench/auth-overhead.ts tell what a layer costs.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// Run by node's type stripping (bench/*.ts) as well as tsx: no imports of other bench files.
const BERTH_BIN = fileURLToPath(new URL('../../bin/berth.js', import.meta.url));
const HZ = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim() || 100);

/** The user and system CPU seconds of `pid` so far (utime and stime of /proc/PID/stat). */
export function cpuSeconds(pid: number): { user: number; system: number } {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  // utime and stime are fields 14 and 15 of /proc/PID/stat; [1] starts at field 3.
  return { user: Number(fields[11]) / HZ, system: Number(fields[12]) / HZ };
}

export async function until(check: () => Promise<boolean>, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Whether the server at `url` is ready; `ca` (PEM) is the CA an https URL's certificate is signed by. */
export async function ready(url: string, ca?: string): Promise<boolean> {
  if (ca === undefined) {
    const response = await fetch(`${url}/v2/health/ready`);
    await response.arrayBuffer();
    return response.status === 200;
  }
  const { get } = await import('node:https');
  return new Promise((resolve) => {
    get(`${url}/v2/health/ready`, { ca }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    }).on('error', () => resolve(false));
  });
}

export function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

export interface Level {
  requests: number;
  ok: number;
  latencyMs: { p50: number; p90: number; p99: number };
}

export interface MeasuredLevel {
  readonly level: Level;
  /** CPU of the watched process per request, in µs: all, user, system. */
  readonly cpuUs: number;
  readonly userUs: number;
  readonly systemUs: number;
}

/** `berth bench URL -m MODEL -c C` for `duration`, with the CPU process `pid` spent meanwhile. */
export function benchWithCpu(options: {
  url: string;
  model: string;
  concurrency: number;
  duration: string;
  pid: number;
  headers?: readonly string[];
  /** Added to berth bench's environment (NODE_EXTRA_CA_CERTS for a private CA). */
  env?: Readonly<Record<string, string>>;
}): MeasuredLevel {
  const before = cpuSeconds(options.pid);
  const run = spawnSync(
    process.execPath,
    [
      BERTH_BIN,
      'bench',
      options.url,
      '-m',
      options.model,
      '-c',
      String(options.concurrency),
      '--duration',
      options.duration,
      '--warmup',
      '0s',
      '--json-output',
      ...(options.headers ?? []).flatMap((header) => ['-H', header]),
    ],
    { encoding: 'utf8', env: { ...process.env, ...options.env } },
  );
  const after = cpuSeconds(options.pid);
  if (run.status !== 0) throw new Error(`berth bench failed: ${run.stderr}`);
  const report = JSON.parse(run.stdout) as { levels: Level[] };
  const level = report.levels[0];
  if (level === undefined) throw new Error('no level in the report');
  if (level.ok !== level.requests) throw new Error(`${level.requests - level.ok} requests failed`);
  const perRequest = (seconds: number) => (seconds * 1e6) / level.requests;
  const userUs = perRequest(after.user - before.user);
  const systemUs = perRequest(after.system - before.system);
  return { level, cpuUs: userUs + systemUs, userUs, systemUs };
}

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

export interface ServedRepo {
  readonly url: string;
  readonly pid: number;
  stop(): Promise<void>;
}

/**
 * `berth serve REPO ARGS` on a free port, REST only, quiet, once it answers ready; over https
 * when `ca` (the PEM its certificate is signed by) is given.
 */
export async function serveRepo(repo: string, args: readonly string[], ca?: string): Promise<ServedRepo> {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const child = spawn(
    process.execPath,
    [BERTH_BIN, 'serve', repo, '--port', String(port), '--no-grpc', '--log-level', 'warn', ...args],
    { stdio: 'ignore' },
  );
  const url = `${ca === undefined ? 'http' : 'https'}://127.0.0.1:${port}`;
  try {
    await until(() => ready(url, ca), 'berth serve');
  } catch (error) {
    await stop(child);
    throw error;
  }
  return { url, pid: child.pid as number, stop: () => stop(child) };
}
