/**
 * A fuzz target: one parser of untrusted input, and its contract. `run` gets the fuzzer's bytes
 * and either returns (any value, or a promise of one) or throws; a throw keeps the contract only
 * when `expected` says so, by default a BerthError whose status is a 4xx. Anything else — another
 * exception, a hang, memory out of proportion to the input — is a finding.
 */
import { mkdirSync } from 'node:fs';
import type * as Ground from '../src/ground/index.js';

export interface FuzzTarget {
  readonly name: string;
  /** What it parses, for `--list` and docs/fuzzing.md. */
  readonly description: string;
  /** Parts of the dist/ URLs of the target's own modules: the coverage reported for it. */
  readonly focus: readonly string[];
  /** Tokens of the format the mutator inserts (field names, keywords, punctuation). */
  readonly dictionary: readonly string[];
  /** Longest input the fuzzer makes. */
  readonly maxLength: number;
  /** Seed inputs, made by berth's own code, by file name: the committed corpus. */
  seeds(): Promise<Readonly<Record<string, Uint8Array>>>;
  run(data: Uint8Array): unknown;
  /** A mutation that knows the format (engine.ts uses it for half the inputs); undefined: none this time. */
  mutate?(data: Uint8Array, random: () => number): Uint8Array | undefined;
  /** Whether a thrown error keeps the contract; default: a BerthError of a 4xx status. */
  expected?(error: unknown): boolean;
}

/** berth's built code, as the fuzzer runs it (types from src/). */
export async function berth<T>(module: string): Promise<T> {
  return (await import(new URL(`../dist/${module}`, import.meta.url).href)) as T;
}

const ground = await berth<typeof Ground>('ground/index.js');

/** The default contract: a BerthError the protocol answers with a 4xx. */
export function isCallersError(error: unknown): boolean {
  if (!(error instanceof ground.BerthError)) return false;
  const status = ground.httpStatusOf(error);
  return status >= 400 && status < 500;
}

export const utf8 = new TextEncoder();
export const text = new TextDecoder('utf-8', { fatal: false });

/**
 * A folder for what a target writes (layouts, archives), made by main.ts for each worker and
 * removed when it ends: a worker stopped by terminate() runs no exit handlers of its own.
 */
export function scratchFolder(name: string): string {
  const root = process.env.BERTH_FUZZ_SCRATCH;
  if (root === undefined)
    throw new Error('BERTH_FUZZ_SCRATCH is not set: run the targets through fuzz/main.ts');
  const dir = `${root}/${name}`;
  mkdirSync(dir, { recursive: true });
  return dir;
}
