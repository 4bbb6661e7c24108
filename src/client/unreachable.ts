/**
 * One wording for "the server never answered", whatever asked: the REST client (fetch), the gRPC
 * client (grpc-js) and `berth health`. fetch says only "fetch failed" and keeps the system's
 * reason in `cause`; grpc-js wraps it in "No connection established. Last error: ...". Both
 * become `cannot reach URL: connect ECONNREFUSED 127.0.0.1:8000`.
 */
import { BerthError } from '../ground/index.js';

function messageOf(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) {
    // Several addresses tried (localhost as ::1 and 127.0.0.1): each one's reason, once.
    return [...new Set(error.errors.map(messageOf))].join('; ');
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * Why a request got no answer, from what fetch or grpc-js threw: the innermost cause that says
 * something (`connect ECONNREFUSED 127.0.0.1:8000`, `getaddrinfo ENOTFOUND host`), or the
 * timeout.
 *
 * @example
 * await fetch(url).catch((error) => reasonUnreachable(error)); // 'connect ECONNREFUSED 127.0.0.1:8000'
 */
export function reasonUnreachable(error: unknown, timeoutMs?: number): string {
  if (error instanceof Error && error.name === 'TimeoutError') {
    return timeoutMs === undefined ? 'no answer in time' : `no answer within ${timeoutMs} ms`;
  }
  let reason: unknown = error;
  // fetch: TypeError("fetch failed") with the system error as its cause (undici may nest one more).
  while (reason instanceof Error && reason.cause !== undefined && reason.message === 'fetch failed') {
    reason = reason.cause;
  }
  // grpc-js prefixes its message with the status ("14 UNAVAILABLE: ").
  const text = messageOf(reason).replace(/^\d+ [A-Z_]+: /, '');
  // grpc-js: "No connection established. Last error: Error: connect ECONNREFUSED ... Resolution note: "
  const grpc = /Last error: (?:Error: )?(.*?)\.?\s*(?:Resolution note:.*)?$/s.exec(text);
  const found = grpc?.[1] !== undefined && grpc[1] !== '' ? grpc[1] : text;
  // fetch will not connect to the Fetch standard's blocked ports (1-25, 6000, ...) and says only this.
  return found === 'bad port'
    ? "bad port (fetch refuses the Fetch standard's blocked ports; use another)"
    : found;
}

/**
 * The error for a server that could not be reached at `url`.
 *
 * @example
 * throw unreachable('http://127.0.0.1:8000', error); // cannot reach http://127.0.0.1:8000: connect ECONNREFUSED ...
 */
export function unreachable(url: string, error: unknown, timeoutMs?: number): BerthError {
  return new BerthError(
    'BERTH_ERR_CLIENT_REQUEST_FAILED',
    `cannot reach ${url}: ${reasonUnreachable(error, timeoutMs)}`,
    {
      cause: error,
    },
  );
}

/** Whether a gRPC failure means the server was never reached (no status from it). */
export function isGrpcUnreachable(error: { code?: number; details?: string }): boolean {
  // 14 UNAVAILABLE with grpc-js's own wording, not a server's answer.
  return (
    error.code === 14 &&
    /^(No connection established|Name resolution failed|Connection dropped|failed to connect)/i.test(
      error.details ?? '',
    )
  );
}
