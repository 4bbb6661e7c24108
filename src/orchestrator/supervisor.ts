/**
 * The supervisor behind `berth up`: runs each replica as a `berth serve` child process on a
 * loopback port of its own choosing, learns its address from its first log line, waits for it to
 * be ready, restarts it when it exits (restart-backoff.ts decides when), and stops it by draining
 * (SIGTERM, then SIGKILL past the stop timeout). Each replica has a process group of its own, so
 * that only the supervisor receives a terminal's signals. Replicas are started with BERTH_SUPERVISED=1,
 * which makes `berth serve` drain and exit when its parent is gone, so that no replica outlives
 * the supervisor, even one killed with SIGKILL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { probeReady } from '../gateway/index.js';
import { BerthError } from '../ground/index.js';
import { DEFAULT_BACKOFF_POLICY, RestartBackoff, type BackoffPolicy } from './restart-backoff.js';

export type ReplicaState = 'starting' | 'ready' | 'restarting' | 'stopping' | 'stopped';

export interface ReplicaExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** ms since the epoch */
  readonly at: number;
}

export interface ReplicaStatus {
  readonly id: string;
  readonly state: ReplicaState;
  readonly pid: number | undefined;
  /** The replica's REST address once it listens, e.g. http://127.0.0.1:41234. */
  readonly url: string | undefined;
  /** Its gRPC address (host:port), when it serves gRPC. */
  readonly grpc: string | undefined;
  readonly restarts: number;
  readonly crashLooping: boolean;
  readonly lastExit: ReplicaExit | undefined;
}

export interface ReplicaOptions {
  readonly id: string;
  /** `berth serve` arguments after `serve`, without ports: the supervisor adds loopback ones. */
  readonly args: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
}

export type ReplicaEvent =
  | { readonly type: 'started'; readonly id: string; readonly pid: number }
  | {
      readonly type: 'ready';
      readonly id: string;
      readonly url: string;
      /** host:port, when the replica serves gRPC. */
      readonly grpc: string | undefined;
      readonly ms: number;
    }
  | {
      readonly type: 'exited';
      readonly id: string;
      readonly exit: ReplicaExit;
      readonly restartInMs?: number;
    }
  | { readonly type: 'stopped'; readonly id: string };

export interface SupervisorOptions {
  /** The berth command's script (bin/berth.js); run with this Node.js. */
  readonly berthBin: string;
  readonly nodePath?: string;
  readonly backoff?: BackoffPolicy;
  readonly random?: () => number;
  /** Longest a replica may take from spawn to ready before it is killed and restarted. */
  readonly readyTimeoutMs?: number;
  /** How long a stopping replica may drain before it is killed. */
  readonly stopTimeoutMs?: number;
  /**
   * A folder (mode 0700, the caller's) for the replicas' unix sockets: each serves REST on
   * `<folder>/<id>.sock` and gRPC on `<folder>/<id>.grpc.sock` instead of loopback TCP ports.
   * Undefined: loopback TCP.
   */
  readonly socketDir?: string;
  /** Each line a replica writes (its JSON log lines), with its id: for multiplexed output. */
  readonly onLine?: (id: string, line: string, stream: 'stdout' | 'stderr') => void;
  readonly onEvent?: (event: ReplicaEvent) => void;
}

interface Replica {
  readonly options: ReplicaOptions;
  readonly backoff: RestartBackoff;
  state: ReplicaState;
  child: ChildProcess | undefined;
  url: string | undefined;
  grpc: string | undefined;
  restarts: number;
  crashLooping: boolean;
  lastExit: ReplicaExit | undefined;
  restartTimer: ReturnType<typeof setTimeout> | undefined;
  readyWaiters: { resolve: (s: ReplicaStatus) => void; reject: (e: Error) => void }[];
  exited: Promise<void> | undefined;
}

