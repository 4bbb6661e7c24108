import { describe, expect, it } from 'vitest';
import { isFull, parseRate, takeToken, type Bucket } from './token-bucket.js';

describe('takeToken', () => {
  const policy = { perSecond: 10, burst: 3 };

  it('lets a burst through, then one request per 1/rate, on the fake clock', () => {
    let bucket: Bucket | undefined;
    const outcomes: string[] = [];
    for (const now of [0, 0, 0, 0, 50, 100, 100, 200]) {
      const take = takeToken(bucket, policy, now);
      bucket = take.bucket;
      outcomes.push(take.allowed ? `ok r=${take.remaining}` : `no after=${take.retryAfterMs}`);
    }
    expect(outcomes).toEqual([
      'ok r=2',
      'ok r=1',
      'ok r=0',
      'no after=100',
      'no after=50',
      'ok r=0',
      'no after=100',
      'ok r=0',
    ]);
  });

  it('refills to the burst and no further, and says when it is full', () => {
    const empty = { tokens: 0, at: 0 };
    expect(takeToken(empty, policy, 10_000).remaining).toBe(2);
    expect(takeToken(empty, policy, 0).resetMs).toBe(300);
    expect(isFull(empty, policy, 299)).toBe(false);
    expect(isFull(empty, policy, 300)).toBe(true);
  });

  it('does not refill backwards when the clock does', () => {
    const take = takeToken({ tokens: 0.5, at: 1000 }, policy, 900);
    expect(take.allowed).toBe(false);
    expect(take.retryAfterMs).toBe(50);
  });
});

describe('parseRate', () => {
  it('reads per second, minute and hour', () => {
    expect(parseRate('100/s')).toBe(100);
    expect(parseRate('600/m')).toBe(10);
    expect(parseRate('3600/h')).toBe(1);
    expect(parseRate(' 2.5 / sec ')).toBe(2.5);
    for (const bad of ['100', '0/s', '-1/s', '10/d', 'many/s', '']) expect(parseRate(bad)).toBeUndefined();
  });
});
