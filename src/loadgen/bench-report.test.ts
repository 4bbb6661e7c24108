import { describe, expect, it } from 'vitest';
import {
  clientCpuNote,
  errorLines,
  formatMs,
  formatRate,
  levelLine,
  progressLine,
  reportRows,
  type BenchReport,
  type LevelReport,
} from './bench-report.js';

const good: LevelReport = {
  concurrency: 4,
  requests: 8000,
  ok: 8000,
  failed: 0,
  errors: {},
  requestsPerSecond: 1600,
  inferencesPerSecond: 12800,
  latencyMs: { count: 8000, min: 0.9, mean: 2.4, p50: 2.31, p90: 3.456, p99: 12.34, max: 150.2 },
  clientCpu: 0.4,
};
const failing: LevelReport = {
  ...good,
  concurrency: 1,
  requests: 10,
  ok: 0,
  failed: 10,
  errors: {
    'HTTP 400': { count: 7, example: 'bad shape' },
    timeout: { count: 3, example: 'no answer within 30000 ms' },
  },
  requestsPerSecond: 0,
  inferencesPerSecond: 0,
  latencyMs: { count: 0, min: null, mean: null, p50: null, p90: null, p99: null, max: null },
};
const report = { levels: [failing, good] } as unknown as BenchReport;

describe('bench report', () => {
  it('formats milliseconds to about three significant digits, and rates', () => {
    expect([0.4123, 4.123, 41.23, 412.3, null].map(formatMs)).toEqual(['0.412', '4.12', '41.2', '412', '-']);
    expect([12.34, 999.94, 1234.5].map(formatRate)).toEqual(['12.3', '999.9', '1235']);
  });

  it('has a row per level under the header', () => {
    expect(reportRows(report)).toEqual([
      ['CONCURRENCY', 'REQ/S', 'INFER/S', 'P50 MS', 'P90 MS', 'P99 MS', 'MAX MS', 'REQUESTS', 'ERRORS'],
      ['1', '0.0', '0.0', '-', '-', '-', '-', '10', '10'],
      ['4', '1600', '12800', '2.31', '3.46', '12.3', '150', '8000', '0'],
    ]);
  });

  it('lists each error class with its count and first message', () => {
    expect(errorLines(report)).toEqual([
      'concurrency 1: HTTP 400 x 7: bad shape',
      'concurrency 1: timeout x 3: no answer within 30000 ms',
    ]);
    const empty = { levels: [{ ...good, requests: 0, ok: 0 }] } as unknown as BenchReport;
    expect(errorLines(empty)).toEqual([
      'concurrency 4: no answer arrived within the measured window (a longer --duration?)',
    ]);
  });

  it('says what each level did in one line', () => {
    expect(levelLine(good)).toBe(
      'concurrency 4: 8000 requests, 1600 req/s, p50 2.31 ms, p99 12.3 ms, 0 errors',
    );
    expect(levelLine(failing)).toBe(
      'concurrency 1: 10 requests, 0.0 req/s, p50 - ms, p99 - ms, 10 errors (HTTP 400, timeout)',
    );
  });

  it('warns when the generator was busy enough to limit the numbers', () => {
    expect(clientCpuNote(good)).toBeUndefined();
    expect(clientCpuNote({ ...good, clientCpu: 0.97 })).toMatch(
      /^note: at concurrency 4 berth bench itself used 97% of a CPU core; it may be what limits/,
    );
  });

  it('shows the phase in the progress line', () => {
    expect(progressLine(2, 500, 2000, 10_000, { ok: 0, failed: 0 })).toBe(
      'concurrency 2: warming up 0.5/2.0 s, 0 ok, 0 errors',
    );
    expect(progressLine(2, 4000, 2000, 10_000, { ok: 600, failed: 1 })).toBe(
      'concurrency 2: measuring 2.0/10.0 s, 300.0 req/s, 600 ok, 1 errors',
    );
  });
});
