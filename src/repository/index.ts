/** The model repository: Triton-style layout, per-model config.yaml, version policies. */
export {
  DEFAULT_MODEL_CONFIG,
  modelConfigSchema,
  parseModelConfig,
  selectVersions,
  type BatchingConfig,
  type ModelConfig,
  type TensorOverride,
  type VersionPolicy,
} from './model-config.js';
export { checkModelName, isValidModelName, parseVersionName } from './model-names.js';
export {
  modelFromBytes,
  modelFromFile,
  resolveModelSources,
  scanRepository,
  unreadable,
  type ModelArtifact,
  type ModelDescriptor,
  type ModelVersionSource,
} from './model-source.js';
