/**
 * `berth up` as a test runs it: the real CLI, `--port 0 --control-port 0 --log-format json`,
 * with its log lines parsed, and stopped after each test with a check that no replica is left.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { afterEach } from 'vitest';
import { BERTH_BIN, runCli } from './cli.js';
import { until } from './until.js';

export interface Up {
  readonly child: ChildProcess;
  readonly gateway: string;
  readonly control: string;
  /** host:port of the gateway's gRPC front. */
  readonly grpc: string;
  readonly logs: Record<string, unknown>[];
  stdout(): string;
  stderr(): string;
  readonly exited: Promise<number | null>;
}

export interface StatusJson {
  replicas: {
    id: string;
    track: string;
    revision: number | undefined;
    state: string;
    pid: number;
    restarts: number;
    inBalancer: boolean;
  }[];
  scaling: { mode: string; desired: number; reason: string };
  traffic: { inflight: number; waiting: number };
  lastColdStartMs?: number;
  revision: { id: number; args: string[] };
  rollout?: { strategy: string; phase: string; reason: string; revision: number; weight?: number };
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The pids of the replicas an `up` logged (every replica log line carries its pid). */
export function replicaPids(up: Up): number[] {
  return up.logs
    .filter((l) => typeof l.replica === 'string' && typeof l.pid === 'number')
    .map((l) => l.pid as number);
}

/**
 * The TCP ports process `pid` listens on: its sockets' inodes (/proc/PID/fd) that /proc/net/tcp
 * and tcp6 list in the LISTEN state.
 */
export function tcpListenPorts(pid: number): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match?.[1] !== undefined) inodes.add(match[1]);
    } catch {
      // closed meanwhile
    }
  }
  const ports: number[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const [local, state, inode] = [fields[1], fields[3], fields[9]];
      if (state === '0A' && inode !== undefined && inodes.has(inode) && local !== undefined) {
        ports.push(parseInt(local.split(':')[1] ?? '', 16));
      }
    }
  }
  return ports;
}

/**
 * A startUp whose processes are stopped after each test, and whose replicas must be gone then.
 * Call it at a test file's top level.
 */
export function upsForFile(): (args: readonly string[], cwd?: string) => Promise<Up> {
  const started: Up[] = [];
  afterEach(async () => {
    for (const up of started.splice(0)) {
      if (up.child.exitCode === null && up.child.signalCode === null) up.child.kill('SIGTERM');
      await up.exited;
      await until(
        () => Promise.resolve(replicaPids(up).every((pid) => !alive(pid))),
        'the replicas to exit',
        15_000,
      );
    }
  });
  return async (args, cwd) => {
    const up = await startUp(args, cwd);
    started.push(up);
    return up;
  };
}

async function startUp(args: readonly string[], cwd?: string): Promise<Up> {
  const child = spawn(
    process.execPath,
    [
      BERTH_BIN,
      'up',
      '--port',
      '0',
      '--grpc-port',
      '0',
      '--control-port',
      '0',
      '--log-format',
      'json',
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], ...(cwd === undefined ? {} : { cwd }) },
  );
  const logs: Record<string, unknown>[] = [];
  let out = '';
  let raw = '';
  let partial = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    raw += chunk;
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // not a log line
      }
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let ended = false;
  void exited.then(() => (ended = true));
  try {
    await until(
      () => Promise.resolve(ended || logs.some((l) => typeof l.control === 'string')),
      `berth up to listen; stderr:\n${raw}`,
      20_000,
    );
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  const listening = logs.find((l) => typeof l.control === 'string');
  return {
    child,
    gateway: String(listening?.url),
    control: String(listening?.control),
    grpc: String(listening?.grpc),
    logs,
    stdout: () => out,
    stderr: () => raw,
    exited,
  };
}

/** `berth status --json`, through the CLI. */
export function status(up: Up): StatusJson {
  const result = runCli(['status', '--url', up.control, '--json']);
  if (result.status !== 0) throw new Error(`berth status failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as StatusJson;
}

/** The control API's status, directly (cheaper than the CLI, for polling). */
export async function statusNow(up: Up): Promise<StatusJson> {
  const response = await fetch(`${up.control}/berth/v1/status`);
  return (await response.json()) as StatusJson;
}

export function readyCount(s: StatusJson): number {
  return s.replicas.filter((r) => r.state === 'ready').length;
}

const DOUBLE = JSON.stringify({
  inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }],
});

/** An inference of the `double` model through the gateway: its output, or a thrown error. */
export async function inferDouble(gateway: string, headers: Record<string, string> = {}): Promise<number[]> {
  const response = await fetch(`${gateway}/v2/models/double/infer`, {
    method: 'POST',
    body: DOUBLE,
    headers,
  });
  const body = (await response.json()) as { outputs?: { data: number[] }[]; error?: string };
  if (response.status !== 200) throw new Error(`${response.status}: ${body.error}`);
  return body.outputs?.[0]?.data ?? [];
}
