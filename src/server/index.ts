/**
 * Transports over the OipService port: REST (a node:http fast path and fastify) and gRPC
 * (@grpc/grpc-js), generated from one operation table, with every call passing the request seam.
 */
export { startServer, type RunningServer, type ServeOptions } from './server.js';
export { createHttpApp, type HttpAppOptions } from './http/http-app.js';
export { OPERATIONS, ROLES, roleOf, type OperationSpec, type Role } from './operations.js';
export { requestLog, requestMetrics } from './interceptors/index.js';
