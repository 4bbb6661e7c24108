/**
 * The Open Inference Protocol v2 REST adapter on fastify
 * (kserve/open-inference-protocol specification/protocol/inference_rest.md, with Triton's binary
 * tensor data extension). Handlers translate HTTP to the inference service and back; nothing else.
 */
import { createServer } from 'node:http';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
} from 'fastify';
import {
  INFERENCE_HEADER_CONTENT_LENGTH,
  isObject,
  splitRestBody,
  BerthError,
  type DecodeLimits,
  type ServerMetadata,
} from '../../protocol/index.js';
import type { Logger, ServerMetrics } from '../../observability/index.js';
import type { ModelRegistry } from '../../runtime/index.js';
import type { InferenceService } from '../inference-service.js';
import type { ModelControl } from '../model-control.js';
import { loadModel, unloadModel, type RepositoryParameters } from '../repository-actions.js';
import { tritonModelConfig } from '../triton-model-config.js';
import { readBody, registerRawBodyParser } from './http-body.js';
import { ClientGone } from './client-gone.js';
import { handleClientError, sendError } from './http-errors.js';
import { createInferFastPath } from './infer-fast-path.js';
import { handleInfer } from './infer-handler.js';
import { requestIdOf } from './request-id.js';

export interface HttpAppOptions {
  readonly registry: ModelRegistry;
  readonly service: InferenceService;
  readonly control: ModelControl;
  readonly metrics: ServerMetrics;
  readonly logger: Logger;
  readonly server: ServerMetadata;
  readonly limits: DecodeLimits & { readonly maxBodyBytes: number };
  /** Whether the server reports itself ready (models loaded, not draining). */
  readonly isReady: () => boolean;
  /** Whether shutdown has begun: responses then close their connection so the drain can end. */
  readonly isDraining: () => boolean;
  /** Time allowed to receive a whole request, in milliseconds. */
  readonly requestTimeoutMs: number;
}

interface ModelParams {
  model: string;
  version?: string;
}

function json(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply.code(status).type('application/json; charset=utf-8').send(JSON.stringify(body));
}

/**
 * @example
 * const app = createHttpApp(options);
 * await app.listen({ host: '127.0.0.1', port: 8000 });
 */
