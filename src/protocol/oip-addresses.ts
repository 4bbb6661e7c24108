/**
 * Where each OIP operation is reached, and who may call it: its role, its REST routes (the
 * protocol's, KServe v2 and Triton's repository extension) and its gRPC method of
 * `inference.GRPCInferenceService`. Pure data, shared by the server's operation table
 * (server/operations.ts), which adds how each is decoded and answered, and by the gateway, which
 * forwards requests without decoding them but checks the same roles on the same routes.
 */
import type { UnaryOperation } from './oip-service.js';

/** Who may call an operation (the access-control interceptor enforces it). */
export const ROLES = ['health', 'read', 'infer', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface HttpRoute {
  readonly method: 'GET' | 'POST';
  /** fastify's syntax: `:name` is a path segment. */
  readonly path: string;
}

export interface OperationAddress {
  readonly role: Role;
  readonly routes: readonly HttpRoute[];
  /** The RPC of `inference.GRPCInferenceService`. */
  readonly grpcMethod: string;
  /** The number of the request message's string field that names the model; absent for none. */
  readonly grpcModelField?: number;
}

/** `/v2/models/:model[/versions/:version]`, and the same under `suffix`. */
const modelRoutes = (method: 'GET' | 'POST', suffix: string): HttpRoute[] => [
  { method, path: `/v2/models/:model${suffix}` },
  { method, path: `/v2/models/:model/versions/:version${suffix}` },
];

export const OPERATION_ADDRESSES: { readonly [Op in UnaryOperation]: OperationAddress } = {
  infer: {
    role: 'infer',
    routes: modelRoutes('POST', '/infer'),
    grpcMethod: 'ModelInfer',
    grpcModelField: 1,
  },
  serverLive: {
    role: 'health',
    routes: [{ method: 'GET', path: '/v2/health/live' }],
    grpcMethod: 'ServerLive',
  },
  serverReady: {
    role: 'health',
    routes: [{ method: 'GET', path: '/v2/health/ready' }],
    grpcMethod: 'ServerReady',
  },
  serverMetadata: { role: 'read', routes: [{ method: 'GET', path: '/v2' }], grpcMethod: 'ServerMetadata' },
  modelReady: {
    role: 'health',
    routes: modelRoutes('GET', '/ready'),
    grpcMethod: 'ModelReady',
    grpcModelField: 1,
  },
  modelMetadata: {
    role: 'read',
    routes: modelRoutes('GET', ''),
    grpcMethod: 'ModelMetadata',
    grpcModelField: 1,
  },
  modelConfig: {
    role: 'read',
    routes: modelRoutes('GET', '/config'),
    grpcMethod: 'ModelConfig',
    grpcModelField: 1,
  },
  modelStatistics: {
    role: 'read',
    routes: [{ method: 'GET', path: '/v2/models/stats' }, ...modelRoutes('GET', '/stats')],
    grpcMethod: 'ModelStatistics',
    grpcModelField: 1,
  },
  repositoryIndex: {
    role: 'read',
    routes: [{ method: 'POST', path: '/v2/repository/index' }],
    grpcMethod: 'RepositoryIndex',
  },
  repositoryLoad: {
    role: 'admin',
    routes: [{ method: 'POST', path: '/v2/repository/models/:model/load' }],
    grpcMethod: 'RepositoryModelLoad',
    grpcModelField: 2,
  },
  repositoryUnload: {
    role: 'admin',
    routes: [{ method: 'POST', path: '/v2/repository/models/:model/unload' }],
    grpcMethod: 'RepositoryModelUnload',
    grpcModelField: 2,
  },
};
