/**
 * The messages of a gRPC call's request stream, as an async iterable that ends when the client
 * half-closes. grpc-js's ServerDuplexStream as an async iterable does not end there on Node.js 22
 * (its readable side ends, but the iterator also waits for the writable side, which the server
 * holds open to answer), so a stream was never answered to its end there; this reads the
 * stream's own events instead, with backpressure: it pauses the call while `highWaterMark`
 * messages wait to be taken.
 */
import type { Readable } from 'node:stream';

/**
 * @example
 * for await (const message of streamMessages<Request>(call)) handle(message);
 */
export async function* streamMessages<T>(call: Readable, highWaterMark = 64): AsyncGenerator<T> {
  const queue: T[] = [];
  // Written by the event handlers, read by the loop.
  const state: { ended: boolean; failure?: { error: unknown } } = { ended: false };
  let wake: (() => void) | undefined;
  const notify = () => {
    const resume = wake;
    wake = undefined;
    resume?.();
  };
  const onData = (message: T) => {
    queue.push(message);
    if (queue.length >= highWaterMark) call.pause();
    notify();
  };
  const onEnd = () => {
    state.ended = true;
    notify();
  };
  const onError = (error: unknown) => {
    state.failure = { error };
    state.ended = true;
    notify();
  };
  call.on('data', onData);
  call.once('end', onEnd);
  call.once('close', onEnd);
  call.once('error', onError);
  try {
    for (;;) {
      const message = queue.shift();
      if (message !== undefined) {
        if (queue.length < highWaterMark / 2 && call.isPaused()) call.resume();
        yield message;
        continue;
      }
      if (state.failure !== undefined) throw state.failure.error;
      if (state.ended) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    call.off('data', onData);
    call.off('end', onEnd);
    call.off('close', onEnd);
    call.off('error', onError);
  }
}