export function createHttpApp(options: HttpAppOptions): FastifyInstance {
  const { registry, service, limits } = options;
  const fastPath = createInferFastPath({
    service,
    limits,
    logger: options.logger,
    isDraining: options.isDraining,
  });
  // fastify's own lines (its "Server listening at ...", one per address) repeat berth's listening
  // line, so the app's logger passes warnings and errors only; request loggers, made by
  // childLoggerFactory, are berth's logger at its own level.
  const warn = 40; // pino's numeric warn level
  const appLogger = options.logger.child(
    {},
    { level: options.logger.levelVal >= warn ? options.logger.level : 'warn' },
  );
  const app = Fastify({
    // pino's Logger and fastify's logger type differ only in declaration; one instance type
    // for the app keeps plugins like the body parser typed against fastify's defaults.
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-assertion
    loggerInstance: appLogger as FastifyBaseLogger,
    childLoggerFactory: (_logger, bindings, childOptions) =>
      options.logger.child(bindings, childOptions) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: limits.maxBodyBytes,
    // Node checks request timeouts on an interval fixed at creation (30 s by default), so the
    // server is created here with a check every second and both timeouts set.
    serverFactory: (handler) =>
      createServer(
        {
          requestTimeout: options.requestTimeoutMs,
          headersTimeout: Math.min(options.requestTimeoutMs, 60_000),
          connectionsCheckingInterval: Math.min(1000, options.requestTimeoutMs),
        },
        (request, response) => {
          if (!fastPath(request, response)) handler(request, response);
        },
      ),
    clientErrorHandler: handleClientError,
    // Draining answers are berth's own (below), with the error code and connection: close.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    requestIdHeader: false,
    genReqId: (request) => requestIdOf(request.headers['x-request-id']),
    routerOptions: { maxParamLength: 256 },
  });
  registerRawBodyParser(app, limits.maxBodyBytes);
  app.setErrorHandler((error, request, reply) => sendError(error, request, reply));
  app.setNotFoundHandler((request, reply) =>
    sendError(
      new BerthError(
        'BERTH_ERR_SERVER_ROUTE_NOT_FOUND',
        `no endpoint at ${request.method} ${request.url.split('?')[0] ?? ''}`,
      ),
      request,
      reply,
    ),
  );
  app.addHook('onRequest', (_request, _reply, done) => {
    if (options.isDraining()) {
      done(
        new BerthError('BERTH_ERR_SERVER_SHUTTING_DOWN', 'server is shutting down; retry on another replica'),
      );
      return;
    }
    done();
  });
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
    // A keep-alive connection would otherwise outlive its last response and hold the drain open.
    if (options.isDraining()) reply.header('connection', 'close');
  });
  app.addHook('onResponse', async (request, reply) => {
    request.log.debug(
      { method: request.method, url: request.url, status: reply.statusCode, ms: reply.elapsedTime },
      'request completed',
    );
  });

  app.get('/v2/health/live', async (_request, reply) => json(reply, 200, { live: true }));
  app.get('/v2/health/ready', async (_request, reply) => {
    const ready = options.isReady();
    return json(reply, ready ? 200 : 503, { ready });
  });
  app.get('/v2', async (_request, reply) => json(reply, 200, options.server));
  app.get('/metrics', async (_request, reply) =>
    reply.type(options.metrics.registry.contentType).send(await options.metrics.registry.metrics()),
  );

  const modelMetadata = async (request: { params: ModelParams }, reply: FastifyReply) =>
    json(reply, 200, registry.metadata(request.params.model, request.params.version));
  app.get<{ Params: ModelParams }>('/v2/models/:model', modelMetadata);
  app.get<{ Params: ModelParams }>('/v2/models/:model/versions/:version', modelMetadata);

  const modelReady = async (request: { params: ModelParams }, reply: FastifyReply) => {
    const ready = registry.isReady(request.params.model, request.params.version);
    return json(reply, ready ? 200 : 503, { name: request.params.model, ready });
  };
  app.get<{ Params: ModelParams }>('/v2/models/:model/ready', modelReady);
  // Triton's model configuration and statistics extensions.
  const modelConfig = async (request: { params: ModelParams }, reply: FastifyReply) =>
    json(reply, 200, tritonModelConfig(registry.resolve(request.params.model, request.params.version)));
  app.get<{ Params: ModelParams }>('/v2/models/:model/config', modelConfig);
  app.get<{ Params: ModelParams }>('/v2/models/:model/versions/:version/config', modelConfig);
  const modelStats = async (request: { params: Partial<ModelParams> }, reply: FastifyReply) =>
    json(reply, 200, { model_stats: registry.stats(request.params.model, request.params.version) });
  app.get<{ Params: Partial<ModelParams> }>('/v2/models/stats', modelStats);
  app.get<{ Params: ModelParams }>('/v2/models/:model/stats', modelStats);
  app.get<{ Params: ModelParams }>('/v2/models/:model/versions/:version/stats', modelStats);
  app.get<{ Params: ModelParams }>('/v2/models/:model/versions/:version/ready', modelReady);

  // The common case never gets here: infer-fast-path.ts answers it on bare node:http. These
  // routes serve what it passes on (compressed bodies, requests during a drain) the same way.
  const infer = async (
    request: { params: ModelParams; body: unknown; headers: Record<string, string | string[] | undefined> },
    reply: FastifyReply,
  ) => {
    const { model, version } = request.params;
    // A client that goes away while its request is queued gets it dropped rather than run.
    const result = await handleInfer(
      { service, limits },
      { model, version },
      request.body,
      request.headers,
      new ClientGone(reply.raw),
    );
    if (result.headerLength !== undefined)
      void reply.header(INFERENCE_HEADER_CONTENT_LENGTH, result.headerLength);
    return reply.type(result.contentType).send(result.payload);
  };
  app.post<{ Params: ModelParams }>('/v2/models/:model/infer', infer);
  app.post<{ Params: ModelParams }>('/v2/models/:model/versions/:version/infer', infer);

  /** A repository request's JSON body (optional), checked to be an object. */
  const repositoryBody = async (request: {
    body: unknown;
    headers: Record<string, string | string[] | undefined>;
  }): Promise<Record<string, unknown>> => {
    const encoding = request.headers['content-encoding'];
    const body = await readBody(
      request.body,
      typeof encoding === 'string' ? encoding : undefined,
      limits.maxBodyBytes,
    );
    if (body.byteLength === 0) return {};
    const parsed = splitRestBody(body, undefined).header;
    if (!isObject(parsed))
      throw new BerthError('BERTH_ERR_PROTOCOL_INVALID_REQUEST', 'request body must be a JSON object');
    return parsed;
  };
  const parametersOf = (body: Record<string, unknown>): RepositoryParameters => {
    if (body.parameters === undefined) return {};
    if (!isObject(body.parameters)) {
      throw new BerthError('BERTH_ERR_PROTOCOL_INVALID_REQUEST', '"parameters" must be a JSON object');
    }
    for (const [key, value] of Object.entries(body.parameters)) {
      if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
        throw new BerthError(
          'BERTH_ERR_PROTOCOL_INVALID_REQUEST',
          `parameters.${key} must be a string, number or boolean`,
        );
      }
    }
    return body.parameters as RepositoryParameters;
  };

  // Triton's model repository extension (extension_model_repository.md).
  app.post('/v2/repository/index', async (request, reply) => {
    const body = await repositoryBody(request);
    if (body.ready !== undefined && typeof body.ready !== 'boolean') {
      throw new BerthError('BERTH_ERR_PROTOCOL_INVALID_REQUEST', '"ready" must be true or false');
    }
    return json(reply, 200, await options.control.index(body.ready === true));
  });
  app.post<{ Params: { model: string } }>('/v2/repository/models/:model/load', async (request, reply) => {
    const body = await repositoryBody(request);
    await loadModel(options.control, options.logger, request.params.model, parametersOf(body));
    return reply.code(200).send();
  });
  app.post<{ Params: { model: string } }>('/v2/repository/models/:model/unload', async (request, reply) => {
    const body = await repositoryBody(request);
    await unloadModel(options.control, request.params.model, parametersOf(body));
    return reply.code(200).send();
  });

  return app;
}
