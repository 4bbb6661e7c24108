/**
 * The one place where error categories become transport status codes.
 * gRPC codes follow https://grpc.github.io/grpc/core/md_doc_statuscodes.html.
 */
import { ERROR_CODES, type BerthError, type ErrorCategory } from './errors.js';

const HTTP_STATUS: Record<ErrorCategory, number> = {
  INVALID_ARGUMENT: 400,
  UNAUTHENTICATED: 401,
  PERMISSION_DENIED: 403,
  NOT_FOUND: 404,
  RESOURCE_EXHAUSTED: 429,
  INTERNAL: 500,
  UNAVAILABLE: 503,
  DEADLINE_EXCEEDED: 504,
};

export const GRPC_STATUS = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

/** HTTP status for an error: the code's own status where it has one, else its category's. */
export function httpStatusOf(error: BerthError): number {
  const info = ERROR_CODES[error.code];
  return 'httpStatus' in info ? info.httpStatus : HTTP_STATUS[error.category];
}

/** gRPC status code for an error; categories are named after gRPC codes, so this is direct. */
export function grpcStatusOf(error: BerthError): number {
  return GRPC_STATUS[error.category];
}
