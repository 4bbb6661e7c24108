/**
 * A circuit breaker per upstream: after enough failures in a row it opens and the gateway sends
 * that upstream nothing for a cool-down; then it half-opens and lets a few probe requests
 * through; a probe that succeeds closes it, one that fails opens it again for a longer
 * cool-down (doubling up to a maximum). The outlier detector decides whether an upstream is
 * worse than its peers; the breaker protects an upstream that is down even when all are, so
 * that a fleet that has fallen over is not kept down by its own callers. Pure: time comes from
 * the caller.
 */

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface BreakerPolicy {
  /** Failures in a row that open the breaker. */
  readonly failures: number;
  /** The first cool-down; each reopening from half-open doubles it, up to maxCoolDownMs. */
  readonly coolDownMs: number;
  readonly maxCoolDownMs: number;
  /** Probe requests in flight at once while half-open. */
  readonly probes: number;
}

export const DEFAULT_BREAKER_POLICY: BreakerPolicy = {
  failures: 10,
  coolDownMs: 5_000,
  maxCoolDownMs: 60_000,
  probes: 1,
};

/**
 * @example
 * const breaker = new CircuitBreaker(DEFAULT_BREAKER_POLICY);
 * if (!breaker.tryAcquire(clock.now())) return tryAnotherUpstream();
 * try { const r = await send(); breaker.record(true, clock.now()); } catch { breaker.record(false, clock.now()); }
 */
export class CircuitBreaker {
  private current: BreakerState = 'closed';
  private consecutive = 0;
  private openUntil = 0;
  private coolDown: number;
  private probing = 0;
  /** Times the breaker opened, for metrics. */
  opened = 0;

  constructor(private readonly policy: BreakerPolicy = DEFAULT_BREAKER_POLICY) {
    if (!(policy.failures >= 1)) throw new RangeError('failures must be at least 1');
    if (!(policy.coolDownMs > 0 && policy.maxCoolDownMs >= policy.coolDownMs)) {
      throw new RangeError('coolDownMs must be positive and at most maxCoolDownMs');
    }
    if (!(policy.probes >= 1)) throw new RangeError('probes must be at least 1');
    this.coolDown = policy.coolDownMs;
  }

  state(now: number): BreakerState {
    if (this.current === 'open' && now >= this.openUntil) {
      this.current = 'half-open';
      this.probing = 0;
    }
    return this.current;
  }

  /** When an open breaker half-opens; undefined unless open. */
  reopensAt(now: number): number | undefined {
    return this.state(now) === 'open' ? this.openUntil : undefined;
  }

  /**
   * Whether a request may go to the upstream now. While half-open this takes one of the probe
   * slots: every acquire must be followed by one record.
   */
  tryAcquire(now: number): boolean {
    const state = this.state(now);
    if (state === 'closed') return true;
    if (state === 'open') return false;
    if (this.probing >= this.policy.probes) return false;
    this.probing++;
    return true;
  }

  /** The outcome of a request that tryAcquire let through. */
  record(ok: boolean, now: number): void {
    const state = this.state(now);
    if (state === 'half-open') {
      this.probing = Math.max(0, this.probing - 1);
      if (ok) this.close();
      else this.open(now, Math.min(this.coolDown * 2, this.policy.maxCoolDownMs));
      return;
    }
    if (state === 'open') return;
    if (ok) {
      this.consecutive = 0;
      return;
    }
    this.consecutive++;
    if (this.consecutive >= this.policy.failures) this.open(now, this.policy.coolDownMs);
  }

  private open(now: number, coolDown: number): void {
    this.current = 'open';
    this.coolDown = coolDown;
    this.openUntil = now + coolDown;
    this.consecutive = 0;
    this.opened++;
  }

  private close(): void {
    this.current = 'closed';
    this.consecutive = 0;
    this.coolDown = this.policy.coolDownMs;
  }
}
