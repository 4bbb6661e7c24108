/**
 * A server under load, whatever the transport: it opens connections for a number of clients and
 * sends client `i`'s next request on them. Every request is the same bytes, made once when the
 * target is made, so that a request costs the generator a write and a read.
 */
import type { SendResult } from './request-outcome.js';

export interface TargetConnections {
  /** Sends one request for client `client`; never rejects: a failure is a result. */
  send(client: number): Promise<SendResult>;
  /** Closes the connections. */
  close(): void;
}

export interface LoadTarget {
  /** How requests travel: `rest binary`, `rest json`, `grpc`. */
  readonly transport: string;
  /** Bytes of one request body (message for gRPC). */
  readonly requestBytes: number;
  /** Connections for `clients` concurrent clients, one each. */
  open(clients: number): TargetConnections;
}

/** The output names an answer must have: every output the model declares. */
export function missingOutput(
  outputs: readonly { readonly name: string }[],
  expected: readonly string[],
): string | undefined {
  for (const name of expected) if (!outputs.some((o) => o.name === name)) return name;
  return undefined;
}
