import { describe, expect, it } from 'vitest';

import { HALF_MAX, halfToNumber, numberToHalf } from './float16.js';

const MIN_NORMAL = 2 ** -14; // 6.103515625e-5
const MIN_SUBNORMAL = 2 ** -24; // 5.960464477539063e-8

function isNaNBits(bits: number): boolean {
  return (bits & 0x7c00) === 0x7c00 && (bits & 0x3ff) !== 0;
}

/**
 * Reference double -> half conversion: the nearest half, ties to the even bit pattern, values at
 * or beyond 65520 (half way from 65504 to 2^16) to infinity. Works on exact double arithmetic:
 * every half and every midpoint of two adjacent halves is a double.
 */
function referenceHalf(value: number): number {
  const sign = value < 0 || Object.is(value, -0) ? 0x8000 : 0;
  const a = Math.abs(value);
  if (a >= 65520) return sign | 0x7c00;
  let lo = 0;
  let hi = 0x7bff;
  // Largest bit pattern whose value is <= a (positive halves are ordered like their bits).
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (halfToNumber(mid) <= a) lo = mid;
    else hi = mid - 1;
  }
  const below = lo;
  if (halfToNumber(below) === a || below === 0x7bff) return sign | below;
  const above = below + 1;
  const midpoint = (halfToNumber(below) + halfToNumber(above)) / 2;
  if (a < midpoint) return sign | below;
  if (a > midpoint) return sign | above;
  return sign | ((below & 1) === 0 ? below : above);
}

/** A small deterministic generator so failures reproduce. */
function* randoms(seed: number, count: number): Generator<number> {
  let state = seed >>> 0;
  for (let i = 0; i < count; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    yield state / 2 ** 32;
  }
}

describe('halfToNumber', () => {
  it.each(
    [
      { bits: 0x0000, value: 0 },
      { bits: 0x3c00, value: 1 },
      { bits: 0xc000, value: -2 },
      { bits: 0x3800, value: 0.5 },
      { bits: 0x3555, value: 0.333251953125 },
      { bits: 0x7bff, value: 65504 },
      { bits: 0xfbff, value: -65504 },
      { bits: 0x0400, value: MIN_NORMAL },
      { bits: 0x03ff, value: MIN_NORMAL - MIN_SUBNORMAL },
      { bits: 0x0001, value: MIN_SUBNORMAL },
      { bits: 0x7c00, value: Infinity },
      { bits: 0xfc00, value: -Infinity },
    ].map((c) => ({ ...c, hex: c.bits.toString(16) })),
  )('reads 0x$hex as $value', ({ bits, value }) => {
    expect(halfToNumber(bits)).toBe(value);
  });

  it('keeps the sign of zero', () => {
    expect(Object.is(halfToNumber(0x8000), -0)).toBe(true);
    expect(Object.is(halfToNumber(0x0000), 0)).toBe(true);
  });

  it('reads every NaN pattern as NaN', () => {
    for (const bits of [0x7e00, 0x7c01, 0x7fff, 0xfe00, 0xfc01]) expect(halfToNumber(bits)).toBeNaN();
  });
});

