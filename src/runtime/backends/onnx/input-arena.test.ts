import { describe, expect, it } from 'vitest';
import { ArenaPool, InputArena } from './input-arena.js';

describe('InputArena', () => {
  it('hands out aligned views over one buffer until it is full', () => {
    const arena = new InputArena(new ArrayBuffer(64));
    const a = arena.allocate('FP32', 3);
    const b = arena.allocate('FP64', 2);
    expect(a?.buffer).toBe(arena.buffer);
    expect(a?.byteOffset).toBe(0);
    expect(b?.byteOffset).toBe(16);
    expect(b).toBeInstanceOf(Float64Array);
    expect(arena.allocate('UINT8', 40)).toBeUndefined();
  });
});

describe('ArenaPool', () => {
  it('reuses a returned buffer that is large enough, the smallest first', () => {
    const pool = new ArenaPool(4);
    const big = new ArrayBuffer(4096);
    const small = new ArrayBuffer(256);
    pool.give(big);
    pool.give(small);
    expect(pool.take(100, 1).buffer).toBe(small);
    expect(pool.take(100, 1).buffer).toBe(big);
    expect(pool.take(100, 1).buffer).not.toBe(big);
  });

  it('keeps at most maxKept buffers, preferring larger ones, and drops detached or oversized ones', () => {
    const pool = new ArenaPool(1, 1024);
    const kept = new ArrayBuffer(512);
    pool.give(kept);
    pool.give(new ArrayBuffer(128));
    pool.give(new ArrayBuffer(2048));
    pool.give(new ArrayBuffer(0));
    expect(pool.take(64, 1).buffer).toBe(kept);
    expect(pool.take(64, 1).buffer).not.toBe(kept);
  });
});
