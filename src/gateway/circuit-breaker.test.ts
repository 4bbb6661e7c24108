import { describe, expect, it } from 'vitest';
import { CircuitBreaker, type BreakerPolicy } from './circuit-breaker.js';

const policy: BreakerPolicy = { failures: 3, coolDownMs: 100, maxCoolDownMs: 350, probes: 1 };

function opened(now = 0): CircuitBreaker {
  const breaker = new CircuitBreaker(policy);
  for (let i = 0; i < 3; i++) breaker.record(false, now);
  return breaker;
}

describe('CircuitBreaker', () => {
  it('opens after the configured failures in a row; a success resets the count', () => {
    const breaker = new CircuitBreaker(policy);
    breaker.record(false, 0);
    breaker.record(false, 0);
    breaker.record(true, 0);
    breaker.record(false, 0);
    breaker.record(false, 0);
    expect(breaker.state(0)).toBe('closed');
    breaker.record(false, 0);
    expect(breaker.state(0)).toBe('open');
    expect(breaker.tryAcquire(50)).toBe(false);
    expect(breaker.reopensAt(50)).toBe(100);
    expect(breaker.opened).toBe(1);
  });

  it('half-opens after the cool-down and lets only the probes through', () => {
    const breaker = opened();
    expect(breaker.state(100)).toBe('half-open');
    expect(breaker.tryAcquire(100)).toBe(true);
    expect(breaker.tryAcquire(100)).toBe(false);
  });

  it('closes when a probe succeeds', () => {
    const breaker = opened();
    breaker.tryAcquire(100);
    breaker.record(true, 110);
    expect(breaker.state(110)).toBe('closed');
    expect(breaker.tryAcquire(110)).toBe(true);
  });

  it('reopens for twice as long when a probe fails, up to the maximum, and resets once closed', () => {
    const breaker = opened();
    const reopenings: number[] = [];
    let now = 100;
    for (let i = 0; i < 4; i++) {
      expect(breaker.tryAcquire(now)).toBe(true);
      breaker.record(false, now);
      const at = breaker.reopensAt(now) ?? NaN;
      reopenings.push(at - now);
      now = at;
    }
    expect(reopenings).toEqual([200, 350, 350, 350]);
    breaker.tryAcquire(now);
    breaker.record(true, now);
    for (let i = 0; i < 3; i++) breaker.record(false, now);
    expect((breaker.reopensAt(now) ?? NaN) - now).toBe(100);
  });

  it('ignores outcomes of requests that were sent before it opened', () => {
    const breaker = opened();
    breaker.record(true, 10);
    expect(breaker.state(10)).toBe('open');
  });

  it('refuses a policy that cannot work', () => {
    expect(() => new CircuitBreaker({ ...policy, failures: 0 })).toThrow('failures');
    expect(() => new CircuitBreaker({ ...policy, maxCoolDownMs: 1 })).toThrow('coolDownMs');
    expect(() => new CircuitBreaker({ ...policy, probes: 0 })).toThrow('probes');
  });
});