/** The address a `berth serve` log line announces: `berth listening on URL [and grpc://H:P]` (its `grpc` field: `H:P` or `unix:PATH`). */
export function listeningAddress(line: string): { url: string; grpc: string | undefined } | undefined {
  let record: { url?: unknown; grpc?: unknown; msg?: unknown };
  try {
    record = JSON.parse(line) as typeof record;
  } catch {
    return undefined;
  }
  if (typeof record.msg !== 'string' || !record.msg.startsWith('berth listening on ')) return undefined;
  if (typeof record.url !== 'string') return undefined;
  return { url: record.url, grpc: typeof record.grpc === 'string' ? record.grpc : undefined };
}

/**
 * @example
 * const supervisor = new Supervisor({ berthBin: 'bin/berth.js' });
 * supervisor.add({ id: 'r1', args: ['models/'] });
 * const { url } = await supervisor.whenReady('r1');
 * await supervisor.stopAll();
 */
export class Supervisor {
  private readonly replicas = new Map<string, Replica>();
  private readonly readyTimeoutMs: number;
  private readonly stopTimeoutMs: number;

  constructor(private readonly options: SupervisorOptions) {
    this.readyTimeoutMs = options.readyTimeoutMs ?? 120_000;
    this.stopTimeoutMs = options.stopTimeoutMs ?? 35_000;
  }

  /** Starts a replica; `whenReady` says when it serves. */
  add(options: ReplicaOptions): void {
    if (this.replicas.has(options.id)) {
      throw new BerthError('BERTH_ERR_INTERNAL', `replica "${options.id}" already exists`);
    }
    const replica: Replica = {
      options,
      backoff: new RestartBackoff(this.options.backoff ?? DEFAULT_BACKOFF_POLICY, this.options.random),
      state: 'starting',
      child: undefined,
      url: undefined,
      grpc: undefined,
      restarts: 0,
      crashLooping: false,
      lastExit: undefined,
      restartTimer: undefined,
      readyWaiters: [],
      exited: undefined,
    };
    this.replicas.set(options.id, replica);
    this.spawn(replica);
  }

  /** Resolves when the replica is ready (at once if it is); rejects if it is stopped first. */
  whenReady(id: string): Promise<ReplicaStatus> {
    const replica = this.replicas.get(id);
    if (replica === undefined) return Promise.reject(new Error(`no replica "${id}"`));
    if (replica.state === 'ready') return Promise.resolve(this.statusOf(replica));
    if (replica.state === 'stopping' || replica.state === 'stopped') {
      return Promise.reject(new Error(`replica "${id}" is ${replica.state}`));
    }
    return new Promise((resolve, reject) => replica.readyWaiters.push({ resolve, reject }));
  }

  status(): ReplicaStatus[] {
    return [...this.replicas.values()].map((r) => this.statusOf(r));
  }

