import { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { streamMessages } from './stream-messages.js';

/** A duplex like a gRPC server call: its readable side ends while its writable side stays open. */
function call(): Duplex {
  return new Duplex({
    objectMode: true,
    read() {},
    write(_chunk, _encoding, done) {
      done();
    },
  });
}

describe('streamMessages', () => {
  it('yields every message and ends when the readable side ends, the writable side still open', async () => {
    const stream = call();
    const seen: number[] = [];
    const reading = (async () => {
      for await (const message of streamMessages<number>(stream)) seen.push(message);
    })();
    for (const n of [1, 2, 3]) stream.push(n);
    stream.push(null);
    await reading;
    expect(seen).toEqual([1, 2, 3]);
    expect(stream.writable).toBe(true);
  });

  it('throws the stream error, and pauses the stream while too many messages wait', async () => {
    const stream = call();
    const messages = streamMessages<number>(stream, 4);
    const first = messages.next();
    for (let n = 0; n < 6; n++) stream.push(n);
    expect((await first).value).toBe(0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(stream.isPaused()).toBe(true);
    for (let n = 1; n < 4; n++) expect((await messages.next()).value).toBe(n);
    expect(stream.isPaused()).toBe(false);
    stream.destroy(new Error('broken'));
    await expect(
      (async () => {
        for (;;) if ((await messages.next()).done === true) return;
      })(),
    ).rejects.toThrow('broken');
  });
});
