/** Starting, watching and stopping the processes under test. */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';

export interface Running {
  readonly url: string;
  readonly child: ChildProcess;
  /** Milliseconds from spawn to the first 200 from GET /v2/health/ready. */
  readonly startMs: number;
  stop(): Promise<void>;
}

/** A port free right now on 127.0.0.1 (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function isReady(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/v2/health/ready`, { signal: AbortSignal.timeout(1000) });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}

/**
 * Spawns a server that will listen on `port`, and resolves once it answers ready. Its stderr is
 * kept (last 4 KiB) for the error when it exits or never gets ready.
 */
export async function startProcess(
  label: string,
  command: string,
  args: readonly string[],
  options: { port: number; env?: NodeJS.ProcessEnv; cwd?: string; readyTimeoutMs?: number },
): Promise<Running> {
  const started = performance.now();
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env, PORT: String(options.port) },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4096);
  });
  let exited: number | string | null | undefined;
  child.once('exit', (code, signal) => (exited = code ?? signal));
  const url = `http://127.0.0.1:${options.port}`;
  const deadline = started + (options.readyTimeoutMs ?? 120_000);
  while (!(await isReady(url))) {
    if (exited !== undefined) throw new Error(`${label} exited (${String(exited)}) before ready:\n${stderr}`);
    if (performance.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`${label} was not ready within ${options.readyTimeoutMs ?? 120_000} ms:\n${stderr}`);
    }
    await sleep(5);
  }
  const startMs = performance.now() - started;
  return {
    url,
    child,
    startMs,
    async stop() {
      if (exited !== undefined) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await gone;
      clearTimeout(timer);
    },
  };
}

function statusRssKiB(pid: number): number {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

/** A process and all its descendants (gunicorn's workers, say), from /proc. */
function treePids(rootPid: number): Set<number> {
  const parents = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const fields = statFields(Number(entry));
    if (fields !== undefined) parents.set(Number(entry), Number(fields[1]));
  }
  const tree = new Set([rootPid]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [pid, parent] of parents) {
      if (tree.has(parent) && !tree.has(pid)) {
        tree.add(pid);
        grew = true;
      }
    }
  }
  return tree;
}

/** /proc/PID/stat's fields after the command name: [0] is field 3 (state), [11] field 14 (utime). */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined; // the process ended while we looked
  }
}

/** Resident memory of a process and all its descendants, in MiB. */
export function treeRssMiB(rootPid: number): number {
  let kib = 0;
  for (const pid of treePids(rootPid)) kib += statusRssKiB(pid);
  return kib / 1024;
}

let clockTicks: number | undefined;

/** Clock ticks per second of /proc/PID/stat's times (getconf CLK_TCK; 100 on Linux). */
function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    const n = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout);
    clockTicks = Number.isFinite(n) && n > 0 ? n : 100;
  }
  return clockTicks;
}

/**
 * CPU seconds (user + system, every thread) a process and its descendants have used so far:
 * utime + stime (fields 14 and 15 of /proc/PID/stat), as bench/cpu-per-request.sh reads them.
 */
export function treeCpuSeconds(rootPid: number): number {
  let ticks = 0;
  for (const pid of treePids(rootPid)) {
    const fields = statFields(pid);
    if (fields !== undefined) ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / ticksPerSecond();
}
