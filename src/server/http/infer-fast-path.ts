/**
 * The inference hot path on bare node:http, in front of fastify (docs/adr/0003). On this machine
 * fastify answering a fixed response to a POST reaches less than half the requests per second of
 * node:http doing the same, so `POST /v2/models/{m}[/versions/{v}]/infer` with a plain body is
 * read, decoded, queued and answered here, in the format and with the errors of every other
 * route. Everything else, including compressed bodies and requests during a drain, goes to
 * fastify unchanged.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BerthError, INFERENCE_HEADER_CONTENT_LENGTH } from '../../protocol/index.js';
import { BodyPool } from './body-pool.js';
import { ClientGone } from './client-gone.js';
import { isAcceptedContentType } from './http-body.js';
import type { Logger } from '../../observability/index.js';
import { writeError } from './http-errors.js';
import { handleInfer, type InferContext, type InferReply, type InferRoute } from './infer-handler.js';
import { requestIdOf } from './request-id.js';

export interface FastPathOptions extends InferContext {
  readonly logger: Logger;
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

/**
 * Where the body should start in its buffer so that the binary section (after a JSON header of
 * `headerLength` bytes) is 8-byte aligned: tensors there can then be typed-array views instead of
 * copies, since a typed array cannot start at an unaligned offset.
 */
function alignmentPad(headerLength: string | string[] | undefined): number {
  const length = typeof headerLength === 'string' ? Number(headerLength) : NaN;
  return Number.isSafeInteger(length) && length > 0 ? (8 - (length % 8)) % 8 : 0;
}

interface ReadBody {
  readonly body: Buffer;
  /** The pooled buffer under `body`, to give back once the request no longer needs it. */
  readonly pooled: Buffer | undefined;
}

/**
 * The whole body, refused past `maxBytes` without reading further. A declared length is read
 * straight into one (pooled, when large) buffer of that size; an undeclared one is gathered and
 * joined (a single chunk that needs no alignment is used as it is).
 */
function readRequestBody(request: IncomingMessage, maxBytes: number, pool: BodyPool): Promise<ReadBody> {
  const tooLarge = () =>
    new BerthError(
      'BERTH_ERR_PROTOCOL_BODY_TOO_LARGE',
      'request body is larger than the limit (--max-body-size)',
    );
  const declaredHeader = request.headers['content-length'];
  const declared = declaredHeader === undefined ? undefined : Number(declaredHeader);
  if (declared !== undefined && declared > maxBytes) return Promise.reject(tooLarge());
  const pad = alignmentPad(request.headers[INFERENCE_HEADER_CONTENT_LENGTH]);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    // Node's parser delivers exactly Content-Length bytes before 'end'.
    const pooled =
      declared !== undefined && declared > 0 && Number.isSafeInteger(declared)
        ? pool.take(declared + pad)
        : undefined;
    const target = pooled?.subarray(pad, pad + (declared ?? 0));
    const onData = (chunk: Buffer) => {
      if (size + chunk.byteLength > maxBytes) {
        request.off('data', onData);
        reject(tooLarge());
        return;
      }
      if (target === undefined) chunks.push(chunk);
      else chunk.copy(target, size);
      size += chunk.byteLength;
    };
    request.on('data', onData);
    request.once('end', () => {
      if (target !== undefined) resolve({ body: target.subarray(0, size), pooled });
      else if (chunks.length === 1 && pad === 0 && chunks[0] !== undefined) {
        resolve({ body: chunks[0], pooled: undefined });
      } else {
        const joined = Buffer.allocUnsafeSlow(size + pad).subarray(pad);
        let offset = 0;
        for (const chunk of chunks) offset += chunk.copy(joined, offset);
        resolve({ body: joined, pooled: undefined });
      }
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
  // Idle bodies kept for reuse: enough for 64 requests of one 224x224x3 float image each.
  const pool = new BodyPool({ maxIdleBytes: 64 * 1024 * 1024 });
  return (request, response) => {
    if (request.method !== 'POST' || request.url === undefined) return false;
    const route = matchInferRoute(request.url);
    if (route === undefined || options.isDraining()) return false;
    const encoding = request.headers['content-encoding'];
    if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') return false;
    const type = request.headers['content-type'];
    if (type !== undefined && !isAcceptedContentType(type)) return false;
    const requestId = requestIdOf(request.headers['x-request-id']);
    void serve(options, pool, route, request, response, requestId).catch((error: unknown) => {
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
  pool: BodyPool,
  route: InferRoute,
  request: IncomingMessage,
  response: ServerResponse,
  requestId: string,
): Promise<void> {
  const common: Record<string, string> = { 'x-request-id': requestId };
  let read: ReadBody;
  try {
    read = await readRequestBody(request, options.limits.maxBodyBytes, pool);
  } catch (error) {
    if (error instanceof ClientAborted) {
      response.destroy();
      return;
    }
    // The rest of an oversized body is never read: the connection cannot be reused.
    writeError(error, response, options.logger.child({ reqId: requestId }), {
      ...common,
      connection: 'close',
    });
    return;
  }
  try {
    let reply: InferReply;
    try {
      reply = await handleInfer(options, route, read.body, request.headers, new ClientGone(response));
    } finally {
      // Settled: the request has left the queue, and its inputs were copied when its run began.
      if (read.pooled !== undefined) pool.give(read.pooled);
    }
    if (response.destroyed) return;
    const headers: Record<string, string | number> = {
      ...common,
      'content-type': reply.contentType,
      'content-length': reply.payload.byteLength,
    };
    if (reply.headerLength !== undefined) headers[INFERENCE_HEADER_CONTENT_LENGTH] = reply.headerLength;
    // A keep-alive connection would otherwise outlive its last response and hold a drain open.
    if (options.isDraining()) headers.connection = 'close';
    response.writeHead(200, headers);
    response.end(reply.payload);
  } catch (error) {
    const extra = options.isDraining() ? { ...common, connection: 'close' } : common;
    writeError(error, response, options.logger.child({ reqId: requestId }), extra);
  }
}
