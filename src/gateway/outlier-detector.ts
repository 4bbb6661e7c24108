/**
 * Passive health of a gateway's upstreams: consecutive server errors eject an upstream from the
 * balancer for a while, as Envoy's outlier detection does (its "consecutive 5xx" type, with its
 * defaults: 5 in a row, 30 s base ejection, at most 10 % of upstreams ejected, the ejection
 * time growing with each ejection in a row up to 300 s and shrinking again, one step per
 * interval, while the upstream stays healthy). Pure: time comes from the caller.
 *
 * What counts as a failure is the caller's decision (a 5xx other than a draining replica's 503,
 * a reset or refused connection, a timeout); a client's own error (4xx) is a success here.
 */

export interface OutlierPolicy {
  /** Failures in a row that eject an upstream. */
  readonly consecutiveFailures: number;
  /** The first ejection's length; the n-th in a row lasts n times as long. */
  readonly baseEjectionMs: number;
  /** The longest an ejection lasts, however many came before it. */
  readonly maxEjectionMs: number;
  /** How often a healthy upstream's multiplier steps back down by one. */
  readonly intervalMs: number;
  /**
   * The largest share of upstreams ejected at once, in percent. As in Envoy, one upstream may
   * always be ejected when there are two or more, so that a pair can lose its bad half.
   */
  readonly maxEjectionPercent: number;
}

/** Envoy's defaults (config.cluster.v3.OutlierDetection). */
export const DEFAULT_OUTLIER_POLICY: OutlierPolicy = {
  consecutiveFailures: 5,
  baseEjectionMs: 30_000,
  maxEjectionMs: 300_000,
  intervalMs: 10_000,
  maxEjectionPercent: 10,
};

/** What an upstream's passive health looks like now, for status output and metrics. */
export interface OutlierState {
  readonly ejected: boolean;
  /** When the current ejection ends (ms, the caller's clock); undefined when not ejected. */
  readonly ejectedUntil: number | undefined;
  readonly consecutiveFailures: number;
  /** The multiplier of the next ejection's length. */
  readonly multiplier: number;
  /** Ejections since the upstream was added. */
  readonly ejections: number;
}

interface Tracked {
  consecutive: number;
  ejectedUntil: number | undefined;
  /** Ejections in a row; the next ejection lasts (multiplier + 1) base lengths. */
  multiplier: number;
  /** When the multiplier last stepped down, or the upstream last returned. */
  healthySince: number;
  ejections: number;
}

/**
 * @example
 * const outliers = new OutlierDetector(DEFAULT_OUTLIER_POLICY);
 * outliers.add('replica-1', clock.now());
 * if (outliers.record('replica-1', false, clock.now()) === 'ejected') log.warn(...);
 * const usable = ids.filter((id) => !outliers.isEjected(id, clock.now()));
 */
export class OutlierDetector {
  private readonly upstreams = new Map<string, Tracked>();

  constructor(private readonly policy: OutlierPolicy = DEFAULT_OUTLIER_POLICY) {
    if (!(policy.consecutiveFailures >= 1)) throw new RangeError('consecutiveFailures must be at least 1');
    if (!(policy.baseEjectionMs > 0)) throw new RangeError('baseEjectionMs must be positive');
    if (!(policy.maxEjectionMs >= policy.baseEjectionMs)) {
      throw new RangeError('maxEjectionMs must be at least baseEjectionMs');
    }
  }

  add(id: string, now: number): void {
    if (this.upstreams.has(id)) return;
    this.upstreams.set(id, {
      consecutive: 0,
      ejectedUntil: undefined,
      multiplier: 0,
      healthySince: now,
      ejections: 0,
    });
  }

  remove(id: string): void {
    this.upstreams.delete(id);
  }

  /**
   * Records one outcome of a request to `id`.
   *
   * @returns 'ejected' when this failure ejected the upstream, else undefined
   */
  record(id: string, ok: boolean, now: number): 'ejected' | undefined {
    const upstream = this.upstreams.get(id);
    if (upstream === undefined) return undefined;
    this.settle(upstream, now);
    // Answers to requests sent before the ejection say nothing new about the upstream.
    if (upstream.ejectedUntil !== undefined) return undefined;
    if (ok) {
      upstream.consecutive = 0;
      return undefined;
    }
    upstream.consecutive++;
    if (upstream.consecutive < this.policy.consecutiveFailures) return undefined;
    if (!this.mayEject(now)) return undefined;
    upstream.multiplier++;
    upstream.ejections++;
    upstream.consecutive = 0;
    upstream.ejectedUntil =
      now + Math.min(this.policy.baseEjectionMs * upstream.multiplier, this.policy.maxEjectionMs);
    return 'ejected';
  }

  /** Whether the balancer must skip `id` now. */
  isEjected(id: string, now: number): boolean {
    const upstream = this.upstreams.get(id);
    if (upstream === undefined) return false;
    this.settle(upstream, now);
    return upstream.ejectedUntil !== undefined;
  }

  /**
   * Brings an ejected upstream back at once and clears its counts: an active health check that
   * passed proves more than the wait would (Envoy does the same).
   */
  restore(id: string, now: number): void {
    const upstream = this.upstreams.get(id);
    if (upstream === undefined) return;
    upstream.ejectedUntil = undefined;
    upstream.consecutive = 0;
    upstream.healthySince = now;
  }

  state(id: string, now: number): OutlierState | undefined {
    const upstream = this.upstreams.get(id);
    if (upstream === undefined) return undefined;
    this.settle(upstream, now);
    return {
      ejected: upstream.ejectedUntil !== undefined,
      ejectedUntil: upstream.ejectedUntil,
      consecutiveFailures: upstream.consecutive,
      multiplier: upstream.multiplier,
      ejections: upstream.ejections,
    };
  }

  /** Upstreams ejected now. */
  ejectedCount(now: number): number {
    let count = 0;
    for (const upstream of this.upstreams.values()) {
      this.settle(upstream, now);
      if (upstream.ejectedUntil !== undefined) count++;
    }
    return count;
  }

  private mayEject(now: number): boolean {
    const total = this.upstreams.size;
    if (total < 2) return false;
    const allowed = Math.max(1, Math.floor((total * this.policy.maxEjectionPercent) / 100));
    return this.ejectedCount(now) < allowed;
  }

  /** Ends a due ejection, and steps a healthy upstream's multiplier down once per interval. */
  private settle(upstream: Tracked, now: number): void {
    if (upstream.ejectedUntil !== undefined) {
      if (now < upstream.ejectedUntil) return;
      upstream.healthySince = upstream.ejectedUntil;
      upstream.ejectedUntil = undefined;
    }
    if (upstream.multiplier === 0) return;
    const steps = Math.floor((now - upstream.healthySince) / this.policy.intervalMs);
    if (steps <= 0) return;
    upstream.multiplier = Math.max(0, upstream.multiplier - steps);
    upstream.healthySince += steps * this.policy.intervalMs;
  }
}
