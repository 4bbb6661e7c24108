import { describe, expect, it } from 'vitest';
import { runClosedLoop, type Clock } from './closed-loop.js';
import type { SendResult } from './request-outcome.js';

/** A clock that moves only when a fake request takes time. */
function fakeClock(): Clock & { advance(ms: number): void } {
  let now = 1000;
  return { now: () => now, advance: (ms) => (now += ms) };
}

describe('runClosedLoop', () => {
  it('drops the warm-up and counts every answer of the measured window', async () => {
    const clock = fakeClock();
    const result = await runClosedLoop({
      concurrency: 1,
      warmupMs: 10,
      durationMs: 100,
      clock,
      send: () => {
        clock.advance(1);
        return Promise.resolve(undefined);
      },
    });
    // Answers at 1, 2, ... ms; those at 10..109 are in the window.
    expect(result.requests).toBe(100);
    expect(result.ok).toBe(100);
    expect(result.windowMs).toBe(100);
    expect(result.latencyMs).toMatchObject({ count: 100, min: 1, p50: 1, p99: 1, max: 1 });
  });

  it('keeps `concurrency` requests in flight, each client sending again when answered', async () => {
    const clock = fakeClock();
    let inFlight = 0;
    let most = 0;
    const pending: (() => void)[] = [];
    const send = (): Promise<SendResult> =>
      new Promise((resolve) => {
        inFlight++;
        most = Math.max(most, inFlight);
        pending.push(() => {
          inFlight--;
          resolve(undefined);
        });
      });
    const run = runClosedLoop({ concurrency: 3, warmupMs: 0, durationMs: 30, clock, send });
    // The server answers all that wait, 1 ms a round.
    for (let round = 0; round < 40; round++) {
      await Promise.resolve();
      clock.advance(1);
      for (const answer of pending.splice(0)) answer();
      await new Promise((resolve) => setImmediate(resolve));
    }
    const result = await run;
    expect(most).toBe(3);
    // Three answers at each of 1..29 ms; those at 30 ms arrive as the window closes.
    expect(result.ok).toBe(3 * 29);
  });

  it('counts failures by class with the first message, and keeps their latency out', async () => {
    const clock = fakeClock();
    let n = 0;
    const result = await runClosedLoop({
      concurrency: 1,
      warmupMs: 0,
      durationMs: 12,
      clock,
      send: () => {
        n++;
        clock.advance(n % 2 === 0 ? 5 : 0.5);
        return Promise.resolve(n % 2 === 0 ? { kind: 'HTTP 400', message: `bad request ${n}` } : undefined);
      },
    });
    expect(result.errors).toEqual({ 'HTTP 400': { count: 2, example: 'bad request 2' } });
    // Answers at 0.5 (ok), 5.5 (400), 6 (ok), 11 (400), 11.5 (ok) ms; the next one, at 16.5, is late.
    expect(result.ok).toBe(3);
    expect(result.requests).toBe(5);
    expect(result.latencyMs.max).toBe(0.5);
  });

  it('updates the live counts of the measured window as answers arrive', async () => {
    const clock = fakeClock();
    const live = { ok: 0, failed: 0 };
    await runClosedLoop({
      concurrency: 2,
      warmupMs: 5,
      durationMs: 10,
      clock,
      live,
      send: () => {
        clock.advance(1);
        return Promise.resolve(clock.now() % 2 === 0 ? undefined : { kind: 'timeout', message: 'x' });
      },
    });
    expect(live.ok + live.failed).toBe(10);
    expect(live.ok).toBe(5);
  });

  it('reports no requests when no answer arrives within the window', async () => {
    const clock = fakeClock();
    const result = await runClosedLoop({
      concurrency: 1,
      warmupMs: 0,
      durationMs: 10,
      clock,
      send: () => {
        clock.advance(50);
        return Promise.resolve(undefined);
      },
    });
    expect(result).toMatchObject({ requests: 0, ok: 0, errors: {} });
    expect(result.latencyMs.p50).toBeNull();
  });
});
