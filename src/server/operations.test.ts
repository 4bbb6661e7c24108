/**
 * The operation table against what it must cover: every operation of the port, every RPC of the
 * gRPC service, and every route registered on the HTTP app, so that an operation cannot be
 * served on one transport and forgotten on the other, or ship without a role.
 */
import { describe, expect, it } from 'vitest';
import { createLogger, createServerMetrics } from '../observability/index.js';
import { inferenceMethods, inferEach, type OipService, type UnaryOperation } from '../protocol/index.js';
import { createGrpcHandlers } from './grpc/grpc-handlers.js';
import { createHttpApp } from './http/http-app.js';
import { INFER_OPERATION, OPERATIONS, ROLES, STREAM_INFER_METHOD } from './operations.js';

const silent = createLogger({ level: 'silent', format: 'json' });

/** Every unary operation of OipService: a new one fails to compile here until it is listed. */
const PORT_OPERATIONS: Record<UnaryOperation, true> = {
  serverLive: true,
  serverReady: true,
  serverMetadata: true,
  modelReady: true,
  modelMetadata: true,
  modelConfig: true,
  modelStatistics: true,
  repositoryIndex: true,
  repositoryLoad: true,
  repositoryUnload: true,
  infer: true,
};

const refusing = new Proxy({} as OipService, {
  get: (_target, name) =>
    name === 'inferStream'
      ? (calls: never, context: never) => inferEach(() => Promise.reject(new Error('unused')), calls, context)
      : () => Promise.reject(new Error('unused')),
});

describe('the operation table', () => {
  it('has each operation of the port once, each with a role', () => {
    expect(OPERATIONS.map((o) => o.operation).sort()).toEqual(Object.keys(PORT_OPERATIONS).sort());
    for (const spec of OPERATIONS) expect(ROLES, spec.operation).toContain(spec.role);
    expect(OPERATIONS.filter((o) => o.role === 'admin').map((o) => o.operation)).toEqual([
      'repositoryLoad',
      'repositoryUnload',
    ]);
    expect(INFER_OPERATION.role).toBe('infer');
  });

  it('serves every RPC of inference.GRPCInferenceService, and nothing else', () => {
    const handlers = createGrpcHandlers({
      service: refusing,
      limits: { maxTensorElements: 1 },
      logger: silent,
    });
    expect(Object.keys(handlers).sort()).toEqual(Object.keys(inferenceMethods()).sort());
    expect(Object.keys(handlers)).toContain(STREAM_INFER_METHOD);
  });

  it('gives each HTTP route to one operation, and registers every one on the app', async () => {
    const routes = OPERATIONS.flatMap((o) => o.http.routes.map((r) => `${r.method} ${r.path}`));
    expect(new Set(routes).size).toBe(routes.length);
    const app = createHttpApp({
      service: refusing,
      metrics: createServerMetrics({ processMetrics: false }),
      logger: silent,
      limits: { maxBodyBytes: 1024, maxTensorElements: 1024 },
      isDraining: () => false,
      requestTimeoutMs: 1000,
    });
    await app.ready();
    for (const spec of OPERATIONS) {
      for (const route of spec.http.routes) {
        expect(app.hasRoute({ method: route.method, url: route.path }), `${route.method} ${route.path}`).toBe(
          true,
        );
      }
    }
    await app.close();
  });
});
