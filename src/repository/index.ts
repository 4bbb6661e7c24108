/** The model repository: Triton-style layout, per-model config.yaml, version policies. */
export {
  DEFAULT_MODEL_CONFIG,
  formatIssues,
  modelConfigSchema,
  parseModelConfig,
  toModelConfig,
  selectVersions,
  type BatchingConfig,
  type ModelConfig,
  type TensorOverride,
  type VersionPolicy,
  type WarmupSample,
} from './model-config.js';
export { checkModelName, checkUniqueNames, isValidModelName, parseVersionName } from './model-names.js';
export {
  modelFromBytes,
  modelFromFile,
  scanModel,
  scanRepository,
  unreadable,
  type ModelArtifact,
  type ModelDescriptor,
  type ModelVersionSource,
} from './model-source.js';
export { createModelCatalog, resolveModelSources, type ModelCatalog } from './model-catalog.js';
export { parseConfigOverride } from './config-override.js';
export { parseTritonConfig, mapTritonConfig } from './triton-config.js';
export { parsePbtxt, type PbtxtMessage, type PbtxtValue } from './pbtxt.js';
