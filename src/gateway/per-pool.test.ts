import { describe, expect, it } from 'vitest';
import { PerPool } from './per-pool.js';
import { Tracks } from './tracks.js';
import { UpstreamPool } from './upstream-pool.js';

describe('PerPool', () => {
  it("makes one per pool, and closes a past candidate's when the next pool is first used", () => {
    const stable = new UpstreamPool();
    const tracks = new Tracks(stable);
    const made: string[] = [];
    const closed: string[] = [];
    const names = new Map<UpstreamPool, string>([[stable, 'stable']]);
    const perPool = new PerPool(
      stable,
      tracks,
      (pool, isStable) => {
        made.push(`${names.get(pool) ?? '?'}:${isStable}`);
        return names.get(pool) ?? '?';
      },
      (thing) => closed.push(thing),
    );
    const first = new UpstreamPool();
    const second = new UpstreamPool();
    names.set(first, 'first').set(second, 'second');

    expect(perPool.of(stable)).toBe('stable');
    tracks.candidate = first;
    expect(perPool.of(first)).toBe('first');
    expect(perPool.of(first)).toBe('first'); // made once
    tracks.candidate = second; // the first rollout ended, a second began
    expect(perPool.of(second)).toBe('second');
    expect(made).toEqual(['stable:true', 'first:false', 'second:false']);
    expect(closed).toEqual(['first']);
    perPool.closeAll();
    expect(closed).toEqual(['first', 'stable', 'second']);
  });
});
