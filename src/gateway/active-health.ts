/**
 * Active health checking, as Envoy's health checker and Kubernetes' readiness probe do it: the
 * gateway asks every upstream's OIP readiness endpoint (`GET /v2/health/ready`) every
 * `intervalMs`, and `unhealthyAfter` failed checks in a row (a non-200 answer, or none within
 * `timeoutMs`) take it out of the balancer until one check passes. It is what catches a replica
 * that hangs (SIGSTOP, a deadlock, a full disk) before requests fail on it, and what brings back
 * one the forwarder took out because its connection was lost.
 *
 * `HealthVerdicts` is the decision, pure; `startHealthChecks` is the loop that feeds it.
 */
import { probeReady } from './upstream-address.js';
import type { UpstreamPool } from './upstream-pool.js';

export interface HealthCheckPolicy {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** Failed checks in a row that make an upstream unhealthy. One passing check makes it healthy. */
  readonly unhealthyAfter: number;
}

export const DEFAULT_HEALTH_CHECK: HealthCheckPolicy = {
  intervalMs: 1000,
  timeoutMs: 1000,
  unhealthyAfter: 2,
};

/**
 * Counts failed checks per upstream and says when its health changes.
 *
 * @example
 * const verdicts = new HealthVerdicts(2);
 * verdicts.record('r1', false); // undefined: one failure is not yet a verdict
 * verdicts.record('r1', false); // 'unhealthy'
 * verdicts.record('r1', true);  // 'healthy'
 */
export class HealthVerdicts {
  private readonly failures = new Map<string, number>();
  private readonly unhealthy = new Set<string>();

  constructor(private readonly unhealthyAfter: number) {
    if (!(Number.isInteger(unhealthyAfter) && unhealthyAfter >= 1)) {
      throw new RangeError('unhealthyAfter must be an integer >= 1');
    }
  }

  /** The change a check's outcome makes, if any. */
  record(id: string, passed: boolean): 'healthy' | 'unhealthy' | undefined {
    if (passed) {
      this.failures.delete(id);
      if (!this.unhealthy.delete(id)) return undefined;
      return 'healthy';
    }
    const failures = (this.failures.get(id) ?? 0) + 1;
    this.failures.set(id, failures);
    if (failures < this.unhealthyAfter || this.unhealthy.has(id)) return undefined;
    this.unhealthy.add(id);
    return 'unhealthy';
  }

  /** Marks an upstream unhealthy at once (its connection was lost): the next passing check restores it. */
  markUnhealthy(id: string): void {
    this.unhealthy.add(id);
    this.failures.set(id, this.unhealthyAfter);
  }

  forget(id: string): void {
    this.failures.delete(id);
    this.unhealthy.delete(id);
  }
}

export interface RunningHealthChecks {
  stop(): void;
}

/**
 * Checks every upstream of `pool` each interval (one check in flight per upstream at most) and
 * sets its health in the pool.
 *
 * @example
 * const checks = startHealthChecks(pool, DEFAULT_HEALTH_CHECK);
 * checks.stop();
 */
export function startHealthChecks(
  pool: UpstreamPool,
  policy: HealthCheckPolicy,
  onChange?: (id: string, verdict: 'healthy' | 'unhealthy') => void,
): RunningHealthChecks {
  const verdicts = new HealthVerdicts(policy.unhealthyAfter);
  // Keyed by id and URL: a replica restarted under the same id is a new upstream.
  const key = (id: string, url: string) => `${id} ${url}`;
  const inFlight = new Set<string>();
  let stopped = false;
  const known = new Set<string>();
  pool.onLost = (upstream) => verdicts.markUnhealthy(key(upstream.id, upstream.url));

  const check = (id: string, url: string): void => {
    const k = key(id, url);
    if (inFlight.has(k)) return;
    inFlight.add(k);
    probeReady(url, policy.timeoutMs).then(
      (passed) => {
        inFlight.delete(k);
        if (stopped || pool.urlOf(id) !== url) return;
        const verdict = verdicts.record(k, passed);
        if (verdict === undefined) return;
        pool.setHealthy(id, verdict === 'healthy');
        onChange?.(id, verdict);
      },
      () => undefined,
    );
  };

  const timer = setInterval(() => {
    const seen = new Set<string>();
    for (const upstream of pool.view()) {
      const k = key(upstream.id, upstream.url);
      seen.add(k);
      known.add(k);
      check(upstream.id, upstream.url);
    }
    for (const k of known) {
      if (!seen.has(k)) {
        known.delete(k);
        verdicts.forget(k);
      }
    }
  }, policy.intervalMs);
  timer.unref();
  return {
    stop: () => {
      stopped = true;
      clearInterval(timer);
      pool.onLost = undefined;
    },
  };
}
