/**
 * The inference hot path on bare node:http, in front of fastify (docs/adr/0003). On this machine
 * fastify answering a fixed response to a POST reaches less than half the requests per second of
 * node:http doing the same, so `POST /v2/models/{m}[/versions/{v}]/infer` with a plain body is
 * read, decoded, queued and answered here, in the format and with the errors of every other
 * route. Everything else, including compressed bodies and requests during a drain, goes to
 * fastify unchanged.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BerthError } from '../../protocol/index.js';
import { ClientGone } from './client-gone.js';
import { isAcceptedContentType } from './http-body.js';
import { writeError, type ErrorLog } from './http-errors.js';
import { handleInfer, type InferContext, type InferRoute } from './infer-handler.js';
import { requestIdOf } from './request-id.js';

export interface FastPathOptions extends InferContext {
  readonly logger: ErrorLog & {
    isLevelEnabled(level: string): boolean;
    debug(details: object, message: string): void;
  };
  readonly isDraining: () => boolean;
}

/** Model and version segments up to 256 characters, as fastify's router allows. */
const INFER_PATH = /^\/v2\/models\/([^/?#]{1,256})(?:\/versions\/([^/?#]{1,256}))?\/infer(?:\?.*)?$/;

/** The route of an inference URL, or undefined for anything else (and for undecodable names). */
export function matchInferRoute(url: string): InferRoute | undefined {
  const match = INFER_PATH.exec(url);
  if (match === null) return undefined;
  try {
    const model = decodeURIComponent(match[1] ?? '');
    const version = match[2] === undefined ? undefined : decodeURIComponent(match[2]);
    return { model, version };
  } catch {
    return undefined;
  }
}

class ClientAborted extends Error {}

/** The whole body, refused past `maxBytes` without reading further. One chunk is not copied. */
function readRequestBody(request: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const tooLarge = () =>
    new BerthError(
      'BERTH_ERR_PROTOCOL_BODY_TOO_LARGE',
      'request body is larger than the limit (--max-body-size)',
    );
  const declared = Number(request.headers['content-length']);
  if (declared > maxBytes) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > maxBytes) {
        request.off('data', onData);
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    request.on('data', onData);
    request.once('end', () => {
      resolve(chunks.length === 1 && chunks[0] !== undefined ? chunks[0] : Buffer.concat(chunks, size));
    });
    request.once('close', () => {
      if (!request.complete) reject(new ClientAborted('client closed the connection while sending'));
    });
    request.once('error', () => reject(new ClientAborted('request stream failed')));
  });
}

/**
 * @returns a request listener step: true when it took the request, false to pass it on.
 * @example
 * const fastPath = createInferFastPath(options);
 * createServer((req, res) => fastPath(req, res) || fastify(req, res));
 */
export function createInferFastPath(
  options: FastPathOptions,
): (request: IncomingMessage, response: ServerResponse) => boolean {
  const { logger } = options;
  return (request, response) => {
    if (request.method !== 'POST' || request.url === undefined) return false;
    const route = matchInferRoute(request.url);
    if (route === undefined || options.isDraining()) return false;
    const encoding = request.headers['content-encoding'];
    if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') return false;
    const type = request.headers['content-type'];
    if (type !== undefined && !isAcceptedContentType(type)) return false;
    const requestId = requestIdOf(request.headers['x-request-id']);
    void serve(options, route, request, response, requestId).catch((error: unknown) => {
      logger.error({ err: error, reqId: requestId }, 'inference fast path failed');
      response.destroy();
    });
    if (logger.isLevelEnabled('debug')) {
      const started = performance.now();
      response.once('finish', () =>
        logger.debug(
          {
            reqId: requestId,
            method: 'POST',
            url: request.url,
            status: response.statusCode,
            ms: performance.now() - started,
          },
          'request completed',
        ),
      );
    }
    return true;
  };
}

async function serve(
  options: FastPathOptions,
  route: InferRoute,
  request: IncomingMessage,
  response: ServerResponse,
  requestId: string,
): Promise<void> {
  const common: Record<string, string> = { 'x-request-id': requestId };
  let body: Buffer;
  try {
    body = await readRequestBody(request, options.limits.maxBodyBytes);
  } catch (error) {
    if (error instanceof ClientAborted) {
      response.destroy();
      return;
    }
    // The rest of an oversized body is never read: the connection cannot be reused.
    writeError(error, response, withRequestId(options.logger, requestId), { ...common, connection: 'close' });
    return;
  }
  try {
    const reply = await handleInfer(options, route, body, request.headers, new ClientGone(response));
    if (response.destroyed) return;
    const headers: Record<string, string | number> = {
      ...common,
      'content-type': reply.contentType,
      'content-length': reply.payload.byteLength,
    };
    if (reply.headerLength !== undefined) headers['inference-header-content-length'] = reply.headerLength;
    // A keep-alive connection would otherwise outlive its last response and hold a drain open.
    if (options.isDraining()) headers.connection = 'close';
    response.writeHead(200, headers);
    response.end(reply.payload);
  } catch (error) {
    const extra = options.isDraining() ? { ...common, connection: 'close' } : common;
    writeError(error, response, withRequestId(options.logger, requestId), extra);
  }
}

function withRequestId(logger: ErrorLog, reqId: string): ErrorLog {
  return {
    error: (details, message) => logger.error({ ...details, reqId }, message),
    debug: (details, message) => logger.debug({ ...details, reqId }, message),
  };
}
