/**
 * Request logging on the seam: one `request completed` line per call at debug level, with its
 * request id, operation, transport, outcome and duration, the same on every transport. When the
 * logger is above debug the interceptor is not in the chain at all.
 */
import { toBerthError, type Interceptor } from '../../protocol/index.js';
import type { Logger } from '../../observability/index.js';

/**
 * @example
 * const served = intercept(engine, [requestLog(logger)]);
 */
export function requestLog(logger: Logger): Interceptor | undefined {
  if (!logger.isLevelEnabled('debug')) return undefined;
  return (next) => (call) => {
    const started = performance.now();
    const fields = {
      reqId: call.context.requestId,
      operation: call.operation,
      transport: call.context.transport,
      ...(call.operation === 'infer' ? { model: call.input.name } : {}),
      // Who, never what they presented: the credentials stay out of every log line.
      ...(call.context.principal === undefined ? {} : { principal: call.context.principal.id }),
    };
    return next(call).then(
      (result) => {
        logger.debug({ ...fields, code: 'OK', ms: performance.now() - started }, 'request completed');
        return result;
      },
      (error: unknown) => {
        const berth = toBerthError(error);
        logger.debug({ ...fields, code: berth.code, ms: performance.now() - started }, 'request completed');
        throw berth;
      },
    );
  };
}