  /** Drains and stops one replica: SIGTERM, then SIGKILL after the stop timeout. */
  async stop(id: string): Promise<void> {
    const replica = this.replicas.get(id);
    if (replica === undefined) return;
    replica.state = 'stopping';
    if (replica.restartTimer !== undefined) clearTimeout(replica.restartTimer);
    for (const waiter of replica.readyWaiters.splice(0)) waiter.reject(new Error(`replica "${id}" stopped`));
    const child = replica.child;
    if (
      child !== undefined &&
      replica.exited !== undefined &&
      child.exitCode === null &&
      child.signalCode === null
    ) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), this.stopTimeoutMs);
      await replica.exited;
      clearTimeout(killer);
    }
    replica.state = 'stopped';
    this.replicas.delete(id);
    this.options.onEvent?.({ type: 'stopped', id });
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.replicas.keys()].map((id) => this.stop(id)));
    if (this.options.socketDir !== undefined)
      rmSync(this.options.socketDir, { recursive: true, force: true });
  }

  private statusOf(replica: Replica): ReplicaStatus {
    return {
      id: replica.options.id,
      state: replica.state,
      pid: replica.child?.pid,
      url: replica.url,
      grpc: replica.grpc,
      restarts: replica.restarts,
      crashLooping: replica.crashLooping,
      lastExit: replica.lastExit,
    };
  }

  private spawn(replica: Replica): void {
    const { id, args, env } = replica.options;
    const started = performance.now();
    const socket =
      this.options.socketDir === undefined ? undefined : join(this.options.socketDir, `${id}.sock`);
    const grpcSocket =
      this.options.socketDir === undefined ? undefined : join(this.options.socketDir, `${id}.grpc.sock`);
    // A replica killed with SIGKILL leaves its socket files behind; the next one binds anew.
    if (socket !== undefined) rmSync(socket, { force: true });
    if (grpcSocket !== undefined) rmSync(grpcSocket, { force: true });
    replica.state = 'starting';
    replica.url = undefined;
    replica.grpc = undefined;
    const child = spawn(
      this.options.nodePath ?? process.execPath,
      [
        this.options.berthBin,
        'serve',
        ...args,
        '--host',
        '127.0.0.1',
        ...(socket === undefined ? ['--port', '0'] : ['--socket', socket]),
        ...(grpcSocket === undefined ? ['--grpc-port', '0'] : ['--grpc-socket', grpcSocket]),
        '--log-format',
        'json',
      ],
      {
        env: {
          ...process.env,
          ...env,
          BERTH_SUPERVISED: '1',
          BERTH_PARENT_PID: String(process.pid),
          ...(this.options.socketDir === undefined ? {} : { BERTH_SOCKET_DIR: this.options.socketDir }),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
        // A process group of its own: a terminal's Ctrl-C (SIGINT to the foreground group) goes
        // to the supervisor alone, which then drains each replica once, in order.
        detached: true,
      },
    );
    replica.child = child;
    replica.backoff.started(Date.now());
    replica.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    if (child.pid !== undefined) this.options.onEvent?.({ type: 'started', id, pid: child.pid });
    const readyTimer = setTimeout(() => {
      if (replica.child === child && replica.state === 'starting') child.kill('SIGKILL');
    }, this.readyTimeoutMs);
    for (const [stream, source] of [
      ['stdout', child.stdout],
      ['stderr', child.stderr],
    ] as const) {
      const lines = createInterface({ input: source, crlfDelay: Infinity });
      lines.on('line', (line) => {
        this.options.onLine?.(id, line, stream);
        if (replica.url !== undefined || replica.child !== child) return;
        const address = listeningAddress(line);
        if (address === undefined) return;
        replica.url = address.url;
        replica.grpc = address.grpc;
        void this.waitReady(replica, child, started).finally(() => clearTimeout(readyTimer));
      });
    }
    child.once('error', (error) => {
      this.options.onLine?.(id, `could not start: ${error.message}`, 'stderr');
    });
    child.once('exit', (code, signal) => {
      clearTimeout(readyTimer);
      this.exited(replica, child, { code, signal, at: Date.now() });
    });
  }

  /** Polls the replica's readiness until it answers 200 (it may be loading models). */
  private async waitReady(replica: Replica, child: ChildProcess, started: number): Promise<void> {
    const url = replica.url;
    if (url === undefined) return;
    // A function, not a condition: the state changes while this awaits (an exit, a stop).
    const waiting = () => replica.child === child && replica.state === 'starting';
    while (waiting()) {
      if (await probeReady(url, 2000)) {
        if (!waiting()) return;
        replica.state = 'ready';
        replica.crashLooping = false;
        this.options.onEvent?.({
          type: 'ready',
          id: replica.options.id,
          url,
          grpc: replica.grpc,
          ms: performance.now() - started,
        });
        for (const waiter of replica.readyWaiters.splice(0)) waiter.resolve(this.statusOf(replica));
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  private exited(replica: Replica, child: ChildProcess, exit: ReplicaExit): void {
    if (replica.child !== child) return;
    replica.lastExit = exit;
    const id = replica.options.id;
    if (replica.state === 'stopping' || replica.state === 'stopped') {
      this.options.onEvent?.({ type: 'exited', id, exit });
      return;
    }
    const decision = replica.backoff.exited(exit.at);
    replica.crashLooping = decision.crashLooping;
    replica.state = 'restarting';
    replica.restarts++;
    this.options.onEvent?.({ type: 'exited', id, exit, restartInMs: decision.delayMs });
    replica.restartTimer = setTimeout(() => {
      replica.restartTimer = undefined;
      if (replica.state === 'restarting') this.spawn(replica);
    }, decision.delayMs);
  }
}
