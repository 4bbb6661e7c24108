/**
 * What one request came to, as the closed loop counts it: success is `undefined` (no object per
 * request), a failure is its class and what the server or the socket said. Classes are the HTTP
 * status (`HTTP 400`), the gRPC status name (`gRPC INVALID_ARGUMENT`), `malformed` for an answer
 * that is not a well-formed inference response of the model, `timeout`, or the socket's error
 * code (`ECONNRESET`).
 */

export interface RequestFailure {
  /** The error class the report groups by. */
  readonly kind: string;
  /** What was said, for the report's example of the class. */
  readonly message: string;
}

/** A send resolves with undefined when the answer was a good one. */
export type SendResult = RequestFailure | undefined;

/** The class of an answer that came back with success but is no inference response of the model. */
export const MALFORMED = 'malformed';
/** The class of a request that got no answer within --timeout. */
export const TIMEOUT = 'timeout';

/** One error class in a report: how many, and the first message seen. */
export interface FailureCount {
  readonly count: number;
  readonly example: string;
}

/** Longest example message kept, so that a server's huge error page does not fill the report. */
const EXAMPLE_LENGTH = 240;

/** Failures counted by class, in the order each class was first seen. */
export class FailureTally {
  private readonly counts = new Map<string, { count: number; example: string }>();
  private sum = 0;

  get total(): number {
    return this.sum;
  }

  add(failure: RequestFailure): void {
    this.sum++;
    const entry = this.counts.get(failure.kind);
    if (entry !== undefined) entry.count++;
    else this.counts.set(failure.kind, { count: 1, example: failure.message.slice(0, EXAMPLE_LENGTH) });
  }

  toJSON(): Record<string, FailureCount> {
    return Object.fromEntries(
      [...this.counts].map(([kind, { count, example }]) => [kind, { count, example }]),
    );
  }
}
