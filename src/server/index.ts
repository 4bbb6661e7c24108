/** Transports (REST on fastify, gRPC on @grpc/grpc-js) over the transport-independent inference service. */
export { startServer, SERVER_EXTENSIONS, type RunningServer, type ServeOptions } from './server.js';
export { InferenceService } from './inference-service.js';
export { createHttpApp, type HttpAppOptions } from './http/http-app.js';
export { MODEL_CONTROL_MODES, ModelControl, type ModelControlMode } from './model-control.js';
