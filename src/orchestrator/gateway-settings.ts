/**
 * The spec's `resilience` section as the gateway's parts take it: the pool's outlier and breaker
 * policies, and what both fronts share (deadline, retries and their budget, the buffer, the
 * per-try timeout, active health checks), and the two fronts started from them. `berth up` and
 * `berth gateway` build their gateways from the same section the same way.
 */
import {
  DEFAULT_BREAKER_POLICY,
  DEFAULT_OUTLIER_POLICY,
  startGatewayGrpc,
  startGatewayHttp,
  type GatewayAccess,
  type GatewayMetrics,
  type HealthCheckPolicy,
  type RunningGateway,
  type RunningGatewayGrpc,
  type Tracks,
  type UpstreamPool,
  type UpstreamPoolOptions,
} from '../gateway/index.js';
import type { TlsFiles } from '../access/index.js';
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

export interface FrontsOptions {
  readonly pool: UpstreamPool;
  readonly tracks: Tracks;
  readonly metrics: GatewayMetrics;
  readonly resilience: ResilienceSpec;
  readonly host: string;
  readonly port: number;
  /** undefined: no gRPC front. */
  readonly grpcPort: number | undefined;
  readonly maxBodyBytes: number;
  readonly access: GatewayAccess | undefined;
  readonly tls: TlsFiles | undefined;
  readonly onHealth: (id: string, verdict: 'healthy' | 'unhealthy') => void;
}

/**
 * The gateway's REST front (which runs the pool's health checks) and, when asked, its gRPC front,
 * over one pool, tracks and metrics. A gRPC front that cannot start closes the REST one.
 */
export async function startFronts(
  options: FrontsOptions,
): Promise<{ http: RunningGateway; grpc: RunningGatewayGrpc | undefined }> {
  const common = {
    pool: options.pool,
    host: options.host,
    ...frontSettings(options.resilience),
    metrics: options.metrics,
    tracks: options.tracks,
    ...(options.access === undefined ? {} : { access: options.access }),
    ...(options.tls === undefined ? {} : { tls: options.tls }),
  };
  const http = await startGatewayHttp({
    ...common,
    port: options.port,
    maxBodyBytes: options.maxBodyBytes,
    healthCheck: healthPolicy(options.resilience),
    onHealth: options.onHealth,
  });
  if (options.grpcPort === undefined) return { http, grpc: undefined };
  try {
    const grpc = await startGatewayGrpc({
      ...common,
      port: options.grpcPort,
      maxMessageBytes: options.maxBodyBytes,
      // The REST front checks the same pool's health.
      healthCheck: false,
    });
    return { http, grpc };
  } catch (error) {
    await http.close();
    throw error;
  }
}
