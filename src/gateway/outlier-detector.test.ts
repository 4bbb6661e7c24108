import { describe, expect, it } from 'vitest';
import { DEFAULT_OUTLIER_POLICY, OutlierDetector, type OutlierPolicy } from './outlier-detector.js';

const policy: OutlierPolicy = {
  consecutiveFailures: 3,
  baseEjectionMs: 1000,
  maxEjectionMs: 2500,
  intervalMs: 500,
  maxEjectionPercent: 10,
};

function detector(ids: string[], p = policy): OutlierDetector {
  const outliers = new OutlierDetector(p);
  for (const id of ids) outliers.add(id, 0);
  return outliers;
}

function fail(outliers: OutlierDetector, id: string, times: number, now: number): ('ejected' | undefined)[] {
  return Array.from({ length: times }, () => outliers.record(id, false, now));
}

describe('OutlierDetector', () => {
  it("has Envoy's defaults", () => {
    expect(DEFAULT_OUTLIER_POLICY).toEqual({
      consecutiveFailures: 5,
      baseEjectionMs: 30_000,
      maxEjectionMs: 300_000,
      intervalMs: 10_000,
      maxEjectionPercent: 10,
    });
  });

  it('ejects after the configured failures in a row, and a success resets the count', () => {
    const outliers = detector(['a', 'b']);
    expect(fail(outliers, 'a', 2, 0)).toEqual([undefined, undefined]);
    outliers.record('a', true, 0);
    expect(fail(outliers, 'a', 2, 0)).toEqual([undefined, undefined]);
    expect(outliers.isEjected('a', 0)).toBe(false);
    expect(outliers.record('a', false, 0)).toBe('ejected');
    expect(outliers.isEjected('a', 0)).toBe(true);
    expect(outliers.isEjected('b', 0)).toBe(false);
  });

  it('returns an upstream when its ejection is over, and ignores answers that arrive meanwhile', () => {
    const outliers = detector(['a', 'b']);
    fail(outliers, 'a', 3, 0);
    expect(fail(outliers, 'a', 5, 500)).toEqual(Array(5).fill(undefined));
    expect(outliers.isEjected('a', 999)).toBe(true);
    expect(outliers.isEjected('a', 1000)).toBe(false);
    expect(outliers.state('a', 1000)).toMatchObject({ consecutiveFailures: 0, multiplier: 1, ejections: 1 });
  });

  it('ejects for longer each time in a row, up to the maximum', () => {
    const outliers = detector(['a', 'b']);
    const lengths: number[] = [];
    let now = 0;
    for (let i = 0; i < 4; i++) {
      fail(outliers, 'a', 3, now);
      const until = outliers.state('a', now)?.ejectedUntil ?? NaN;
      lengths.push(until - now);
      now = until;
    }
    expect(lengths).toEqual([1000, 2000, 2500, 2500]);
  });

  it('steps the multiplier down one per interval while the upstream stays healthy', () => {
    const outliers = detector(['a', 'b']);
    fail(outliers, 'a', 3, 0); // until 1000, multiplier 1
    fail(outliers, 'a', 3, 1000); // until 3000, multiplier 2
    expect(outliers.state('a', 3000)?.multiplier).toBe(2);
    expect(outliers.state('a', 3499)?.multiplier).toBe(2);
    expect(outliers.state('a', 3500)?.multiplier).toBe(1);
    expect(outliers.state('a', 4000)?.multiplier).toBe(0);
    fail(outliers, 'a', 3, 4000);
    expect(outliers.state('a', 4000)?.ejectedUntil).toBe(5000);
  });

  it('never ejects past the share allowed, but always allows one of two or more', () => {
    const ids = Array.from({ length: 20 }, (_, i) => `r${i}`);
    const outliers = detector(ids);
    for (const id of ids) fail(outliers, id, 3, 0);
    expect(outliers.ejectedCount(0)).toBe(2); // 10 % of 20
    const pair = detector(['a', 'b']);
    fail(pair, 'a', 3, 0);
    fail(pair, 'b', 3, 0);
    expect([pair.isEjected('a', 0), pair.isEjected('b', 0)]).toEqual([true, false]);
  });

  it('never ejects a lone upstream: a degraded answer beats none', () => {
    const outliers = detector(['only']);
    expect(fail(outliers, 'only', 10, 0)).not.toContain('ejected');
  });

  it('restores an upstream at once when an active check passes', () => {
    const outliers = detector(['a', 'b']);
    fail(outliers, 'a', 3, 0);
    outliers.restore('a', 10);
    expect(outliers.isEjected('a', 10)).toBe(false);
    expect(outliers.state('a', 10)?.consecutiveFailures).toBe(0);
  });

  it('forgets removed upstreams and ignores unknown ones', () => {
    const outliers = detector(['a', 'b']);
    outliers.remove('a');
    expect(outliers.record('a', false, 0)).toBeUndefined();
    expect(outliers.isEjected('a', 0)).toBe(false);
    expect(outliers.state('a', 0)).toBeUndefined();
  });

  it('refuses a policy that cannot work', () => {
    expect(() => new OutlierDetector({ ...policy, consecutiveFailures: 0 })).toThrow('consecutiveFailures');
    expect(() => new OutlierDetector({ ...policy, maxEjectionMs: 10 })).toThrow('maxEjectionMs');
  });
});
