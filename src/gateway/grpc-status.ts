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
  // berth's one table of statuses holds the numbers of gRPC's enum.
  // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment
  return { code: grpcStatusOf(error), details: error.message, metadata };
}