describe('numberToHalf', () => {
  it.each(
    [
      { value: 0, bits: 0x0000 },
      { value: 1, bits: 0x3c00 },
      { value: -2, bits: 0xc000 },
      { value: 65504, bits: 0x7bff },
      { value: -65504, bits: 0xfbff },
      { value: 6.1035e-5, bits: 0x0400 },
      { value: MIN_NORMAL, bits: 0x0400 },
      { value: 5.96e-8, bits: 0x0001 },
      { value: MIN_SUBNORMAL, bits: 0x0001 },
      { value: Infinity, bits: 0x7c00 },
      { value: -Infinity, bits: 0xfc00 },
      { value: 0.1, bits: 0x2e66 },
      { value: 1e-10, bits: 0x0000 },
    ].map((c) => ({ ...c, hex: c.bits.toString(16) })),
  )('writes $value as 0x$hex', ({ value, bits }) => {
    expect(numberToHalf(value)).toBe(bits);
  });

  it('keeps the sign of zero and of values that underflow to zero', () => {
    expect(numberToHalf(-0)).toBe(0x8000);
    expect(numberToHalf(-1e-10)).toBe(0x8000);
  });

  it('writes NaN as a NaN pattern', () => {
    expect(isNaNBits(numberToHalf(NaN))).toBe(true);
  });

  it('rounds to nearest, ties to even', () => {
    const ulp = 2 ** -10; // spacing of halves in [1, 2)
    expect(numberToHalf(1 + ulp / 2)).toBe(0x3c00); // tie: 0x3c00 is even
    expect(numberToHalf(1 + ulp * 1.5)).toBe(0x3c02); // tie: 0x3c02 is even
    expect(numberToHalf(1 + ulp * 0.49)).toBe(0x3c00);
    expect(numberToHalf(1 + ulp * 0.51)).toBe(0x3c01);
    // Ties in the subnormal range.
    expect(numberToHalf(MIN_SUBNORMAL / 2)).toBe(0x0000);
    expect(numberToHalf(MIN_SUBNORMAL * 1.5)).toBe(0x0002);
    expect(numberToHalf(MIN_SUBNORMAL * 2.5)).toBe(0x0002);
    // The largest subnormal rounds up into the smallest normal.
    expect(numberToHalf(MIN_NORMAL - MIN_SUBNORMAL / 4)).toBe(0x0400);
  });

  it('rounds once: values just above a tie round up even when FP32 cannot hold them', () => {
    // 1 + 2^-11 is a tie between 0x3c00 and 0x3c01; anything above it is nearer 0x3c01. Rounding
    // through FP32 first would land exactly on the tie and go to even (0x3c00).
    expect(numberToHalf(1 + 2 ** -11 + 2 ** -40)).toBe(0x3c01);
    expect(numberToHalf(-(1 + 2 ** -11 + 2 ** -40))).toBe(0xbc01);
    expect(numberToHalf(1 + 3 * 2 ** -11 - 2 ** -40)).toBe(0x3c01);
    expect(numberToHalf(2 ** -25 + 2 ** -60)).toBe(0x0001);
  });

  it('overflows to infinity from 65520 up, and rounds below that to 65504', () => {
    expect(numberToHalf(65519)).toBe(0x7bff);
    expect(numberToHalf(65519.99)).toBe(0x7bff);
    expect(numberToHalf(65520)).toBe(0x7c00);
    expect(numberToHalf(-65520)).toBe(0xfc00);
    expect(numberToHalf(1e6)).toBe(0x7c00);
    expect(numberToHalf(1e300)).toBe(0x7c00);
    expect(numberToHalf(-3.5e38)).toBe(0xfc00);
    expect(HALF_MAX).toBe(65504);
  });

  it('round-trips every non-NaN bit pattern', () => {
    const mismatches: number[] = [];
    for (let bits = 0; bits < 0x10000; bits++) {
      const value = halfToNumber(bits);
      if (isNaNBits(bits)) {
        expect(value).toBeNaN();
        continue;
      }
      if (numberToHalf(value) !== bits) mismatches.push(bits);
    }
    expect(mismatches).toEqual([]);
  });

  it('agrees with an exact reference on values between, at and around every half', () => {
    const mismatches: string[] = [];
    const check = (value: number): void => {
      const got = numberToHalf(value);
      const want = referenceHalf(value);
      if (got !== want && mismatches.length < 10) mismatches.push(`${value}: got ${got}, want ${want}`);
    };
    for (let bits = 0; bits < 0x7bff; bits++) {
      const lo = halfToNumber(bits);
      const hi = halfToNumber(bits + 1);
      const mid = (lo + hi) / 2;
      for (const v of [mid, mid + (hi - lo) * 2 ** -30, mid - (hi - lo) * 2 ** -30, lo + (hi - lo) / 3]) {
        check(v);
        check(-v);
      }
    }
    for (const r of randoms(42, 20_000)) check((r - 0.5) * 2 ** (Math.floor(r * 1e6) % 50) * 2 ** -26);
    expect(mismatches).toEqual([]);
  });
});
