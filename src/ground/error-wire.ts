/**
 * How a BerthError's stable code crosses the wire, written once for every transport: servers set
 * it as the `berth-error-code` HTTP header and gRPC trailer, clients read it back into the same
 * code. A value that is not one of berth's codes (another server's, or none) is never trusted.
 */
import { BerthError, ERROR_CODES, type ErrorCode } from './errors.js';

/** The HTTP header and the gRPC trailing-metadata key that carry the code. */
export const ERROR_CODE_KEY = 'berth-error-code';

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_CODES, value);
}

/**
 * The error a client raises for a failed call: the server's own code when it sent one of
 * berth's, else `fallback`.
 *
 * @example
 * throw errorFromWire(response.headers.get(ERROR_CODE_KEY), 'BERTH_ERR_CLIENT_REQUEST_FAILED', 'HTTP 404 ...');
 */
export function errorFromWire(
  code: unknown,
  fallback: ErrorCode,
  message: string,
  options?: { cause?: unknown },
): BerthError {
  return new BerthError(isErrorCode(code) ? code : fallback, message, options);
}
