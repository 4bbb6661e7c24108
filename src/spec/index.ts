/** berth.yaml: loading and validating the one spec file. */
export {
  loadSpec,
  parseSpec,
  SPEC_FILE,
  specJsonSchema,
  type BerthSpec,
  type LoadedSpec,
} from './berth-spec.js';
export { parseDuration } from './duration.js';
export { renderSchemaReference } from './schema-reference.js';
export {
  isDnsLabel,
  renderSpecTemplate,
  toDnsLabel,
  type FoundModel,
  type SpecTemplateOptions,
} from './spec-template.js';
export {
  replicasSection,
  resilienceSection,
  rolloutSection,
  type ReplicasSpec,
  type ResilienceSpec,
  type RolloutSpec,
} from './orchestration.js';
export { serveSection, type ServeSpec } from './serve-section.js';
export { kubernetesSection, type KubernetesSpec } from './kubernetes-section.js';
export { nomadSection, type NomadSpec } from './nomad-section.js';
