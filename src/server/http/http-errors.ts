/**
 * Errors at the HTTP boundary: anything thrown becomes a BerthError once, then its status and
 * `{"error": "..."}` body (inference_rest.md error objects). The stable code travels in the
 * `berth-error-code` header; stack traces and internal details only go to the log.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { BerthError, httpStatusOf, toBerthError } from '../../protocol/index.js';

export const ERROR_CODE_HEADER = 'berth-error-code';

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
  if (error.statusCode === 400 && typeof error.code === 'string' && error.code.startsWith('FST_')) {
    return new BerthError('BERTH_ERR_PROTOCOL_INVALID_REQUEST', error.message);
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

export function sendError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const berth = normaliseHttpError(error);
  const status = httpStatusOf(berth);
  if (status >= 500) request.log.error({ err: berth.cause ?? berth, code: berth.code }, berth.message);
  else request.log.debug({ code: berth.code, status }, berth.message);
  return reply
    .code(status)
    .header(ERROR_CODE_HEADER, berth.code)
    .type('application/json; charset=utf-8')
    .send(JSON.stringify({ error: berth.message }));
}
