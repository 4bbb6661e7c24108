import { describe, expect, it } from 'vitest';
import { HealthVerdicts } from './active-health.js';

describe('HealthVerdicts', () => {
  it('turns unhealthy after the failures in a row, and healthy on the first pass', () => {
    const verdicts = new HealthVerdicts(2);
    expect(verdicts.record('r1', false)).toBeUndefined();
    expect(verdicts.record('r1', true)).toBeUndefined(); // a pass resets the count
    expect(verdicts.record('r1', false)).toBeUndefined();
    expect(verdicts.record('r1', false)).toBe('unhealthy');
    expect(verdicts.record('r1', false)).toBeUndefined(); // said once
    expect(verdicts.record('r1', true)).toBe('healthy');
    expect(verdicts.record('r1', true)).toBeUndefined();
  });

  it('keeps upstreams apart, forgets removed ones, and restores one marked lost on its first pass', () => {
    const verdicts = new HealthVerdicts(3);
    verdicts.markUnhealthy('r1');
    expect(verdicts.record('r2', false)).toBeUndefined();
    expect(verdicts.record('r1', false)).toBeUndefined();
    expect(verdicts.record('r1', true)).toBe('healthy');
    verdicts.record('r2', false);
    verdicts.forget('r2');
    expect(verdicts.record('r2', false)).toBeUndefined();
    expect(verdicts.record('r2', false)).toBeUndefined();
    expect(verdicts.record('r2', false)).toBe('unhealthy');
  });

  it('refuses a threshold that is not a positive integer', () => {
    expect(() => new HealthVerdicts(0)).toThrow(RangeError);
    expect(() => new HealthVerdicts(1.5)).toThrow(RangeError);
  });
});
