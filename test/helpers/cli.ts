/** Runs the built `berth` CLI as a real child process, as a user or a container runtime would. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';

export const BERTH_BIN = fileURLToPath(new URL('../../bin/berth.js', import.meta.url));

export interface CliResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `berth ARGS` to completion. */
export function runCli(
  args: readonly string[],
  options: { timeoutMs?: number; env?: Readonly<Record<string, string | undefined>> } = {},
): CliResult {
  const result = spawnSync(process.execPath, [BERTH_BIN, ...args], {
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 30_000,
    env: { ...process.env, ...options.env },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** `berth keys create --role R…` into `file` (made if missing): the key it prints once. */
export function createKey(file: string, ...roles: string[]): string {
  const made = runCli(['keys', 'create', ...roles.flatMap((role) => ['--role', role]), '--file', file]);
  if (made.status !== 0) throw new Error(`berth keys create failed: ${made.stderr}`);
  return made.stdout.trim();
}

export interface ServeProcess {
  readonly url: string;
  /** host:port of the gRPC endpoint, when it serves one. */
  readonly grpcAddress: string | undefined;
  readonly process: ChildProcess;
  /** Log lines (parsed JSON) seen so far on standard error. */
  readonly logs: Record<string, unknown>[];
  /** Resolves with the exit code when the process ends. */
  readonly exited: Promise<number | null>;
  /** Resolves once a log line matching `predicate` appears. */
  waitForLog(
    predicate: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts `berth serve ARGS --port 0 --grpc-port 0 --log-format json` and waits until it listens;
 * `bin` is another installation's bin/berth.js.
 */
export function startServe(
  args: readonly string[],
  timeoutMs = 20_000,
  bin = BERTH_BIN,
): Promise<ServeProcess> {
  return startListening(
    ['serve', '--port', '0', '--grpc-port', '0', '--log-format', 'json', ...args],
    (l) => String(l.msg).startsWith('berth listening'),
    timeoutMs,
    bin,
  );
}

/**
 * Starts `berth ARGS` (with JSON logs) and waits for the log line `isListening` knows, which
 * carries the `url` (and `grpc`) it listens on.
 */
export async function startListening(
  args: readonly string[],
  isListening: (line: Record<string, unknown>) => boolean,
  timeoutMs = 20_000,
  bin = BERTH_BIN,
): Promise<ServeProcess> {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Record<string, unknown>[] = [];
  const waiters: {
    predicate: (line: Record<string, unknown>) => boolean;
    resolve: (line: Record<string, unknown>) => void;
  }[] = [];
  let buffered = '';
  let raw = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    raw += chunk;
    buffered += chunk;
    const lines = buffered.split('\n');
    buffered = lines.pop() ?? '';
    for (const text of lines) {
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(text) as Record<string, unknown>;
      } catch {
        continue;
      }
      logs.push(line);
      for (const waiter of [...waiters]) {
        if (waiter.predicate(line)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
    }
  });
  child.stdout.resume();
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const waitForLog = (predicate: (line: Record<string, unknown>) => boolean, ms = timeoutMs) => {
    const found = logs.find(predicate);
    if (found !== undefined) return Promise.resolve(found);
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no matching log line within ${ms} ms; stderr so far:\n${raw}`)),
        ms,
      );
      waiters.push({
        predicate,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`berth exited with ${code} before the expected log line; stderr:\n${raw}`));
      });
    });
  };
  let listening: Record<string, unknown>;
  try {
    listening = await waitForLog((l) => typeof l.url === 'string' && isListening(l));
  } catch (error) {
    // The caller gets no ServeProcess to stop: a server that never said it listens is killed here,
    // or it would outlive the test run.
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    throw error;
  }
  return {
    url: String(listening.url),
    grpcAddress: typeof listening.grpc === 'string' ? listening.grpc : undefined,
    process: child,
    logs,
    exited,
    waitForLog,
    stop: async (signal = 'SIGTERM') => {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** `startServe`, then waits until every model given at start has finished loading. */
export async function startServeLoaded(args: readonly string[]): Promise<ServeProcess> {
  const server = await startServe(args);
  try {
    await server.waitForLog((l) => String(l.msg).startsWith('models loaded'));
  } catch (error) {
    await server.stop('SIGKILL');
    throw error;
  }
  return server;
}

/**
 * A startServe whose processes are killed after each test. Call it at a test file's top level.
 *
 * @example
 * const serve = startServeForEachTest();
 * const p = await serve([repo]);
 */
export function startServeForEachTest(): (args: readonly string[]) => Promise<ServeProcess> {
  const running: ServeProcess[] = [];
  afterEach(async () => {
    await Promise.all(running.splice(0).map((p) => p.stop('SIGKILL')));
  });
  return async (args) => {
    const p = await startServe(args);
    running.push(p);
    return p;
  };
}
