import { describe, expect, it } from 'vitest';
import { RestartBackoff, type BackoffPolicy } from './restart-backoff.js';

const policy: BackoffPolicy = { baseMs: 100, maxMs: 1000, jitter: 0, resetAfterMs: 5000, crashLoopAfter: 3 };

function exitsInARow(backoff: RestartBackoff, count: number, upForMs: number, start = 0) {
  const decisions = [];
  let now = start;
  for (let i = 0; i < count; i++) {
    backoff.started(now);
    now += upForMs;
    const decision = backoff.exited(now);
    decisions.push(decision);
    now += decision.delayMs;
  }
  return { decisions, now };
}

describe('RestartBackoff', () => {
  it('restarts at once the first time, then waits twice as long each time, up to the maximum', () => {
    const { decisions } = exitsInARow(new RestartBackoff(policy), 7, 10);
    expect(decisions.map((d) => d.delayMs)).toEqual([0, 100, 200, 400, 800, 1000, 1000]);
    expect(decisions.map((d) => d.crashLooping)).toEqual([false, false, true, true, true, true, true]);
  });

  it('starts over once the replica has stayed up long enough', () => {
    const backoff = new RestartBackoff(policy);
    const { now } = exitsInARow(backoff, 4, 10);
    backoff.started(now);
    const decision = backoff.exited(now + 5000);
    expect(decision).toEqual({ delayMs: 0, exitsInARow: 1, crashLooping: false });
    expect(backoff.exitsInARow).toBe(1);
  });

  it('spreads the waits by the jitter, never past the maximum', () => {
    const low = exitsInARow(new RestartBackoff({ ...policy, jitter: 0.2 }, () => 0), 3, 10).decisions;
    const high = exitsInARow(new RestartBackoff({ ...policy, jitter: 0.2 }, () => 0.999999), 3, 10).decisions;
    expect(low.map((d) => d.delayMs)).toEqual([0, 80, 160]);
    expect(high.map((d) => d.delayMs)).toEqual([0, 120, 240]);
    const capped = exitsInARow(
      new RestartBackoff({ ...policy, jitter: 0.5 }, () => 0.999999),
      8,
      10,
    ).decisions;
    expect(Math.max(...capped.map((d) => d.delayMs))).toBe(1000);
  });

  it('refuses a policy that cannot work', () => {
    expect(() => new RestartBackoff({ ...policy, baseMs: 0 })).toThrow('baseMs');
    expect(() => new RestartBackoff({ ...policy, jitter: 1 })).toThrow('jitter');
  });
});
