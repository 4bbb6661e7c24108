/**
 * The Open Inference Protocol v2 REST adapter on fastify
 * (kserve/open-inference-protocol specification/protocol/inference_rest.md, with Triton's binary
 * tensor data extension), generated from the operation table (../operations.ts) over any
 * OipService. Handlers translate HTTP to the service and back; nothing else.
 */
import { createServer, type ServerOptions as HttpServerOptions } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { BerthError, type OipService } from '../../protocol/index.js';
import type { Logger, ServerMetrics } from '../../observability/index.js';
import {
  authorize,
  TLS_CIPHERS,
  TLS_MIN_VERSION,
  type Authenticator,
  type EarlyRefusal,
  type TlsFiles,
  credentialsOf,
  socketCertificateSubject,
} from '../../access/index.js';
import { httpContext } from '../call-context.js';
import { OPERATIONS, type AnyOperationSpec, type HttpAnswer, type Limits } from '../operations.js';
import { registerRawBodyParser } from './http-body.js';
import { handleClientError, sendError } from './http-errors.js';
import { createCors } from './cors.js';
import { createInferFastPath } from './infer-fast-path.js';
import { requestIdOf } from './request-id.js';

export interface HttpAppOptions {
  /** What the routes serve: the local engine, or any OipService, with its interceptors. */
  readonly service: OipService;
  readonly metrics: ServerMetrics;
  readonly logger: Logger;
  readonly limits: Limits;
  /** Whether shutdown has begun: responses then close their connection so the drain can end. */
  readonly isDraining: () => boolean;
  /** Time allowed to receive a whole request, in milliseconds. */
  readonly requestTimeoutMs: number;
  /** With access control on, the keys `/metrics` checks (the `metrics` role). */
  readonly keys?: Authenticator;
  /** With access control on: the inference fast path's check before it reads a body. */
  readonly refuseEarly?: EarlyRefusal;
  /** Origins browsers may call from (CORS), or `*`; absent or empty for none. */
  readonly corsOrigins?: readonly string[];
  /** Serve HTTPS (mTLS with a client CA) from these watched files; plain HTTP without. */
  readonly tls?: TlsFiles;
}

/** Over TLS: browsers keep to HTTPS for this host for a year. */
const HSTS = 'max-age=31536000';

/**
 * node:http or node:https with both request timeouts set. Over TLS, a changed certificate goes to
 * new handshakes (`setSecureContext`); connections already made keep theirs.
 */
function createNodeServer(options: HttpAppOptions, handler: Parameters<typeof createServer>[1]) {
  // Node checks request timeouts on an interval fixed at creation (30 s by default), so the
  // server is created with a check every second and both timeouts set.
  const timeouts: HttpServerOptions = {
    requestTimeout: options.requestTimeoutMs,
    headersTimeout: Math.min(options.requestTimeoutMs, 60_000),
    connectionsCheckingInterval: Math.min(1000, options.requestTimeoutMs),
  };
  const tls = options.tls;
  if (tls === undefined) return createServer(timeouts, handler);
  const server = createTlsServer(
    {
      ...timeouts,
      ...tls.current,
      minVersion: TLS_MIN_VERSION,
      ciphers: TLS_CIPHERS,
      honorCipherOrder: true,
      requestCert: tls.mutual,
      rejectUnauthorized: tls.mutual,
    },
    handler,
  );
  tls.onChange((material) =>
    server.setSecureContext({ ...material, minVersion: TLS_MIN_VERSION, ciphers: TLS_CIPHERS }),
  );
  return server;
}

/** Writes an operation's answer on a fastify reply. */
export function sendAnswer(reply: FastifyReply, answer: HttpAnswer): FastifyReply {
  void reply.code(answer.status);
  if (answer.headers !== undefined) void reply.headers(answer.headers);
  if (answer.contentType !== undefined) void reply.type(answer.contentType);
  return reply.send(answer.payload);
}

/** One fastify handler for every route of an operation. */
function routeHandler(spec: AnyOperationSpec, options: HttpAppOptions) {
  const { service, limits } = options;
  const invoke = service[spec.operation].bind(service) as (
    input: unknown,
    context: unknown,
  ) => Promise<unknown>;
  type Decoded = { input: unknown; answer: (output: unknown) => HttpAnswer };
  const decode = spec.http.decode as (request: unknown) => Decoded | Promise<Decoded>;
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const call = await decode({
      params: request.params as Record<string, string | undefined>,
      body: Buffer.isBuffer(request.body) ? request.body : undefined,
      headers: request.headers,
      limits,
    });
    const output = await invoke(call.input, httpContext(request.id, request.headers, reply.raw));
    return sendAnswer(reply, call.answer(output));
  };
}

/**
 * @example
 * const app = createHttpApp(options);
 * await app.listen({ host: '127.0.0.1', port: 8000 });
 */
export function createHttpApp(options: HttpAppOptions): FastifyInstance {
  const { limits } = options;
  const fastPath = createInferFastPath({
    service: options.service,
    limits,
    logger: options.logger,
    isDraining: options.isDraining,
    ...(options.refuseEarly === undefined ? {} : { refuseEarly: options.refuseEarly }),
    ...(options.tls === undefined ? {} : { hsts: HSTS }),
  });
  const cors =
    options.corsOrigins === undefined || options.corsOrigins.length === 0
      ? undefined
      : createCors(options.corsOrigins);
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
    // Request lines are the request-log interceptor's, the same on every transport.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: limits.maxBodyBytes,
    serverFactory: (handler) =>
      createNodeServer(options, (request, response) => {
        if (cors?.(request, response) === true) return;
        if (!fastPath(request, response)) handler(request, response);
      }),
    clientErrorHandler: handleClientError,
    // The engine refuses calls while draining, with the error code; fastify's own 503 has none.
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
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
    // Answers are data for programs: a browser must not guess another type for them.
    reply.header('x-content-type-options', 'nosniff');
    if (options.tls !== undefined) reply.header('strict-transport-security', HSTS);
    // A keep-alive connection would otherwise outlive its last response and hold the drain open.
    if (options.isDraining()) reply.header('connection', 'close');
  });

  // Every OIP operation, from the one table. The common inference request never reaches its
  // fastify route: infer-fast-path.ts answers it on bare node:http, from the same table entry;
  // the route serves what the fast path passes on (compressed bodies, other content types).
  for (const spec of OPERATIONS) {
    const handler = routeHandler(spec, options);
    for (const route of spec.http.routes) app.route({ method: route.method, url: route.path, handler });
  }
  // Not an OIP operation: the Prometheus scrape endpoint, for the metrics role.
  const keys = options.keys;
  app.get('/metrics', async (request, reply) => {
    if (keys !== undefined) {
      const { authorization, 'x-api-key': apiKey } = request.headers;
      authorize(
        await keys.authenticate(
          credentialsOf(authorization, apiKey, socketCertificateSubject(request.socket)),
        ),
        'metrics',
        'GET /metrics',
      );
    }
    return reply.type(options.metrics.registry.contentType).send(await options.metrics.registry.metrics());
  });
  return app;
}
