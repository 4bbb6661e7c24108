/**
 * The gateway (docs/architecture.md): an OipService over upstream OipServices. So far its
 * decisions, each pure and on the caller's clock: which upstream takes a request, which are
 * ejected for failing, when a circuit opens, how many retries the load allows, whether two
 * versions' answers agree, and how a canary or shadow rollout moves, promotes or rolls back.
 */
export { pickUpstream, pickWeighted, type Candidate, type Random } from './balancer.js';
export {
  CircuitBreaker,
  DEFAULT_BREAKER_POLICY,
  type BreakerPolicy,
  type BreakerState,
} from './circuit-breaker.js';
export {
  DEFAULT_OUTLIER_POLICY,
  OutlierDetector,
  type OutlierPolicy,
  type OutlierState,
} from './outlier-detector.js';
export { DEFAULT_RETRY_BUDGET, RetryBudget, type RetryBudgetPolicy } from './retry-budget.js';
export {
  compareAnswers,
  compareTensors,
  DEFAULT_AGREEMENT,
  type Agreement,
  type AgreementPolicy,
} from './prediction-agreement.js';
export {
  analyse,
  RolloutPlan,
  type AgreementWindow,
  type AnalysisPolicy,
  type Check,
  type RolloutPhase,
  type RolloutPolicy,
  type RolloutState,
  type TrackWindow,
  type Verdict,
} from './rollout-analysis.js';
export { startGatewayHttp, type GatewayHttpOptions, type RunningGateway } from './gateway-http.js';
export {
  HttpForwarder,
  type ForwardedResponse,
  type ForwarderOptions,
  type ForwardRequest,
} from './http-forward.js';
export { UpstreamPool, type Upstream, type UpstreamPoolOptions, type UpstreamView } from './upstream-pool.js';
export {
  DnsDiscovery,
  endpointOf,
  membership,
  parseDnsTarget,
  type DnsDiscoveryOptions,
  type DnsTarget,
  type Resolve,
} from './dns-discovery.js';
export {
  createGatewayMetrics,
  DEFAULT_MAX_MODELS,
  GATEWAY_TRACKS,
  OTHER_MODEL,
  RETRY_REASONS,
  type GatewayMetrics,
  type GatewayMetricsOptions,
  type GatewaySnapshot,
  type GatewayTrack,
  type RetryReason,
} from './gateway-metrics.js';
export {
  DEFAULT_HEALTH_CHECK,
  HealthVerdicts,
  startHealthChecks,
  type HealthCheckPolicy,
  type RunningHealthChecks,
} from './active-health.js';
export { compareRaw, decodeAnswer, type RawAnswer } from './answer-compare.js';
export {
  chooseTrack,
  percentile,
  TRACK_HEADER,
  TrackRecorder,
  Tracks,
  type TrackChoice,
  type TrackName,
} from './tracks.js';
export { startGatewayGrpc, type GatewayGrpcOptions, type RunningGatewayGrpc } from './gateway-grpc.js';
export {
  classifyStatus,
  forwardedMetadata,
  GrpcForwarder,
  isIdempotent,
  isUpstreamFault,
  type AttemptKind,
  type GrpcForwardOptions,
  type UnaryAnswer,
  type UnaryRequest,
} from './grpc-forward.js';
export { probeReady, requestOptions, upstreamTarget, type UpstreamTarget } from './upstream-address.js';
export {
  createGatewayAccess,
  grpcOperation,
  restOperation,
  type GatewayAccess,
  type GatewayAccessOptions,
  type GatewayCall,
} from './gateway-access.js';
