/**
 * The inference hot path on bare node:http, in front of fastify (docs/adr/0003). On this machine
 * fastify answering a fixed response to a POST reaches less than half the requests per second of
 * node:http doing the same, so the infer operation's routes (operations.ts) with a plain body are
 * read here, decoded and answered by the same table entry, through the same service and its
 * interceptors, in the format and with the errors of every other route. Everything else,
 * including compressed bodies, goes to fastify unchanged.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BerthError, INFERENCE_HEADER_CONTENT_LENGTH, type OipService } from '../../protocol/index.js';
import type { Logger } from '../../observability/index.js';
import { credentialsOf, socketCertificateSubject, type EarlyRefusal } from '../../access/index.js';
import { httpContext } from '../call-context.js';
import { INFER_OPERATION, type Limits } from '../operations.js';
import { BodyPool } from './body-pool.js';
import { isAcceptedContentType } from './http-body.js';
import { writeError } from './http-errors.js';
import { compileRoutes } from './route-match.js';
import { requestIdOf } from './request-id.js';

export interface FastPathOptions {
  readonly service: OipService;
  readonly limits: Limits;
  readonly logger: Logger;
  readonly isDraining: () => boolean;
  /** With access control on: callers that cannot be let in are refused before their body is read. */
  readonly refuseEarly?: EarlyRefusal;
  /** Over TLS: the Strict-Transport-Security value every answer carries. */
  readonly hsts?: string;
}

const matchInfer = compileRoutes(INFER_OPERATION.http.routes.map((r) => r.path));

/** The path parameters of an inference URL, or undefined for anything else. */
export function matchInferRoute(url: string): Record<string, string> | undefined {
  return matchInfer(url);
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
 * straight into one pooled buffer of that size; an undeclared one is gathered and joined (a
 * single chunk that needs no alignment is used as it is). Exactly one of `done` and `failed` is
 * called; `done` from the request's 'end', so that the answer starts in the same turn (a promise
 * here cost a microtask and its allocations on every request).
 */
function readRequestBody(
  request: IncomingMessage,
  maxBytes: number,
  pool: BodyPool,
  done: (read: ReadBody) => void,
  failed: (error: Error) => void,
): void {
  const tooLarge = () =>
    new BerthError(
      'BERTH_ERR_PROTOCOL_BODY_TOO_LARGE',
      'request body is larger than the limit (--max-body-size)',
    );
  const declaredHeader = request.headers['content-length'];
  const declared = declaredHeader === undefined ? undefined : Number(declaredHeader);
  if (declared !== undefined && declared > maxBytes) {
    failed(tooLarge());
    return;
  }
  const pad = alignmentPad(request.headers[INFERENCE_HEADER_CONTENT_LENGTH]);
  let settled = false;
  const fail = (error: Error) => {
    if (settled) return;
    settled = true;
    failed(error);
  };
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
      fail(tooLarge());
      return;
    }
    if (target === undefined) chunks.push(chunk);
    else chunk.copy(target, size);
    size += chunk.byteLength;
  };
  request.on('data', onData);
  request.once('end', () => {
    if (settled) return;
    settled = true;
    if (target !== undefined) done({ body: target.subarray(0, size), pooled });
    else if (chunks.length === 1 && pad === 0 && chunks[0] !== undefined) {
      done({ body: chunks[0], pooled: undefined });
    } else {
      const joined = Buffer.allocUnsafeSlow(size + pad).subarray(pad);
      let offset = 0;
      for (const chunk of chunks) offset += chunk.copy(joined, offset);
      done({ body: joined, pooled: undefined });
    }
  });
  request.once('close', () => {
    if (!request.complete) fail(new ClientAborted('client closed the connection while sending'));
  });
  request.once('error', () => fail(new ClientAborted('request stream failed')));
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
    const params = matchInfer(request.url);
    if (params === undefined) return false;
    const encoding = request.headers['content-encoding'];
    if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') return false;
    const type = request.headers['content-type'];
    if (type !== undefined && !isAcceptedContentType(type)) return false;
    const requestId = requestIdOf(request.headers['x-request-id']);
    const refused = options.refuseEarly?.(
      credentialsOf(
        request.headers.authorization,
        request.headers['x-api-key'],
        socketCertificateSubject(request.socket),
      ),
      {
        operation: 'infer',
        transport: 'http',
        requestId,
        peer: request.socket.remoteAddress,
        model: params.model,
      },
    );
    if (refused !== undefined) {
      // The body is never read: the connection cannot be reused.
      writeError(refused, response, options.logger.child({ reqId: requestId }), {
        'x-request-id': requestId,
        connection: 'close',
      });
      return true;
    }
    readRequestBody(
      request,
      options.limits.maxBodyBytes,
      pool,
      (read) => {
        answerRequest(options, pool, params, request, response, requestId, read).catch((error: unknown) => {
          logger.error({ err: error, reqId: requestId }, 'inference fast path failed');
          response.destroy();
        });
      },
      (error) => {
        if (error instanceof ClientAborted) {
          response.destroy();
          return;
        }
        try {
          // The rest of an oversized body is never read: the connection cannot be reused.
          writeError(error, response, options.logger.child({ reqId: requestId }), {
            'x-request-id': requestId,
            connection: 'close',
          });
        } catch (failure) {
          logger.error({ err: failure, reqId: requestId }, 'inference fast path failed');
          response.destroy();
        }
      },
    );
    return true;
  };
}

async function answerRequest(
  options: FastPathOptions,
  pool: BodyPool,
  params: Record<string, string>,
  request: IncomingMessage,
  response: ServerResponse,
  requestId: string,
  read: ReadBody,
): Promise<void> {
  const common: Record<string, string> = { 'x-request-id': requestId };
  try {
    let answer;
    try {
      const call = INFER_OPERATION.http.decode({
        params,
        body: read.body,
        headers: request.headers,
        limits: options.limits,
      });
      const output = await options.service.infer(
        call.input,
        httpContext(requestId, request.headers, response),
      );
      answer = call.answer(output);
    } finally {
      // Settled: the request has left the queue, and its inputs were copied when its run began.
      if (read.pooled !== undefined) pool.give(read.pooled);
    }
    if (response.destroyed) return;
    const payload = answer.payload as Buffer;
    // Headers as one flat array: node writes it without copying it into an object first.
    const headers: (string | number)[] = [
      'x-request-id',
      requestId,
      'content-type',
      answer.contentType ?? 'application/octet-stream',
      'content-length',
      payload.byteLength,
      'x-content-type-options',
      'nosniff',
    ];
    if (options.hsts !== undefined) headers.push('strict-transport-security', options.hsts);
    if (answer.headers !== undefined) {
      for (const [name, value] of Object.entries(answer.headers)) headers.push(name, value);
    }
    // A keep-alive connection would otherwise outlive its last response and hold a drain open.
    if (options.isDraining()) headers.push('connection', 'close');
    response.writeHead(answer.status, headers as unknown as string[]);
    response.end(payload);
  } catch (error) {
    const extra = options.isDraining() ? { ...common, connection: 'close' } : common;
    writeError(error, response, options.logger.child({ reqId: requestId }), extra);
  }
}
