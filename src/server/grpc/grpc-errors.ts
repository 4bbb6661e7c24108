/**
 * Errors at the gRPC boundary: anything thrown becomes a BerthError once, then the gRPC status of
 * its category (ground/error-status.ts, the same table HTTP uses) with its message as details.
 * The stable code travels in the `berth-error-code` trailer (ground/error-wire.ts); internals only go
 * to the log.
 */
import { Metadata, type ServiceError } from '@grpc/grpc-js';
import { ERROR_CODE_KEY, grpcStatusOf, toBerthError } from '../../ground/index.js';
import type { Logger } from '../../observability/index.js';
import { logAnsweredError } from '../error-log.js';

/** The status a failed call ends with; `fields` are trailers an interceptor added to the answer. */
export function toServiceError(
  error: unknown,
  logger: Logger,
  method: string,
  fields?: Metadata,
): Partial<ServiceError> {
  const berth = toBerthError(error);
  logAnsweredError(logger, berth, { method });
  const metadata = fields ?? new Metadata();
  metadata.set(ERROR_CODE_KEY, berth.code);
  if (berth.retryAfterSeconds !== undefined) metadata.set('retry-after', String(berth.retryAfterSeconds));
  for (const [name, value] of Object.entries(berth.headers ?? {})) metadata.set(name, value);
  return {
    // berth's one table of statuses (ground/error-status.ts) holds the numbers of gRPC's enum.
    // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment
    code: grpcStatusOf(berth),
    details: berth.message,
    metadata,
  };
}
