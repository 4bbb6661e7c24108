/**
 * The local engine: models served in this process behind the OipService port (registry, model
 * control, the inference path with its queues and batchers, Triton's model config, the
 * lifecycle). No transport: the HTTP and gRPC adapters are in src/server.
 */
export { createEngine, LocalEngine, SERVER_EXTENSIONS, type EngineOptions } from './local-engine.js';
export { Lifecycle, LIFECYCLE_STATES, type LifecycleState } from './lifecycle.js';
export { MODEL_CONTROL_MODES, ModelControl, type ModelControlMode } from './model-control.js';
