/**
 * The fuzzing loop of one target, in the worker that runs it: the seeds first, then inputs
 * mutated from the corpus, each run under the target's contract, and those that show code not
 * seen before kept. It stops at the first finding (as libFuzzer does), when its time is up, or
 * after a number of runs.
 */
import { Coverage } from './coverage.ts';
import type * as InputData from '../src/loadgen/input-data.js';
import { mutate } from './mutate.ts';
import { berth, isCallersError, utf8, type FuzzTarget } from './target.ts';

const { seededRandom } = await berth<typeof InputData>('loadgen/input-data.js');

export type FindingKind = 'crash' | 'timeout' | 'memory' | 'oom';

export interface Finding {
  readonly kind: FindingKind;
  readonly input: Uint8Array;
  /** The error's stack, or what went wrong. */
  readonly detail: string;
}

export interface LoopStats {
  readonly execs: number;
  readonly seconds: number;
  readonly corpus: number;
  readonly features: number;
  /** Blocks of the target's own modules covered, of those V8 reported. */
  readonly covered: number;
  readonly blocks: number;
}

export interface LoopOptions {
  readonly timeMs: number;
  readonly maxExecs: number;
  readonly seed: number;
  /** Bytes one run may allocate beyond 1024 per input byte before it is a finding. */
  readonly maxAllocBytes: number;
  /** Marks the run of `input` as started (the watchdog's view) and ended. */
  readonly started: (input: Uint8Array) => void;
  readonly ended: () => void;
  readonly onProgress?: (stats: LoopStats) => void;
  /** A new input kept in the corpus. */
  readonly onKept?: (input: Uint8Array) => void;
}

function allocated(): number {
  const usage = process.memoryUsage();
  return usage.heapUsed + usage.arrayBuffers;
}

/**
 * Runs `input` once: undefined when the target kept its contract, the finding otherwise.
 *
 * @example
 * const finding = await runOnce(target, input, 64 << 20);
 */
export async function runOnce(
  target: FuzzTarget,
  input: Uint8Array,
  maxAllocBytes: number,
): Promise<Finding | undefined> {
  const expected = (error: unknown) =>
    target.expected === undefined ? isCallersError(error) : target.expected(error);
  const before = allocated();
  try {
    const result = target.run(input);
    if (result instanceof Promise) await result;
  } catch (error) {
    if (!expected(error)) {
      const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
      return { kind: 'crash', input, detail };
    }
  }
  const grown = allocated() - before;
  if (grown > maxAllocBytes + 1024 * input.byteLength) {
    return {
      kind: 'memory',
      input,
      detail: `one run of a ${input.byteLength}-byte input allocated ${(grown / 2 ** 20).toFixed(1)} MiB`,
    };
  }
  return undefined;
}

export async function fuzzLoop(
  target: FuzzTarget,
  seeds: readonly Uint8Array[],
  options: LoopOptions,
): Promise<{ stats: LoopStats; finding?: Finding }> {
  const coverage = new Coverage(target.focus);
  await coverage.start();
  const random = seededRandom(options.seed);
  const dictionary = target.dictionary.map((token) => utf8.encode(token));
  const corpus: Uint8Array[] = [];
  const startedAt = performance.now();
  let execs = 0;
  let lastProgress = startedAt;
  const stats = (): LoopStats => ({
    execs,
    seconds: (performance.now() - startedAt) / 1000,
    corpus: corpus.length,
    features: coverage.features,
    ...(({ covered, blocks }) => ({ covered, blocks }))(coverage.focusReached),
  });
  const exec = async (input: Uint8Array): Promise<Finding | undefined> => {
    options.started(input);
    const finding = await runOnce(target, input, options.maxAllocBytes);
    options.ended();
    execs++;
    if (finding !== undefined) return finding;
    if ((await coverage.take()) > 0) {
      corpus.push(input);
      options.onKept?.(input);
    }
    return undefined;
  };
  try {
    for (const seed of seeds) {
      const finding = await exec(seed);
      if (finding !== undefined) return { stats: stats(), finding };
      // Every seed stays, new coverage or not: they are the formats' shapes.
      if (!corpus.includes(seed)) corpus.push(seed);
    }
    if (corpus.length === 0) corpus.push(new Uint8Array(0));
    while (performance.now() - startedAt < options.timeMs && execs < options.maxExecs) {
      const parent = corpus[Math.floor(random() * corpus.length)] as Uint8Array;
      const aware = target.mutate !== undefined && random() < 0.5 ? target.mutate(parent, random) : undefined;
      const child =
        aware === undefined
          ? mutate(parent, random, { maxLength: target.maxLength, dictionary, corpus })
          : aware.subarray(0, target.maxLength);
      const finding = await exec(child);
      if (finding !== undefined) return { stats: stats(), finding };
      if (performance.now() - lastProgress > 2000) {
        lastProgress = performance.now();
        options.onProgress?.(stats());
      }
    }
    return { stats: stats() };
  } finally {
    coverage.close();
  }
}
