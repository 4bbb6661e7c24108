import { describe, expect, it } from 'vitest';
import { BodyPool, MIN_POOLED_BYTES } from './body-pool.js';

describe('BodyPool', () => {
  it('hands back a returned buffer of the same size class instead of allocating', () => {
    // Identity checks as booleans: toBe on 1 MiB buffers spends seconds formatting them.
    const pool = new BodyPool({ maxIdleBytes: 8 << 20 });
    const first = pool.take(600_000);
    expect(first.byteLength).toBe(1 << 20);
    pool.give(first);
    expect(pool.retainedBytes).toBe(1 << 20);
    expect(pool.take(700_000) === first).toBe(true);
    expect(pool.retainedBytes).toBe(0);
    expect(pool.take(600_000) === first).toBe(false);
  });

  it('keeps size classes apart', () => {
    const pool = new BodyPool({ maxIdleBytes: 8 << 20 });
    const small = pool.take(MIN_POOLED_BYTES);
    pool.give(small);
    const big = pool.take(MIN_POOLED_BYTES + 1);
    expect(big === small).toBe(false);
    expect(big.byteLength).toBe(2 * MIN_POOLED_BYTES);
  });

  it('pools small bodies in the smallest class', () => {
    const pool = new BodyPool({ maxIdleBytes: 8 << 20 });
    const tiny = pool.take(397);
    expect(tiny.byteLength).toBe(MIN_POOLED_BYTES);
    pool.give(tiny);
    expect(pool.take(1) === tiny).toBe(true);
    const small = pool.take(1000);
    expect(small.byteLength).toBe(1024);
  });

  it('does not pool views or foreign buffers', () => {
    const pool = new BodyPool({ maxIdleBytes: 8 << 20 });
    pool.give(pool.take(1 << 20).subarray(8));
    pool.give(Buffer.allocUnsafeSlow(1000));
    pool.give(Buffer.allocUnsafeSlow(300_000));
    expect(pool.retainedBytes).toBe(0);
  });

  it('stops keeping buffers past maxIdleBytes', () => {
    const pool = new BodyPool({ maxIdleBytes: 3 << 20 });
    const taken = [1, 2, 3, 4].map(() => pool.take(1 << 20));
    for (const buffer of taken) pool.give(buffer);
    expect(pool.retainedBytes).toBe(3 << 20);
  });
});
