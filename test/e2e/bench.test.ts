/**
 * `berth bench` as a user runs it: the real CLI against a real `berth serve` (the built-in iris
 * model), over REST with binary and JSON tensors and over gRPC. Asserts what the report says
 * (requests, errors, ordered percentiles, exit status), never how fast anything was.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BERTH_BIN, startServe, type CliResult, type ServeProcess } from '../helpers/cli.js';
import { tempDirsForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirsForFile('berth-bench-');

let server: ServeProcess;

beforeAll(async () => {
  server = await startServe([]);
  await server.waitForLog((l) => String(l.msg).startsWith('models loaded'));
});
afterAll(() => server.stop());

/**
 * Runs `berth bench ARGS` without blocking this process (the server's log pipe is read here
 * while the bench runs).
 */
function bench(args: readonly string[]): Promise<CliResult> {
  const child = spawn(process.execPath, [BERTH_BIN, 'bench', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
  return new Promise((resolve) =>
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    }),
  );
}

interface LevelJson {
  concurrency: number;
  requests: number;
  ok: number;
  failed: number;
  errors: Record<string, { count: number; example: string }>;
  requestsPerSecond: number;
  inferencesPerSecond: number;
  latencyMs: Record<'min' | 'mean' | 'p50' | 'p90' | 'p99' | 'max', number | null> & { count: number };
  clientCpu: number;
}

interface ReportJson {
  url: string;
  transport: string;
  model: string;
  inputs: { name: string; datatype: string; shape: number[] }[];
  inferencesPerRequest: number;
  notes: string[];
  levels: LevelJson[];
  ok: boolean;
}

const SHORT = ['--concurrency', '1,2', '--duration', '1s', '--warmup', '0.2s', '--json-output'];

function expectHealthy(level: LevelJson): void {
  expect(level.requests).toBeGreaterThan(0);
  expect(level.failed).toBe(0);
  expect(level.errors).toEqual({});
  expect(level.ok).toBe(level.requests);
  expect(level.latencyMs.count).toBe(level.ok);
  const { min, p50, p90, p99, max } = level.latencyMs;
  const ordered = [min, p50, p90, p99, max].map(Number);
  expect(min).toBeGreaterThan(0);
  expect(ordered).toEqual([...ordered].sort((a, b) => a - b));
  // A one-second window: the rate is the count.
  expect(level.requestsPerSecond).toBe(level.ok);
}

