/**
 * `berth up` on one machine (docs/architecture.md): the deployment (gateway, replica processes,
 * control API), and its decisions, each pure and on the caller's clock: when to restart a replica
 * that exited, and how many replicas the load needs.
 */
export {
  Autoscaler,
  formatMs,
  HPA_DEFAULTS,
  type AutoscaleDecision,
  type AutoscalePolicy,
  type AutoscaleSample,
} from './autoscaler.js';
export {
  DEFAULT_BACKOFF_POLICY,
  RestartBackoff,
  type BackoffPolicy,
  type RestartDecision,
} from './restart-backoff.js';
export {
  listeningAddress,
  Supervisor,
  type ReplicaEvent,
  type ReplicaExit,
  type ReplicaOptions,
  type ReplicaState,
  type ReplicaStatus,
  type SupervisorOptions,
} from './supervisor.js';
export {
  LocalDeployment,
  type DeploymentEvent,
  type DeploymentStatus,
  type LocalDeploymentOptions,
  type ReplicaView,
  type ScaleMode,
} from './local-deployment.js';
export {
  checkPathsExist,
  CONTROL_PREFIX,
  MAX_REPLICAS,
  parseRollout,
  parseScale,
  ROLLOUT_STRATEGIES,
  startControlApi,
  type RolloutAction,
  type RolloutStrategy,
  type Controllable,
  type RunningControlApi,
} from './control-api.js';
export { RolloutRun, type CandidateReplica, type Revision, type RolloutRunOptions } from './rollout-run.js';
export {
  firstSnapshot,
  prepareWatch,
  RepositoryWatch,
  watchStep,
  type RepositoryWatchOptions,
  type WatchedDeployment,
  type WatchSetup,
  type WatchState,
} from './repository-watch.js';
export { fingerprint, snapshot } from './repository-snapshot.js';
export { ClusterGateway, type ClusterGatewayOptions, type ClusterGatewayStatus } from './cluster-gateway.js';
export { NO_ROLLOUT, parseTraffic, readTraffic, trafficSchema, type Traffic } from './traffic-file.js';
