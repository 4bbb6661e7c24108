/**
 * Errors at the HTTP boundary: anything thrown becomes a BerthError once, then its status and
 * `{"error": "..."}` body (inference_rest.md error objects). The stable code travels in the
 * `berth-error-code` header; stack traces and internal details only go to the log.
 */
import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { BerthError, ERROR_CODE_KEY, httpStatusOf, toBerthError } from '../../ground/index.js';
import { logAnsweredError, type ErrorLog } from '../error-log.js';

export type { ErrorLog } from '../error-log.js';

/** Fastify's own errors (body limit, content type, timeouts) mapped onto berth codes. */
function fromFastify(error: FastifyError): BerthError | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new BerthError(
        'BERTH_ERR_PROTOCOL_BODY_TOO_LARGE',
        `request body is larger than the limit (--max-body-size)`,
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new BerthError('BERTH_ERR_PROTOCOL_UNSUPPORTED_MEDIA_TYPE', error.message);
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new BerthError('BERTH_ERR_PROTOCOL_INVALID_JSON', error.message);
    default:
      break;
  }
  if (error.statusCode === 408)
    return new BerthError('BERTH_ERR_SERVER_TIMEOUT', 'request timed out while being received');
  if (error.statusCode === 400) {
    // Fastify's own 400s, and a body stream that failed (client gone mid-body): the client's doing.
    return new BerthError(
      'BERTH_ERR_PROTOCOL_INVALID_REQUEST',
      `request could not be read: ${error.message}`,
    );
  }
  return undefined;
}

export function normaliseHttpError(error: unknown): BerthError {
  if (error instanceof BerthError) return error;
  if (error instanceof Error && 'code' in error) {
    const mapped = fromFastify(error as FastifyError);
    if (mapped !== undefined) return mapped;
  }
  return toBerthError(error);
}

export interface ErrorReply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** The answer to an error, logged once (error-log.ts: only berth's own faults carry a stack). */
export function errorReply(error: unknown, log: ErrorLog): ErrorReply {
  const berth = normaliseHttpError(error);
  const status = httpStatusOf(berth);
  logAnsweredError(log, berth);
  const headers: Record<string, string> = {
    [ERROR_CODE_KEY]: berth.code,
    'content-type': 'application/json; charset=utf-8',
    'x-content-type-options': 'nosniff',
  };
  // A full queue is momentary: tell well-behaved clients when to come back.
  if (berth.code === 'BERTH_ERR_SCHEDULER_QUEUE_FULL') headers['retry-after'] = '1';
  if (berth.retryAfterSeconds !== undefined) headers['retry-after'] = String(berth.retryAfterSeconds);
  if (berth.headers !== undefined) Object.assign(headers, berth.headers);
  // RFC 9110 11.6.1: a 401 names the scheme that would be accepted.
  if (berth.code === 'BERTH_ERR_AUTH_UNAUTHENTICATED') headers['www-authenticate'] = 'Bearer realm="berth"';
  return { status, headers, body: JSON.stringify({ error: berth.message }) };
}

export function sendError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const { status, headers, body } = errorReply(error, request.log);
  return reply.code(status).headers(headers).send(body);
}

/** The same answer on a bare node:http response (the inference fast path). */
export function writeError(
  error: unknown,
  response: ServerResponse,
  log: ErrorLog,
  extraHeaders: Readonly<Record<string, string>>,
): void {
  const { status, headers, body } = errorReply(error, log);
  if (response.headersSent || response.destroyed) return;
  response.writeHead(status, { ...headers, ...extraHeaders, 'content-length': Buffer.byteLength(body) });
  response.end(body);
}

/**
 * Errors below HTTP (unparseable request line or headers, a request that took longer than
 * --request-timeout to arrive) never reach a route, so they are answered here on the socket, in
 * the same format as every other error.
 */
export function handleClientError(error: Error & { code?: string }, socket: Duplex): void {
  if (!socket.writable || error.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  let berth: BerthError;
  if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    berth = new BerthError(
      'BERTH_ERR_SERVER_TIMEOUT',
      'request was not received in time (--request-timeout)',
    );
  } else if (error.code === 'HPE_HEADER_OVERFLOW') {
    berth = new BerthError('BERTH_ERR_PROTOCOL_HEADERS_TOO_LARGE', 'request headers are too large');
  } else {
    berth = new BerthError('BERTH_ERR_PROTOCOL_INVALID_REQUEST', 'malformed HTTP request');
  }
  const status = httpStatusOf(berth);
  const body = JSON.stringify({ error: berth.message });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n` +
      'connection: close\r\n' +
      'content-type: application/json; charset=utf-8\r\n' +
      `${ERROR_CODE_KEY}: ${berth.code}\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
