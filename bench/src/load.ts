/**
 * One load run: wrk (C, one thread, so the load generator takes as little of the machine as it
 * can) POSTing one request body over N keep-alive connections for a fixed time, after a warm-up
 * run whose numbers are thrown away; with the server's pid, also the CPU it used per request over the
 * measured run (as bench/cpu-per-request.sh counts it). Also the probe that checks a target's
 * answer before it is measured.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

import type { BenchModel, Format } from './models.js';
import { BENCH_DIR } from './paths.js';
import { treeCpuSeconds } from './process.js';

const run = promisify(execFile);

export interface LoadResult {
  readonly requests: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  /** Connect, read, write and timeout errors plus responses with status >= 400. */
  readonly errors: number;
  /**
   * CPU time (user + system, every thread of the server and its child processes) over the
   * measured run divided by the requests completed, in µs; undefined without the server's pid.
   */
  readonly cpuUsPerRequest: number | undefined;
}

interface WrkOutput {
  requests: number;
  durationUs: number;
  errors: Record<'connect' | 'read' | 'write' | 'status' | 'timeout', number>;
  latencyUs: { p50: number; p90: number; p99: number };
}

async function wrk(
  url: string,
  model: BenchModel,
  format: Format,
  connections: number,
  seconds: number,
): Promise<WrkOutput> {
  const body = model.bodies[format];
  const { stdout } = await run(
    'wrk',
    [
      '-t',
      '1',
      '-c',
      String(connections),
      '-d',
      `${seconds}s`,
      '--timeout',
      '60s',
      '-s',
      join(BENCH_DIR, 'wrk', 'oip.lua'),
      `${url}/v2/models/${model.name}/infer`,
    ],
    {
      env: {
        ...process.env,
        BENCH_BODY: body.path,
        BENCH_CONTENT_TYPE: body.contentType,
        BENCH_HEADER_LENGTH: body.headerLength === undefined ? '' : String(body.headerLength),
      },
      maxBuffer: 1 << 20,
    },
  );
  const line = stdout.split('\n').find((l) => l.startsWith('{"requests"'));
  if (line === undefined) throw new Error(`wrk printed no result:\n${stdout}`);
  return JSON.parse(line) as WrkOutput;
}

export async function measure(
  url: string,
  model: BenchModel,
  format: Format,
  connections: number,
  options: { seconds: number; warmupSeconds: number; pid?: number | undefined },
): Promise<LoadResult> {
  if (options.warmupSeconds > 0) await wrk(url, model, format, connections, options.warmupSeconds);
  const { pid } = options;
  const cpuBefore = pid === undefined ? 0 : treeCpuSeconds(pid);
  const out = await wrk(url, model, format, connections, options.seconds);
  const cpuSeconds = pid === undefined ? undefined : treeCpuSeconds(pid) - cpuBefore;
  const errors = Object.values(out.errors).reduce((a, b) => a + b, 0);
  return {
    requests: out.requests,
    rps: out.requests / (out.durationUs / 1e6),
    p50Ms: out.latencyUs.p50 / 1000,
    p90Ms: out.latencyUs.p90 / 1000,
    p99Ms: out.latencyUs.p99 / 1000,
    errors,
    cpuUsPerRequest:
      cpuSeconds === undefined || out.requests === 0 ? undefined : (cpuSeconds * 1e6) / out.requests,
  };
}

/** Sends the bench body once and returns the first output's values (JSON or binary response). */
export async function probe(url: string, model: BenchModel, format: Format): Promise<Float32Array> {
  const body = model.bodies[format];
  const headers: Record<string, string> = { 'content-type': body.contentType };
  if (body.headerLength !== undefined) headers['inference-header-content-length'] = String(body.headerLength);
  const response = await fetch(`${url}/v2/models/${model.name}/infer`, {
    method: 'POST',
    headers,
    body: readFileSync(body.path),
  });
  const bytes = Buffer.from(await response.arrayBuffer());
  if (response.status !== 200)
    throw new Error(`HTTP ${response.status}: ${bytes.toString('utf8').slice(0, 500)}`);
  const headerLength = response.headers.get('inference-header-content-length');
  const json = JSON.parse(
    bytes.subarray(0, headerLength === null ? bytes.length : Number(headerLength)).toString('utf8'),
  ) as {
    outputs?: { data?: number[] }[];
  };
  if (headerLength === null) return Float32Array.from(json.outputs?.[0]?.data ?? []);
  const raw = bytes.subarray(Number(headerLength));
  return new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
}
