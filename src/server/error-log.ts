/**
 * How an error answered to a client is logged, the same for REST and gRPC. Only berth's own
 * faults (category INTERNAL) are logged at error with their stack. Expected conditions a
 * server answers with 5xx / UNAVAILABLE (a model not ready, a full queue, a drain, a deadline)
 * are warnings without a stack; the client's own mistakes (4xx) are debug.
 */
import { httpStatusOf, type BerthError } from '../ground/index.js';

/** What error logging needs of a logger: pino's and fastify's request loggers both fit. */
export interface ErrorLog {
  error(details: object, message: string): void;
  warn(details: object, message: string): void;
  debug(details: object, message: string): void;
}

/**
 * @example
 * logAnsweredError(request.log, toBerthError(error), { method: 'ModelInfer' });
 */
export function logAnsweredError(log: ErrorLog, berth: BerthError, fields: object = {}): void {
  const status = httpStatusOf(berth);
  if (berth.category === 'INTERNAL')
    log.error({ ...fields, err: berth.cause ?? berth, code: berth.code }, berth.message);
  else if (status >= 500) log.warn({ ...fields, code: berth.code, status }, berth.message);
  else log.debug({ ...fields, code: berth.code, status }, berth.message);
}
