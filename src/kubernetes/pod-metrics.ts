/**
 * What a track's pods did between two scrapes of their /metrics, as the canary analysis reads it
 * (`TrackWindow`: requests, server errors, p99): berth serve's `berth_requests_total` and
 * `berth_request_duration_seconds` for the `infer` operation, per pod, differenced as
 * Prometheus' `increase()` does (a counter that went down is a restarted pod: its new value is
 * the increase). Also what berth's gateway pods compared (`berth_gateway_comparisons_total`), for
 * the agreement check. Pure.
 */
import type { AgreementWindow, TrackWindow } from '../gateway/index.js';

/** Outcomes that count as the server's failure (the categories that map to 5xx). */
const SERVER_FAULTS = new Set(['INTERNAL', 'UNAVAILABLE', 'DEADLINE_EXCEEDED']);

export interface InferCounts {
  readonly requests: number;
  readonly errors: number;
  /** Cumulative bucket counts by upper bound in seconds (Infinity for +Inf). */
  readonly buckets: ReadonlyMap<number, number>;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** The infer counts in one pod's Prometheus text exposition. */
export function inferCounts(text: string): InferCounts {
  let requests = 0;
  let errors = 0;
  const buckets = new Map<number, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = SAMPLE.exec(line);
    if (match === null) continue;
    const [, name, labelText = '', valueText] = match;
    if (name !== 'berth_requests_total' && name !== 'berth_request_duration_seconds_bucket') continue;
    const labels: Record<string, string> = {};
    for (const [, k, v] of labelText.matchAll(LABEL)) labels[k as string] = v as string;
    if (labels['operation'] !== 'infer') continue;
    const value = Number(valueText);
    if (!Number.isFinite(value)) continue;
    if (name === 'berth_requests_total') {
      requests += value;
      if (SERVER_FAULTS.has(labels['code'] ?? '')) errors += value;
    } else {
      const le = labels['le'] === '+Inf' ? Infinity : Number(labels['le']);
      if (!Number.isNaN(le)) buckets.set(le, (buckets.get(le) ?? 0) + value);
    }
  }
  return { requests, errors, buckets };
}

const increase = (before: number | undefined, after: number) =>
  before === undefined || after < before ? after : after - before;

/**
 * The window of a track between two scrapes of its pods (by pod name); a pod seen only in the
 * second counts from zero, one seen only in the first is gone and counts nothing.
 */
export function trackWindow(
  before: ReadonlyMap<string, InferCounts>,
  after: ReadonlyMap<string, InferCounts>,
): TrackWindow {
  let requests = 0;
  let errors = 0;
  const buckets = new Map<number, number>();
  for (const [pod, now] of after) {
    const then = before.get(pod);
    const restarted = then !== undefined && now.requests < then.requests;
    const base = restarted ? undefined : then;
    requests += increase(base?.requests, now.requests);
    errors += increase(base?.errors, now.errors);
    for (const [le, count] of now.buckets)
      buckets.set(le, (buckets.get(le) ?? 0) + increase(base?.buckets.get(le), count));
  }
  return { requests, errors, p99Ms: p99(buckets) };
}

/** What one gateway pod compared, from its `berth_gateway_comparisons_total`. */
export interface ComparisonCounts {
  readonly compared: number;
  readonly agreed: number;
}

/** The comparisons in one gateway pod's Prometheus text exposition. */
export function comparisonCounts(text: string): ComparisonCounts {
  let compared = 0;
  let agreed = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith('berth_gateway_comparisons_total')) continue;
    const match = SAMPLE.exec(line);
    if (match === null) continue;
    const value = Number(match[3]);
    if (!Number.isFinite(value)) continue;
    compared += value;
    if ((match[2] ?? '').includes('outcome="agree"')) agreed += value;
  }
  return { compared, agreed };
}

/** The agreement window of the gateway pods between two scrapes (by pod name), as trackWindow counts. */
export function agreementWindow(
  before: ReadonlyMap<string, ComparisonCounts>,
  after: ReadonlyMap<string, ComparisonCounts>,
): AgreementWindow {
  let compared = 0;
  let agreed = 0;
  for (const [pod, now] of after) {
    const then = before.get(pod);
    const base = then !== undefined && now.compared < then.compared ? undefined : then;
    compared += increase(base?.compared, now.compared);
    agreed += increase(base?.agreed, now.agreed);
  }
  return { compared, agreed };
}

/** The 99th percentile from cumulative buckets: the first bound holding 99 % (the last finite one for +Inf). */
function p99(buckets: ReadonlyMap<number, number>): number | undefined {
  const bounds = [...buckets.keys()].sort((a, b) => a - b);
  const total =
    buckets.get(Infinity) ??
    (bounds.length > 0 ? (buckets.get(bounds[bounds.length - 1] as number) ?? 0) : 0);
  if (total <= 0) return undefined;
  const finite = bounds.filter((b) => Number.isFinite(b));
  for (const bound of bounds) {
    if ((buckets.get(bound) ?? 0) >= 0.99 * total)
      return (Number.isFinite(bound) ? bound : (finite[finite.length - 1] ?? 0)) * 1000;
  }
  return undefined;
}
