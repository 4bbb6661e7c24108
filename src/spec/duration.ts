/**
 * Durations in berth.yaml: a number of milliseconds, or text with a unit, as Kubernetes and
 * Prometheus write them: `250ms`, `30s`, `5m`, `1h`, and combinations such as `1m30s`.
 */
import { z } from 'zod';

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;

/** Milliseconds in a duration text; undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  if (!DURATION.test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(PART)) {
    total += Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS];
  }
  return total;
}

/**
 * A duration field: milliseconds as a number, or text with a unit; read as milliseconds.
 *
 * @example
 * z.object({ interval: duration('30s') }).parse({ interval: '1m' }); // { interval: 60000 }
 */
export function duration(fallback: string) {
  const value = z
    .union([
      z.number().nonnegative().max(Number.MAX_SAFE_INTEGER),
      z.string().regex(DURATION, 'expected a duration such as 250ms, 30s, 5m or 1h, or milliseconds'),
    ])
    .transform((v) => (typeof v === 'number' ? v : (parseDuration(v) as number)));
  // prefault: the fallback text is parsed like a given value (zod's default would skip that).
  return value
    .prefault(fallback)
    .describe(`A duration: 250ms, 30s, 5m, 1h (or milliseconds). Default ${fallback}.`);
}

/** A duration field with no default: absent means "none" (undefined), as a per-try timeout. */
export function optionalDuration() {
  return z
    .union([
      z.number().positive().max(Number.MAX_SAFE_INTEGER),
      z.string().regex(DURATION, 'expected a duration such as 250ms, 30s, 5m or 1h, or milliseconds'),
    ])
    .transform((v) => (typeof v === 'number' ? v : (parseDuration(v) as number)))
    .optional();
}
