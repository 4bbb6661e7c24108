import { afterEach, describe, expect, it, vi } from 'vitest';
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
    const b = p.acquire();
    expect(b?.id).toBe('b');
    p.setReady('a', true);
    const a = p.acquire();
    expect(a?.id).toBe('a');
    if (a === undefined || b === undefined) throw new Error('both upstreams should be usable');
    p.release(a, true);
    p.release(b, true);
    expect(p.acquire(new Set([a]))?.id).toBe('b');
    for (let i = 0; i < 2; i++) {
      const got = p.acquire(new Set([b]));
      if (got !== undefined) p.release(got, false);
    }
    expect(p.view().find((u) => u.id === 'a')?.ejected).toBe(true);
    expect(p.acquire(new Set([b]))).toBeUndefined();
    now.t = 100;
    expect(p.acquire(new Set([b]))?.id).toBe('a');
    // The same id added again is a new upstream: a retry may try it.
    p.add('a', 'http://127.0.0.1:3');
    expect(p.acquire(new Set([a, b]))?.url).toBe('http://127.0.0.1:3');
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

  describe('waiting for an upstream', () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    it('resolves at once when one is available, and wakes waiters when one is added or comes back', async () => {
      const p = pool({ t: 0 });
      await expect(p.whenAvailable(1000)).resolves.toBe(true);
      p.setReady('a', false);
      p.setReady('b', false);
      let wakes = 0;
      const cues = new UpstreamPool({ onWaiting: () => wakes++ });
      const first = cues.whenAvailable(1000);
      const second = cues.whenAvailable(1000);
      expect(cues.waiting).toBe(2);
      expect(wakes).toBe(2);
      cues.add('r1', 'http://127.0.0.1:1');
      await expect(Promise.all([first, second])).resolves.toEqual([true, true]);
      expect(cues.waiting).toBe(0);

      const back = p.whenAvailable(1000);
      p.setReady('b', true);
      await expect(back).resolves.toBe(true);
    });

    it('gives up after the timeout or when the caller leaves, and then no longer counts', async () => {
      vi.useFakeTimers();
      const p = new UpstreamPool();
      const late = p.whenAvailable(500);
      const controller = new AbortController();
      const gone = p.whenAvailable(10_000, controller.signal);
      expect(p.waiting).toBe(2);
      vi.advanceTimersByTime(500);
      await expect(late).resolves.toBe(false);
      expect(p.waiting).toBe(1);
      controller.abort();
      await expect(gone).resolves.toBe(false);
      expect(p.waiting).toBe(0);
      await expect(p.whenAvailable(0)).resolves.toBe(false);
    });
  });

  it('takes an upstream whose connection was lost out until its health says so, and reports ejections', () => {
    const ejected: string[] = [];
    const lost: string[] = [];
    const p = new UpstreamPool({
      random: () => 0,
      outlier: {
        consecutiveFailures: 1,
        baseEjectionMs: 1000,
        maxEjectionMs: 1000,
        intervalMs: 100,
        maxEjectionPercent: 50,
      },
      onEjected: (id) => ejected.push(id),
    });
    p.onLost = (upstream) => lost.push(upstream.id);
    p.add('a', 'http://127.0.0.1:1');
    p.add('b', 'http://127.0.0.1:2');
    const a = p.acquire();
    if (a === undefined) throw new Error('no upstream');
    p.release(a, true);
    p.markLost(a);
    p.markLost(a); // once
    expect(lost).toEqual(['a']);
    expect(p.view().find((u) => u.id === 'a')?.healthy).toBe(false);
    expect(p.acquire()?.id).toBe('b');
    p.setHealthy('a', true);
    expect(p.urlOf('a')).toBe('http://127.0.0.1:1');
    const again = p.acquire();
    if (again === undefined) throw new Error('no upstream');
    p.release(again, false);
    expect(ejected).toEqual([again.id]);
  });
});
