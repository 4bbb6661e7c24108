/**
 * The fuzzer (fuzz/, `npm run fuzz`) as CI runs it: the committed corpus and every regression
 * replayed through its parser; each parser fuzzed for a few seconds with a fresh seed, failing on
 * any finding (the seed is in the message, to reproduce it); and the planted bug found, which
 * shows a finding does fail the run.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDirsForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirsForFile('berth-fuzz-work-');
const MAIN = fileURLToPath(new URL('../../fuzz/main.ts', import.meta.url));
const TARGETS = [
  'rest-infer',
  'grpc-infer',
  'http1-request',
  'http1-response',
  'pbtxt',
  'model-config',
  'berth-spec',
  'onnx-model',
  'oci-layout',
  'oci-archive',
  'docker-archive',
  'registry-manifest',
];

function fuzz(args: readonly string[], work: string) {
  const run = spawnSync(process.execPath, [MAIN, ...args], {
    encoding: 'utf8',
    timeout: 170_000,
    env: { ...process.env, BERTH_FUZZ_WORK: work },
  });
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

interface Report {
  seed: number;
  results: {
    target: string;
    stats?: { execs: number; covered: number };
    finding?: { kind: string; detail: string };
  }[];
}

describe('npm run fuzz', () => {
  it('replays the committed corpus and regressions of every target, and each keeps its contract', () => {
    const run = fuzz(['--replay', '--json'], tempDir());
    expect(run.stderr).toBe('');
    const report = JSON.parse(run.stdout) as { replayed: Record<string, number>; failed: number };
    expect(report.failed).toBe(0);
    expect(Object.keys(report.replayed).sort()).toEqual([...TARGETS].sort());
    for (const count of Object.values(report.replayed)) expect(count).toBeGreaterThan(0);
    expect(run.status).toBe(0);
  });

  it('fuzzes every target for 3 seconds and finds nothing', () => {
    const work = tempDir();
    const run = fuzz(['--time', '3s', '--json'], work);
    const report = JSON.parse(run.stdout) as Report;
    for (const result of report.results) {
      // A finding names the seed, the input (a file in a folder removed after this test) and why.
      expect(
        result.finding,
        `${result.target} (seed ${report.seed}): ${result.finding?.detail ?? ''}`,
      ).toBeUndefined();
      expect(result.stats?.execs, result.target).toBeGreaterThan(100);
      expect(result.stats?.covered, result.target).toBeGreaterThan(0);
    }
    expect(report.results.map((result) => result.target)).toEqual(TARGETS);
    expect(run.status).toBe(0);
  }, 120_000);

  it('finds the planted bug behind a 4-byte magic, saves the input and fails the run', () => {
    const work = tempDir();
    const run = fuzz(['--target', 'planted', '--time', '60s', '--seed', '1', '--json'], work);
    const report = JSON.parse(run.stdout) as Report;
    expect(report.results[0]?.finding?.kind).toBe('crash');
    expect(report.results[0]?.finding?.detail).toContain('planted: the magic matched');
    expect(readdirSync(`${work}/findings/planted`)).toEqual([expect.stringMatching(/^crash-[0-9a-f]{16}$/)]);
    expect(run.status).toBe(1);
  }, 120_000);
});
