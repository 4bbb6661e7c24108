/**
 * Latencies of one measured run: every sample kept in one growing Float64Array (8 bytes a
 * request, no per-sample objects), sorted once when the run is summarised. Exact percentiles by
 * nearest rank, as perf_analyzer reports them.
 */

/** What a run's latencies come to, in milliseconds; all null when nothing was recorded. */
export interface LatencySummary {
  readonly count: number;
  readonly min: number | null;
  readonly mean: number | null;
  readonly p50: number | null;
  readonly p90: number | null;
  readonly p99: number | null;
  readonly max: number | null;
}

/**
 * The nearest-rank percentile of ascending `sorted` values: the smallest value that at least `p`
 * percent of the values are at or below. Null for no values.
 *
 * @example
 * percentile(new Float64Array([1, 2, 3, 4]), 50); // 2
 */
export function percentile(sorted: Float64Array, p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? null;
}

/**
 * Collects latencies in milliseconds.
 *
 * @example
 * const latencies = new LatencyRecorder();
 * latencies.record(1.5);
 * latencies.summary().p99; // 1.5
 */
export class LatencyRecorder {
  private samples: Float64Array;
  private size = 0;
  private sum = 0;

  constructor(initialCapacity = 4096) {
    this.samples = new Float64Array(Math.max(1, initialCapacity));
  }

  get count(): number {
    return this.size;
  }

  record(ms: number): void {
    if (this.size === this.samples.length) {
      const grown = new Float64Array(this.samples.length * 2);
      grown.set(this.samples);
      this.samples = grown;
    }
    this.samples[this.size++] = ms;
    this.sum += ms;
  }

  summary(): LatencySummary {
    // A typed array sorts numerically; the copy leaves the recorder as it was.
    const sorted = this.samples.slice(0, this.size).sort();
    return {
      count: this.size,
      min: sorted.length === 0 ? null : (sorted[0] ?? null),
      mean: sorted.length === 0 ? null : this.sum / sorted.length,
      p50: percentile(sorted, 50),
      p90: percentile(sorted, 90),
      p99: percentile(sorted, 99),
      max: sorted.length === 0 ? null : (sorted[sorted.length - 1] ?? null),
    };
  }
}
