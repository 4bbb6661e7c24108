/**
 * The spec's `resilience` section as the gateway's parts take it: the pool's outlier and breaker
 * policies, and what both fronts share (deadline, retries and their budget, the buffer, the
 * per-try timeout, active health checks). `berth up` and `berth gateway` build their gateways from
 * the same section the same way.
 */
import {
  DEFAULT_BREAKER_POLICY,
  DEFAULT_OUTLIER_POLICY,
  type HealthCheckPolicy,
  type UpstreamPoolOptions,
} from '../gateway/index.js';
import type { ResilienceSpec } from '../spec/index.js';

/** The outlier detector's and breakers' policies of an upstream pool. */
export function poolPolicies(resilience: ResilienceSpec): Pick<UpstreamPoolOptions, 'outlier' | 'breaker'> {
  return {
    outlier: {
      ...DEFAULT_OUTLIER_POLICY,
      consecutiveFailures: resilience.outlier.consecutive5xx,
      baseEjectionMs: resilience.outlier.ejectFor,
      maxEjectionMs: resilience.outlier.maxEjectFor,
      maxEjectionPercent: resilience.outlier.maxEjectionPercent,
    },
    breaker: {
      ...DEFAULT_BREAKER_POLICY,
      failures: resilience.breaker.failures,
      coolDownMs: resilience.breaker.coolDown,
      maxCoolDownMs: resilience.breaker.maxCoolDown,
    },
  };
}

/** What the REST and gRPC fronts both take from the section. */
export function frontSettings(resilience: ResilienceSpec): {
  readonly timeoutMs: number;
  readonly retries: number;
  readonly retryBudget: { readonly share: number; readonly minConcurrent: number };
  readonly buffer: { readonly maxRequests: number; readonly maxWaitMs: number };
  readonly perTryTimeoutMs?: number;
} {
  return {
    timeoutMs: resilience.timeoutMs,
    retries: resilience.retries,
    retryBudget: { share: resilience.retryBudget, minConcurrent: 3 },
    buffer: { maxRequests: resilience.buffer.maxRequests, maxWaitMs: resilience.buffer.maxWait },
    ...(resilience.perTryTimeout === undefined ? {} : { perTryTimeoutMs: resilience.perTryTimeout }),
  };
}

/** The active health checks the section asks for. */
export function healthPolicy(resilience: ResilienceSpec): HealthCheckPolicy {
  return {
    intervalMs: resilience.healthCheck.interval,
    timeoutMs: resilience.healthCheck.timeout,
    unhealthyAfter: resilience.healthCheck.unhealthyAfter,
  };
}
