/** Parsers for command-line option values; each error names the option and what it expects. */
import { BerthError } from '../ground/index.js';

function invalid(option: string, expected: string, got: string): BerthError {
  return new BerthError(
    'BERTH_ERR_CLI_INVALID_OPTION',
    `${option}: expected ${expected}, got ${JSON.stringify(got)}`,
  );
}

export function parseInteger(option: string, value: string, min: number, max: number): number {
  const n = /^\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw invalid(option, `an integer from ${min} to ${max}`, value);
  return n;
}

const SIZE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  kib: 1024,
  m: 1e6,
  mb: 1e6,
  mib: 1024 ** 2,
  g: 1e9,
  gb: 1e9,
  gib: 1024 ** 3,
};

/** `67108864`, `64MiB`, `100MB`, `1GiB` to bytes. */
export function parseSize(option: string, value: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(value.trim());
  const unit = SIZE_UNITS[(match?.[2] ?? '').toLowerCase()];
  if (match === null || unit === undefined)
    throw invalid(option, 'a size such as 64MiB, 100MB or 1048576', value);
  const bytes = Math.floor(Number(match[1]) * unit);
  if (bytes < 1 || bytes > 2 ** 31 - 1)
    throw invalid(option, 'a size from 1 byte to 2GiB - 1 (2147483647)', value);
  return bytes;
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000 };

/** `30s`, `500ms`, `2m`, or plain milliseconds, to milliseconds. */
export function parseDuration(option: string, value: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m)?$/i.exec(value.trim());
  if (match === null) throw invalid(option, 'a duration such as 30s, 500ms or 2m', value);
  const ms = Math.round(Number(match[1]) * (DURATION_UNITS[(match[2] ?? 'ms').toLowerCase()] ?? 1));
  if (ms > 24 * 3600 * 1000) throw invalid(option, 'a duration of at most 24h', value);
  return ms;
}

export function parseChoice<T extends string>(option: string, value: string, choices: readonly T[]): T {
  const found = choices.find((c) => c === value);
  if (found === undefined) throw invalid(option, `one of ${choices.join(', ')}`, value);
  return found;
}

/** Seconds, fractional allowed, from `min` to `max`, to milliseconds. */
export function parseSeconds(option: string, value: string, min: number, max: number): number {
  const seconds = /^\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : NaN;
  if (!(seconds >= min && seconds <= max))
    throw invalid(option, `a number of seconds from ${min} to ${max}`, value);
  return Math.round(seconds * 1000);
}
