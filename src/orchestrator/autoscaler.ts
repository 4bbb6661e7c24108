/**
 * How many replicas a model needs, from the gateway's own count of requests in flight, with the
 * semantics of Kubernetes' HorizontalPodAutoscaler (autoscaling/v2) so that `berth up` and a
 * cluster behave alike:
 *
 * - desired = ceil(in-flight / target per replica), unless the ratio to the target is within the
 *   tolerance (10 %), where the count stays;
 * - scaling up is immediate, but at most +4 replicas or +100 % (whichever is more) per 15 s;
 * - scaling down waits out a stabilisation window: the count never drops below the highest
 *   recommendation of the last `scaleDownAfterMs` (5 min), so a dip does not cost a cold start;
 * - with `min: 0`, a model idle for `idleToZeroMs` scales to zero, and a request that arrives
 *   then (waiting in the gateway's buffer) brings one replica back at once.
 *
 * Pure: the caller samples and supplies the time; each decision says why, for `berth status`.
 */

export interface AutoscalePolicy {
  readonly min: number;
  readonly max: number;
  /** Requests in flight (queued in the gateway included) one replica should carry. */
  readonly targetInflightPerReplica: number;
  /** No change while in-flight per replica is within this share of the target. */
  readonly tolerance: number;
  /** Stabilisation window for scaling down. */
  readonly scaleDownAfterMs: number;
  /** With min 0: no request for this long scales to zero. Undefined: never to zero. */
  readonly idleToZeroMs: number | undefined;
  /** Scale-up rate limit: at most this many more replicas, or this percentage more, per period. */
  readonly scaleUpReplicas: number;
  readonly scaleUpPercent: number;
  readonly scaleUpPeriodMs: number;
}

/** HPA's defaults where it has them; berth's spec supplies min, max and the target. */
export const HPA_DEFAULTS = {
  tolerance: 0.1,
  scaleDownAfterMs: 300_000,
  scaleUpReplicas: 4,
  scaleUpPercent: 100,
  scaleUpPeriodMs: 15_000,
} as const;

export interface AutoscaleSample {
  readonly now: number;
  /** Replicas the supervisor runs or is starting now. */
  readonly replicas: number;
  /** Requests in flight across them, plus those waiting in the gateway for a replica. */
  readonly inflight: number;
  /** When the gateway last received a request for the model; undefined if never. */
  readonly lastRequestAt: number | undefined;
}

export interface AutoscaleDecision {
  readonly desired: number;
  readonly reason: string;
}

interface Recommendation {
  readonly at: number;
  readonly replicas: number;
}

interface Decided extends Recommendation {
  /** The count the decision started from. */
  readonly from: number;
}

/**
 * @example
 * const autoscaler = new Autoscaler({ ...HPA_DEFAULTS, min: 1, max: 4, targetInflightPerReplica: 8, idleToZeroMs: undefined });
 * const { desired, reason } = autoscaler.decide({ now, replicas: 2, inflight: 40, lastRequestAt: now });
 */
export class Autoscaler {
  private recommendations: Recommendation[] = [];
  /** Replica counts decided, to rate-limit scaling up over a period. */
  private decided: Decided[] = [];

  constructor(private readonly policy: AutoscalePolicy) {
    if (!(Number.isInteger(policy.min) && policy.min >= 0))
      throw new RangeError('min must be an integer >= 0');
    if (!(Number.isInteger(policy.max) && policy.max >= Math.max(1, policy.min))) {
      throw new RangeError('max must be an integer >= min and >= 1');
    }
    if (!(policy.targetInflightPerReplica > 0)) throw new RangeError('the target must be positive');
  }

  decide(sample: AutoscaleSample): AutoscaleDecision {
    const { now, replicas: current, inflight } = sample;
    const { min, max, targetInflightPerReplica: target } = this.policy;
    const floor = Math.max(min, 1);
    let raw: number;
    let why: string;
    const idleFor = sample.lastRequestAt === undefined ? Infinity : now - sample.lastRequestAt;
    if (
      min === 0 &&
      this.policy.idleToZeroMs !== undefined &&
      inflight === 0 &&
      idleFor >= this.policy.idleToZeroMs
    ) {
      raw = 0;
      why = `no request for ${formatMs(idleFor)} (idle to zero after ${formatMs(this.policy.idleToZeroMs)})`;
    } else if (current === 0) {
      raw = inflight > 0 ? Math.max(floor, Math.ceil(inflight / target)) : min;
      why =
        inflight > 0
          ? `${inflight} request(s) waiting with no replica: scale from zero`
          : 'no replica and no request';
    } else {
      const perReplica = inflight / current;
      const ratio = perReplica / target;
      const summary = `${inflight} in flight over ${current} replica(s) = ${round(perReplica)} each, target ${target}`;
      if (Math.abs(ratio - 1) <= this.policy.tolerance) {
        raw = current;
        why = `${summary}: within the ${this.policy.tolerance * 100} % tolerance`;
      } else {
        raw = Math.ceil(inflight / target);
        why = summary;
      }
      raw = Math.max(raw, floor);
    }
    raw = Math.min(Math.max(raw, min), max);
    this.remember(this.recommendations, { at: now, replicas: raw }, now - this.policy.scaleDownAfterMs);

    let desired = raw;
    if (raw > current) {
      const base = this.lowestDecidedSince(now - this.policy.scaleUpPeriodMs, current);
      const limit = Math.max(
        base + this.policy.scaleUpReplicas,
        Math.ceil(base * (1 + this.policy.scaleUpPercent / 100)),
      );
      if (desired > limit) {
        desired = limit;
        why += `; limited to ${limit} (at most +${this.policy.scaleUpReplicas} or +${this.policy.scaleUpPercent} % per ${formatMs(this.policy.scaleUpPeriodMs)})`;
      }
      why += `: scale up to ${desired}`;
    } else if (raw < current) {
      const highest = Math.max(...this.recommendations.map((r) => r.replicas));
      desired = Math.min(current, Math.max(raw, highest));
      why +=
        desired === current
          ? `; scale-down held: ${highest} recommended within the last ${formatMs(this.policy.scaleDownAfterMs)}`
          : `: scale down to ${desired}`;
    }
    this.remember(
      this.decided,
      { at: now, replicas: desired, from: current },
      now - Math.max(this.policy.scaleUpPeriodMs, this.policy.scaleDownAfterMs),
    );
    return { desired, reason: why };
  }

  private remember<T extends Recommendation>(list: T[], entry: T, since: number): void {
    list.push(entry);
    while (list.length > 0 && (list[0] as Recommendation).at < since) list.shift();
  }

  /**
   * The fewest replicas there were at any decision within the period: what the scale-up limit
   * is relative to, so that several decisions in one period add no more than one would.
   */
  private lowestDecidedSince(since: number, current: number): number {
    let lowest = current;
    for (const entry of this.decided) if (entry.at > since) lowest = Math.min(lowest, entry.from);
    return Math.max(lowest, 1);
  }
}

function round(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

/** 90000 -> "1m30s", 1500 -> "1.5s". */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return 'ever';
  if (ms < 60_000) return `${round(ms / 1000)}s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  return seconds === 0 ? `${minutes}m` : `${minutes}m${seconds}s`;
}
