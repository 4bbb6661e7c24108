import { describe, expect, it } from 'vitest';
import { pickUpstream, pickWeighted } from './balancer.js';

/** A random source that returns the given draws in turn. */
const draws = (...values: number[]) => {
  let i = 0;
  return () => values[i++ % values.length] as number;
};

describe('pickUpstream', () => {
  const upstreams = [
    { id: 'a', outstanding: 4 },
    { id: 'b', outstanding: 1 },
    { id: 'c', outstanding: 7 },
  ];

  it('takes the less loaded of the two it draws', () => {
    expect(pickUpstream(upstreams, draws(0, 0))?.id).toBe('b'); // a and b
    expect(pickUpstream(upstreams, draws(0.9, 0))?.id).toBe('a'); // c and a
    expect(pickUpstream(upstreams, draws(0.9, 0.6))?.id).toBe('b'); // c and b
  });

  it('never draws the same upstream twice', () => {
    for (const first of [0, 0.34, 0.67, 0.99]) {
      for (const second of [0, 0.5, 0.99]) {
        const seen: string[] = [];
        const spy = upstreams.map((u) => ({
          ...u,
          get outstanding() {
            seen.push(u.id);
            return u.outstanding;
          },
        }));
        pickUpstream(spy, draws(first, second));
        expect(new Set(seen).size).toBe(2);
      }
    }
  });

  it('keeps the first drawn on a tie, and handles one or no candidate', () => {
    const tied = [
      { id: 'x', outstanding: 2 },
      { id: 'y', outstanding: 2 },
    ];
    expect(pickUpstream(tied, draws(0.9, 0))?.id).toBe('y');
    expect(pickUpstream([{ id: 'only', outstanding: 99 }], Math.random)?.id).toBe('only');
    expect(pickUpstream<{ id: string; outstanding: number }>([], Math.random)).toBeUndefined();
  });

  it('spreads load towards the less loaded over many picks', () => {
    let seed = 1;
    const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    const counts = new Map<string, number>();
    for (let i = 0; i < 3000; i++) {
      const id = pickUpstream(upstreams, random)?.id ?? '';
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    // b (least loaded) wins whenever drawn (2/3 of picks); c (most loaded) never wins.
    expect(counts.get('c')).toBeUndefined();
    expect(counts.get('b') ?? 0).toBeGreaterThan(1800);
  });
});

describe('pickWeighted', () => {
  const weights = new Map([
    ['stable', 90],
    ['canary', 10],
  ]);

  it('gives each key a share of the draws proportional to its weight', () => {
    expect(pickWeighted(weights, () => 0)).toBe('stable');
    expect(pickWeighted(weights, () => 0.899)).toBe('stable');
    expect(pickWeighted(weights, () => 0.9)).toBe('canary');
    expect(pickWeighted(weights, () => 0.9999)).toBe('canary');
  });

  it('skips zero, negative and non-finite weights, and has no answer when all are zero', () => {
    const odd = new Map([
      ['zero', 0],
      ['negative', -5],
      ['nan', NaN],
      ['real', 1],
    ]);
    expect(pickWeighted(odd, () => 0.5)).toBe('real');
    expect(pickWeighted(new Map([['a', 0]]), () => 0.5)).toBeUndefined();
    expect(pickWeighted(new Map(), () => 0.5)).toBeUndefined();
  });
});