describe('berth bench against berth serve', () => {
  it.concurrent.each([
    ['REST, binary tensors', () => [server.url], 'rest binary'],
    ['REST, JSON tensors', () => [server.url, '--json'], 'rest json'],
    ['gRPC', () => [server.grpcAddress ?? '', '--grpc'], 'grpc'],
  ] as const)('%s: every request succeeds at each level', async (_, target, transport) => {
    const result = await bench([...target(), '-m', 'iris', ...SHORT]);
    expect(result.stderr).not.toMatch(/^berth: /m);
    expect(result.status).toBe(0);
    const report = JSON.parse(result.stdout) as ReportJson;
    expect(report).toMatchObject({ transport, model: 'iris', ok: true, inferencesPerRequest: 1 });
    expect(report.inputs).toEqual([{ name: 'features', datatype: 'FP32', shape: [1, 4] }]);
    expect(report.levels.map((l) => l.concurrency)).toEqual([1, 2]);
    for (const level of report.levels) expectHealthy(level);
    // The default shape was chosen for the user, and said so.
    expect(report.notes).toEqual([expect.stringContaining('input "features": the model\'s shape [-1,4]')]);
    expect(result.stderr).toContain('note: input "features"');
    // Standard error is not a terminal here: one line per level, no progress line.
    expect(result.stderr).toMatch(/^concurrency 1: \d+ requests, .* 0 errors$/m);
    expect(result.stderr).toMatch(/^concurrency 2: \d+ requests, .* 0 errors$/m);
    expect(result.stderr).not.toContain('\r');
  });

  it.concurrent('prints a table with a row per level, and batches from a --data file', async () => {
    const data = join(tempDir(), 'iris.json');
    const rows = [5.1, 3.5, 1.4, 0.2, 6.7, 3.0, 5.2, 2.3, 5.9, 3.0, 4.2, 1.5];
    writeFileSync(
      data,
      JSON.stringify({ inputs: [{ name: 'features', datatype: 'FP32', shape: [3, 4], data: rows }] }),
    );
    const result = await bench([
      server.url,
      '-m',
      'iris',
      '-c',
      '1,2',
      '--duration',
      '0.5s',
      '--warmup',
      '0',
      '--data',
      data,
    ]);
    expect(result.status).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]?.trim().split(/\s{2,}/)).toEqual([
      'CONCURRENCY',
      'REQ/S',
      'INFER/S',
      'P50 MS',
      'P90 MS',
      'P99 MS',
      'MAX MS',
      'REQUESTS',
      'ERRORS',
    ]);
    expect(lines).toHaveLength(3);
    for (const [i, line] of lines.slice(1).entries()) {
      const cells = line.trim().split(/\s+/);
      expect(cells[0]).toBe(String(i + 1));
      // Three inferences a request: the file's batch.
      expect(Number(cells[2])).toBeCloseTo(3 * Number(cells[1]), 0);
      expect(Number(cells[7])).toBeGreaterThan(0);
      expect(cells[8]).toBe('0');
    }
    expect(result.stderr).toContain('features FP32 [3,4]');
  });

  it.concurrent.each([
    ['REST', () => [server.url], 'HTTP 400'],
    ['gRPC', () => [`grpc://${server.grpcAddress ?? ''}`], 'gRPC INVALID_ARGUMENT'],
  ] as const)('%s: answers the server refuses are errors by status, and exit 1', async (_, target, kind) => {
    const result = await bench([
      ...target(),
      '-m',
      'iris',
      '--shape',
      'features:1,5',
      '--duration',
      '0.3s',
      '--warmup',
      '0',
      '--json-output',
    ]);
    expect(result.status).toBe(1);
    const report = JSON.parse(result.stdout) as ReportJson;
    expect(report.ok).toBe(false);
    expect(report.notes).toEqual([
      'input "features": --shape [1,5] does not fit the model\'s shape [-1,4]; sent as given',
    ]);
    const [level] = report.levels;
    expect(level?.requests).toBeGreaterThan(0);
    expect(level?.ok).toBe(0);
    expect(level?.failed).toBe(level?.requests);
    expect(level?.errors).toEqual({
      [kind]: { count: level?.requests, example: 'input "features": expected shape [-1,4], got [1,5]' },
    });
    expect(level?.latencyMs.p50).toBeNull();
  });

  it.concurrent('lists the error classes under the table', async () => {
    const result = await bench([
      server.url,
      '-m',
      'iris',
      '--shape',
      'features:2,3',
      '--duration',
      '0.3s',
      '--warmup',
      '0',
    ]);
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(
      /\nerrors:\n {2}concurrency 1: HTTP 400 x \d+: input "features": expected shape \[-1,4\], got \[2,3\]\n$/,
    );
  });

  it.concurrent.each([
    ['REST', () => server.url, 'HTTP 404 from /v2/models/nope'],
    ['gRPC', () => `grpc://${server.grpcAddress ?? ''}`, 'gRPC ModelMetadata'],
  ] as const)(
    '%s: a model the server lacks is a clear error, exit 2, before any load',
    async (_, url, detail) => {
      const result = await bench([url(), '-m', 'nope']);
      expect(result.status).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(
        new RegExp(
          `^berth: cannot read the metadata of model "nope": ${detail}.*\\(BERTH_ERR_MODEL_NOT_FOUND\\)\\n$`,
        ),
      );
    },
  );

  it.concurrent.each([
    ['no --model', [], /required option '-m, --model <name>' not specified \(BERTH_ERR_CLI_USAGE\)/],
    [
      'a bad --concurrency',
      ['-m', 'iris', '-c', '0'],
      /--concurrency: expected .* \(BERTH_ERR_CLI_INVALID_OPTION\)/,
    ],
    ['--json with gRPC', ['-m', 'iris', '--json', '--grpc'], /--json: REST only/],
    [
      '--shape for an input the model lacks',
      ['-m', 'iris', '--shape', 'x:1'],
      /model "iris" has no input "x"/,
    ],
  ])('%s is a usage error, exit 2', async (_, args, message) => {
    const target = args.includes('--grpc') ? (server.grpcAddress ?? '') : server.url;
    const result = await bench([target, ...args]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(message);
  });

  it('--help fits in 80 columns and shows examples', async () => {
    const result = await bench(['--help']);
    expect(result.status).toBe(0);
    expect(result.stdout.split('\n').filter((line) => line.length > 80)).toEqual([]);
    expect(result.stdout).toContain('Examples:\n  berth bench http://127.0.0.1:8000 -m iris\n');
  });
});
