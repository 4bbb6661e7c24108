/** Transports (REST on fastify) over the transport-independent inference service. */
export { startServer, SERVER_EXTENSIONS, type RunningServer, type ServeOptions } from './server.js';
export { InferenceService } from './inference-service.js';
export { createHttpApp, type HttpAppOptions } from './http/http-app.js';
