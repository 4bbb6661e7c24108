/**
 * Triton's bidirectional `ModelStreamInfer` through the gateway: each stream is pinned to one
 * replica for its life, its messages passed through both ways as bytes, with flow control both
 * ways. The caller cancelling cancels the replica's call, and the replica's call ending (its
 * status, a lost connection) ends the caller's with the same status and trailers.
 *
 * Before the replica has sent anything, a stream whose connection was refused (nothing reached
 * the replica) or that a draining replica refused moves to another replica with the messages
 * sent so far (kept up to `maxReplayBytes`); once the replica has answered, the stream stays. A
 * replica that lost the connection or drains leaves the balancer (`pool.markLost`), as for
 * unary calls.
 * A stream's deadline is the caller's alone: the gateway's timeout bounds one call, and a
 * stream carries many.
 */
import {
  status as grpcStatus,
  type ClientDuplexStream,
  type Metadata,
  type ServerDuplexStream,
  type StatusObject,
} from '@grpc/grpc-js';
import { BerthError, toBerthError } from '../ground/index.js';
import type { ChannelLease, GrpcChannels } from './grpc-channels.js';
import {
  classifyStatus,
  errorCodeOf,
  forwardedMetadata,
  isUpstreamFault,
  type GrpcForwarder,
} from './grpc-forward.js';
import { statusOf } from './grpc-status.js';
import { noUpstream, timedOut } from './upstream-acquire.js';
import type { Upstream, UpstreamPool } from './upstream-pool.js';

export interface StreamForwardOptions {
  readonly pool: UpstreamPool;
  readonly channels: GrpcChannels;
  readonly forwarder: GrpcForwarder;
  /** Moves to another replica at most (resilience.retries). */
  readonly retries: number;
  /** Messages kept for a move before the replica answered, in bytes. */
  readonly maxReplayBytes: number;
}

export interface StreamRequest {
  readonly path: string;
  /** Already forwardedMetadata()'s. */
  readonly metadata: Metadata;
  /** On performance.now()'s clock; Infinity for none. */
  readonly deadline: number;
}

interface Leg {
  readonly upstream: Upstream;
  readonly lease: ChannelLease;
  readonly call: ClientDuplexStream<Buffer, Buffer>;
  /** The replica sent something: the stream stays with it. */
  answered: boolean;
}

const identity = (bytes: Buffer): Buffer => bytes;

/**
 * Forwards one stream; `settled` is called once when it is over, with the gateway's own error
 * when it ended the stream itself.
 */
export function forwardStream(
  options: StreamForwardOptions,
  caller: ServerDuplexStream<Buffer, Buffer>,
  request: StreamRequest,
  settled: (error: BerthError | undefined) => void,
): void {
  const { pool, forwarder } = options;
  const tried = new Set<Upstream>();
  const gone = new AbortController();
  let replay: Buffer[] | undefined = [];
  let replayBytes = 0;
  let callerEnded = false;
  let over = false;
  let leg: Leg | undefined;

  const finish = (error: BerthError | undefined) => {
    if (over) return;
    over = true;
    settled(error);
  };
  const fail = (error: unknown) => {
    const berth = toBerthError(error);
    if (!caller.cancelled) caller.emit('error', statusOf(berth));
    finish(berth);
  };
  const resumeCaller = () => caller.resume();

  const open = async (attempt: number): Promise<void> => {
    const upstream = await forwarder.acquire(tried, { deadline: request.deadline, signal: gone.signal });
    if (upstream === undefined) throw noUpstream();
    tried.add(upstream);
    if (gone.signal.aborted) {
      pool.release(upstream, true);
      finish(undefined);
      return;
    }
    const lease = options.channels.lease(upstream, upstream.grpc ?? '');
    const remaining = request.deadline - performance.now();
    const call = lease.client.makeBidiStreamRequest(
      request.path,
      identity,
      identity,
      request.metadata.clone(),
      Number.isFinite(remaining) ? { deadline: Date.now() + Math.max(1, remaining) } : {},
    );
    const current: Leg = { upstream, lease, call, answered: false };
    leg = current;
    const answered = () => {
      current.answered = true;
      replay = undefined;
    };
    call.on('metadata', (headers: Metadata) => {
      answered();
      if (!caller.cancelled) caller.sendMetadata(forwardedMetadata(headers));
    });
    call.on('data', (message: Buffer) => {
      answered();
      if (caller.cancelled) return;
      if (!caller.write(message)) {
        call.pause();
        caller.once('drain', () => call.resume());
      }
    });
    // The status event says how it ended; without a listener an error event would throw.
    call.on('error', () => undefined);
    call.on('status', (status: StatusObject) => ended(current, status, attempt));
    for (const message of replay ?? []) call.write(message);
    if (callerEnded) call.end();
  };

  const ended = (current: Leg, status: StatusObject, attempt: number) => {
    current.lease.done();
    if (leg === current) leg = undefined;
    const { upstream } = current;
    const kind = classifyStatus({
      ...status,
      errorCode: errorCodeOf(status.metadata),
      cancelledHere: gone.signal.aborted || over,
    });
    if (gone.signal.aborted || over) {
      pool.release(upstream, kind === 'answer' && !isUpstreamFault(status.code));
      finish(undefined);
      return;
    }
    const movable = (kind === 'refused' || kind === 'draining') && !current.answered;
    if (kind === 'refused' || kind === 'lost' || kind === 'draining') pool.markLost(upstream);
    pool.release(upstream, kind === 'draining' || (kind === 'answer' && !isUpstreamFault(status.code)));
    if (movable && replay !== undefined && attempt < options.retries) {
      caller.pause();
      open(attempt + 1).then(resumeCaller, fail);
      return;
    }
    if (kind === 'timeout') {
      fail(timedOut());
      return;
    }
    if (kind === 'refused' || kind === 'lost') {
      fail(
        new BerthError(
          'BERTH_ERR_GATEWAY_UPSTREAM_FAILED',
          `replica ${upstream.id} did not answer: ${status.details}`,
        ),
      );
      return;
    }
    const trailers = forwardedMetadata(status.metadata);
    if (!caller.cancelled) {
      if (status.code === grpcStatus.OK) caller.end(trailers);
      else caller.emit('error', { code: status.code, details: status.details, metadata: trailers });
    }
    finish(undefined);
  };

  caller.once('cancelled', () => {
    gone.abort();
    leg?.call.cancel();
    if (leg === undefined) finish(undefined);
  });
  caller.on('error', () => undefined);

  open(0).then(() => {
    // Reading starts once a replica takes the stream, so that nothing waits unbounded here.
    caller.on('data', (message: Buffer) => {
      if (replay !== undefined) {
        replay.push(message);
        replayBytes += message.byteLength;
        if (replayBytes > options.maxReplayBytes) replay = undefined;
      }
      const current = leg;
      if (current !== undefined && !current.call.write(message)) {
        caller.pause();
        current.call.once('drain', resumeCaller);
      }
    });
    caller.once('end', () => {
      callerEnded = true;
      leg?.call.end();
    });
  }, fail);
}
