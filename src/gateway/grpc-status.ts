/**
 * The gateway's own refusals as gRPC statuses: the status of the error's category (the one table
 * in ground/error-status.ts) with its message as details, and its stable code in the
 * `berth-error-code` trailer, as a replica sends its own (server/grpc/grpc-errors.ts).
 */
import { Metadata, type StatusObject } from '@grpc/grpc-js';
import { ERROR_CODE_KEY, grpcStatusOf, type BerthError } from '../ground/index.js';

/**
 * @example
 * callback(statusOf(new BerthError('BERTH_ERR_GATEWAY_NO_UPSTREAM', 'no replica can take the request now')));
 */
export function statusOf(error: BerthError): StatusObject {
  const metadata = new Metadata();
  metadata.set(ERROR_CODE_KEY, error.code);
  // As berth serve answers: Retry-After and the RateLimit fields of a refusal, as trailers.
  if (error.retryAfterSeconds !== undefined) metadata.set('retry-after', String(error.retryAfterSeconds));
  for (const [name, value] of Object.entries(error.headers ?? {})) metadata.set(name, value);
  // berth's one table of statuses holds the numbers of gRPC's enum.
  // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment
  return { code: grpcStatusOf(error), details: error.message, metadata };
}

/**
 * The HTTP status a gRPC status code counts as in the gateway's metrics and rollout analysis
 * (google.rpc.Code's documented mapping), so that one error-rate query and one analysis serve
 * both fronts: 5xx is the server's fault (UNAVAILABLE, INTERNAL, UNKNOWN, a deadline,
 * UNIMPLEMENTED, DATA_LOSS), 4xx the caller's.
 *
 * @example
 * httpStatusOfGrpc(14); // 503 (UNAVAILABLE)
 */
export function httpStatusOfGrpc(code: number): number {
  return HTTP_OF_GRPC[code] ?? 500;
}

/** Indexed by gRPC code, OK (0) to UNAUTHENTICATED (16). */
const HTTP_OF_GRPC: readonly number[] = [
  200, 499, 500, 400, 504, 404, 409, 403, 429, 400, 409, 400, 501, 500, 503, 500, 401,
];
