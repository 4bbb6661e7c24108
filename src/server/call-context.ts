/**
 * A call's context (request id, deadline, cancellation, trace context, peer) from what each
 * transport gives: one cancel signal for both, which fires when the caller goes away before its
 * answer was written.
 */
import type { EventEmitter } from 'node:events';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { PeerCertificate } from 'node:tls';
import { credentialsOf, grpcCertificateSubject, socketCertificateSubject } from '../access/index.js';
import type { AnswerFields, CallContext, CancelSignal, TraceContext } from '../protocol/index.js';
import { requestIdOf } from './http/request-id.js';

/**
 * Listens to its source only once the scheduler asks (when a request has to wait), since an
 * AbortController per request costs more than the dispatch of a small request.
 */
export class CallerGone implements CancelSignal {
  private gone = false;
  private listener: (() => void) | undefined;

  /**
   * @param source what emits `event` when the call ends
   * @param unanswered whether the call ended without its answer (checked when `event` fires)
   * @param goneAlready whether the caller is known to be gone already
   */
  constructor(
    private readonly source: EventEmitter,
    private readonly event: string,
    private readonly unanswered: () => boolean,
    private readonly goneAlready: () => boolean = () => false,
  ) {}

  get aborted(): boolean {
    return this.gone || this.goneAlready();
  }

  addEventListener(_type: 'abort', listener: () => void): void {
    this.listener = listener;
    this.source.once(this.event, this.onEnd);
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    if (this.listener !== listener) return;
    this.listener = undefined;
    this.source.off(this.event, this.onEnd);
  }

  private readonly onEnd = (): void => {
    if (!this.unanswered()) return;
    this.gone = true;
    const listener = this.listener;
    this.listener = undefined;
    listener?.();
  };
}

const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** W3C trace context, when the caller sent a well-formed `traceparent`. */
export function traceOf(
  traceparent: string | string[] | undefined,
  tracestate: string | string[] | undefined,
): TraceContext | undefined {
  if (typeof traceparent !== 'string' || !TRACEPARENT.test(traceparent)) return undefined;
  return typeof tracestate === 'string' && tracestate.length <= 512
    ? { traceparent, tracestate }
    : { traceparent };
}

/** A REST call's context; `requestId` is the one already given to its response. */
export function httpContext(
  requestId: string,
  headers: IncomingHttpHeaders,
  response: ServerResponse,
): CallContext {
  const trace = traceOf(headers.traceparent, headers.tracestate);
  const peer = response.socket?.remoteAddress;
  const credentials = credentialsOf(
    headers.authorization,
    headers['x-api-key'],
    socketCertificateSubject(response.socket),
  );
  return {
    requestId,
    transport: 'http',
    signal: new CallerGone(response, 'close', () => !response.writableFinished),
    // Written with the response's own fields when it is sent (writeHead merges them).
    answerFields: { set: (name, value) => response.setHeader(name, value) },
    ...(trace === undefined ? {} : { trace }),
    ...(peer === undefined ? {} : { peer }),
    ...(credentials === undefined ? {} : { credentials }),
  };
}

/** What a gRPC call offers, unary or streaming. */
export interface GrpcCallLike extends EventEmitter {
  readonly cancelled: boolean;
  readonly metadata: { get(key: string): unknown[] };
  getDeadline(): Date | number;
  getPeer(): string;
  /** grpc-js's TLS view of the call: the client certificate, over mTLS. */
  getAuthContext?(): { sslPeerCertificate?: PeerCertificate } | null;
}

/**
 * A gRPC call's context: its deadline, and a signal that fires when it is cancelled; with
 * `answerFields` where the call's answer has a place for fields (a unary call's trailers).
 */
export function grpcContext(call: GrpcCallLike, answerFields?: AnswerFields): CallContext {
  const [given] = call.metadata.get('x-request-id');
  const [traceparent] = call.metadata.get('traceparent');
  const [tracestate] = call.metadata.get('tracestate');
  const trace = traceOf(
    typeof traceparent === 'string' ? traceparent : undefined,
    typeof tracestate === 'string' ? tracestate : undefined,
  );
  const deadline = Number(call.getDeadline());
  const [authorization] = call.metadata.get('authorization');
  const [apiKey] = call.metadata.get('x-api-key');
  const credentials = credentialsOf(authorization, apiKey, grpcCertificateSubject(call));
  return {
    requestId: requestIdOf(typeof given === 'string' ? given : undefined),
    transport: 'grpc',
    signal: new CallerGone(
      call,
      'cancelled',
      () => true,
      () => call.cancelled,
    ),
    ...(Number.isFinite(deadline) ? { deadline } : {}),
    ...(trace === undefined ? {} : { trace }),
    ...(credentials === undefined ? {} : { credentials }),
    ...(answerFields === undefined ? {} : { answerFields }),
    peer: call.getPeer(),
  };
}
