/**
 * How the fuzzer changes an input, libFuzzer's mutations in small: flip a bit, set a byte to a
 * value parsers treat specially, insert, erase or repeat a run of bytes, put a number or a token
 * of the target's dictionary in, or splice in part of another input. Pure: randomness comes from
 * the injected generator, so a run with a seed repeats.
 */
import { concat as joinBytes } from '../test/helpers/bytes.ts';

/** A generator of numbers in [0, 1). */
export type Random = () => number;

/** Bytes parsers treat specially: ends, signs, quotes, brackets, the largest and smallest values. */
const INTERESTING_BYTES = [
  0x00, 0x01, 0x7f, 0x80, 0xff, 0x0a, 0x0d, 0x22, 0x5c, 0x2d, 0x5b, 0x5d, 0x7b, 0x7d,
];

/** Numbers that sit on the edges of integer and float ranges, as text. */
const INTERESTING_NUMBERS = [
  '0',
  '-1',
  '1',
  '255',
  '256',
  '65535',
  '2147483647',
  '-2147483648',
  '4294967295',
  '4294967296',
  '9007199254740993',
  '18446744073709551615',
  '1e309',
  '-0',
  '0.5',
  'NaN',
];

export interface MutateOptions {
  /** Longest input made. */
  readonly maxLength: number;
  /** Tokens of the target's format (field names, keywords) to insert. */
  readonly dictionary: readonly Uint8Array[];
  /** Other inputs of the corpus, for splicing. */
  readonly corpus: readonly Uint8Array[];
}

const int = (random: Random, n: number): number => Math.floor(random() * n);

const concat = (...parts: Uint8Array[]): Uint8Array => joinBytes(parts);

const ASCII = new TextEncoder();

type Mutator = (input: Uint8Array, random: Random, options: MutateOptions) => Uint8Array;

const MUTATORS: readonly Mutator[] = [
  // Flip one bit.
  (input, random) => {
    if (input.byteLength === 0) return input;
    const out = input.slice();
    const at = int(random, out.byteLength);
    out[at] = (out[at] as number) ^ (1 << int(random, 8));
    return out;
  },
  // Set a byte to a random or an interesting value.
  (input, random) => {
    if (input.byteLength === 0) return Uint8Array.of(int(random, 256));
    const out = input.slice();
    out[int(random, out.byteLength)] =
      random() < 0.5
        ? int(random, 256)
        : (INTERESTING_BYTES[int(random, INTERESTING_BYTES.length)] as number);
    return out;
  },
  // Insert random bytes.
  (input, random) => {
    const at = int(random, input.byteLength + 1);
    const bytes = new Uint8Array(1 + int(random, 8)).map(() => int(random, 256));
    return concat(input.subarray(0, at), bytes, input.subarray(at));
  },
  // Erase a run.
  (input, random) => {
    if (input.byteLength === 0) return input;
    const at = int(random, input.byteLength);
    const length = 1 + int(random, Math.min(16, input.byteLength - at));
    return concat(input.subarray(0, at), input.subarray(at + length));
  },
  // Repeat a run in place (nesting, long lists).
  (input, random) => {
    if (input.byteLength === 0) return input;
    const at = int(random, input.byteLength);
    const run = input.subarray(at, at + 1 + int(random, Math.min(32, input.byteLength - at)));
    const times = 1 + int(random, 8);
    return concat(input.subarray(0, at), ...Array<Uint8Array>(times).fill(run), input.subarray(at));
  },
  // Put in a token of the target's format.
  (input, random, options) => {
    if (options.dictionary.length === 0) return input;
    const token = options.dictionary[int(random, options.dictionary.length)] as Uint8Array;
    const at = int(random, input.byteLength + 1);
    return concat(input.subarray(0, at), token, input.subarray(at));
  },
  // Replace a run of digits (or put a number in) with an edge value.
  (input, random) => {
    const number = ASCII.encode(INTERESTING_NUMBERS[int(random, INTERESTING_NUMBERS.length)]);
    const digits: number[] = [];
    for (let i = 0; i < input.byteLength; i++) {
      const byte = input[i] as number;
      if (
        byte >= 0x30 &&
        byte <= 0x39 &&
        (i === 0 || !((input[i - 1] as number) >= 0x30 && (input[i - 1] as number) <= 0x39))
      )
        digits.push(i);
    }
    if (digits.length === 0) {
      const at = int(random, input.byteLength + 1);
      return concat(input.subarray(0, at), number, input.subarray(at));
    }
    const start = digits[int(random, digits.length)] as number;
    let end = start;
    while (end < input.byteLength && (input[end] as number) >= 0x30 && (input[end] as number) <= 0x39) end++;
    return concat(input.subarray(0, start), number, input.subarray(end));
  },
  // Write a little-endian integer of an edge value over 4 bytes (binary formats' lengths).
  (input, random) => {
    if (input.byteLength < 4) return input;
    const out = input.slice();
    const values = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, input.byteLength, input.byteLength + 1];
    new DataView(out.buffer).setUint32(
      int(random, out.byteLength - 3),
      values[int(random, values.length)] as number,
      true,
    );
    return out;
  },
  // Splice: the start of this input and the end of another.
  (input, random, options) => {
    if (options.corpus.length === 0) return input;
    const other = options.corpus[int(random, options.corpus.length)] as Uint8Array;
    return concat(
      input.subarray(0, int(random, input.byteLength + 1)),
      other.subarray(int(random, other.byteLength + 1)),
    );
  },
];

/**
 * One to four stacked mutations of `input`, cut to `maxLength`.
 *
 * @example
 * const next = mutate(input, random, { maxLength: 4096, dictionary: [], corpus });
 */
export function mutate(input: Uint8Array, random: Random, options: MutateOptions): Uint8Array {
  let out = input;
  const rounds = 1 + int(random, 4);
  for (let i = 0; i < rounds; i++)
    out = (MUTATORS[int(random, MUTATORS.length)] as Mutator)(out, random, options);
  return out.byteLength > options.maxLength ? out.subarray(0, options.maxLength) : out;
}
