/** Kubernetes: the objects of a berth deployment rendered from berth.yaml, written as a kustomize base. */
export { render, type Rendered } from './render.js';
export type { RenderInput } from './render-context.js';
export { GRPC_PORT, HTTP_PORT } from './render-context.js';
export { kustomizeFiles } from './kustomize.js';
export { berthLabels, type KubeObject } from './objects.js';
export { connectKube, FIELD_MANAGER, type Kube, type KubeTarget } from './kube-client.js';
export {
  applyRevision,
  loadInventory,
  rollbackTarget,
  watchRollout,
  workloadOf,
  type AppliedRevision,
  type Timing,
} from './deploy.js';
export { assessRollout, type RolloutVerdict } from './rollout-status.js';
export type { Inventory, ObjectRef, Revision } from './inventory.js';
export {
  canaryRecord,
  runCanary,
  type CanaryOptions,
  type CanaryRecord,
  type CanaryResult,
} from './canary.js';
export { renderNomad } from './nomad-render.js';
export { renderTerraform } from './terraform-render.js';
