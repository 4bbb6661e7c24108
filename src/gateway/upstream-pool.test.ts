import { describe, expect, it } from 'vitest';
import { UpstreamPool } from './upstream-pool.js';

function pool(now: { t: number }) {
  const p = new UpstreamPool({
    now: () => now.t,
    random: () => 0,
    outlier: {
      consecutiveFailures: 2,
      baseEjectionMs: 100,
      maxEjectionMs: 1000,
      intervalMs: 100,
      maxEjectionPercent: 50,
    },
    breaker: { failures: 3, coolDownMs: 50, maxCoolDownMs: 400, probes: 1 },
  });
  p.add('a', 'http://127.0.0.1:1');
  p.add('b', 'http://127.0.0.1:2');
  return p;
}

describe('UpstreamPool', () => {
  it('hands out the less loaded upstream and counts what is outstanding', () => {
    const p = pool({ t: 0 });
    const first = p.acquire();
    const second = p.acquire();
    expect([first?.id, second?.id]).toEqual(['a', 'b']);
    expect(p.view().map((u) => u.outstanding)).toEqual([1, 1]);
    if (first !== undefined) p.release(first, true);
    expect(p.acquire()?.id).toBe('a');
  });

  it('skips upstreams that are not ready, already tried, ejected, or whose breaker is open', () => {
    const now = { t: 0 };
    const p = pool(now);
    p.setReady('a', false);
    expect(p.acquire()?.id).toBe('b');
    p.setReady('a', true);
    expect(p.acquire(new Set(['a']))?.id).toBe('b');
    for (let i = 0; i < 2; i++) {
      const a = p.acquire(new Set(['b']));
      if (a !== undefined) p.release(a, false);
    }
    expect(p.view().find((u) => u.id === 'a')?.ejected).toBe(true);
    expect(p.acquire(new Set(['b']))).toBeUndefined();
    now.t = 100;
    expect(p.acquire(new Set(['b']))?.id).toBe('a');
  });

  it('is available while some upstream could take a request, and forgets removed ones', () => {
    const p = pool({ t: 0 });
    p.setReady('a', false);
    expect(p.available).toBe(true);
    p.remove('b');
    expect(p.available).toBe(false);
    expect(p.acquire()).toBeUndefined();
    const a = p.view()[0];
    expect(a?.id).toBe('a');
  });
});
