/** Runtimes: the Backend contract, the ONNX Runtime backend, and the registry of loaded models. */
export type {
  Backend,
  LoadedModel,
  LoadOptions,
  Placement,
  RunOptions,
  RunResult,
  TensorAllocator,
} from './backend.js';
export { INLINE_MAX_COMPUTE_MS, INLINE_MAX_MODEL_BYTES } from './placement.js';
export { createOnnxBackend, ONNX_PLATFORM } from './backends/onnx/onnx-backend.js';
export {
  DATATYPE_OF_ELEM,
  ELEM_OF_DATATYPE,
  inspectOnnxFile,
  type InspectedModel,
  type InspectedTensor,
} from './backends/onnx/onnx-inspect.js';
export { buildIrisModel, IRIS_CLASSES, IRIS_FEATURES } from './backends/onnx/iris-model.js';
export {
  buildOnnxModel,
  readOnnxModelInfo,
  type OnnxElemType,
  type OnnxModelInfo,
  type OnnxModelSpec,
  type OnnxNode,
  type OnnxValueInfo,
} from './backends/onnx/onnx-model.js';
export {
  ModelRegistry,
  type LoadFailure,
  type ModelRegistryOptions,
  type ModelVersion,
  type ReadyModel,
} from './model-registry.js';
export { effectiveSignature, relabelShape, reshapePlanOf, type ReshapePlan } from './model-signature.js';
export { warmUp, type WarmUpOptions } from './warmup.js';
