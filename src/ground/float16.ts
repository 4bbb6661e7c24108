/**
 * IEEE 754 binary16 conversion. Node 20 has no Float16Array, so FP16 tensors are kept as their
 * bit patterns (Uint16Array) and converted only where JSON needs numbers.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Half-precision bits to a number (exact). */
export function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** A number to half-precision bits, rounding to nearest even; overflow gives infinity. */
export function numberToHalf(value: number): number {
  f32[0] = value;
  let x = u32[0] ?? 0;
  // Rounding to FP32 and then to FP16 can round twice (1 + 2^-11 + 2^-40 would become a tie and go
  // to even). Rounding to odd in FP32 instead (truncate, then set the lowest bit when inexact)
  // keeps the one rounding to FP16 correct, since FP32 carries 13 more bits.
  const stored = Math.fround(value);
  if (stored !== value && Number.isFinite(value)) {
    if (Math.abs(stored) > Math.abs(value)) x -= 1;
    x = (x | 1) >>> 0;
  }
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  let mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa === 0 ? 0 : 0x200);
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - e;
    const half = mantissa >>> shift;
    const remainder = mantissa & ((1 << shift) - 1);
    const midpoint = 1 << (shift - 1);
    const rounded = remainder > midpoint || (remainder === midpoint && (half & 1) === 1) ? half + 1 : half;
    return sign | rounded;
  }
  const half = (e << 10) | (mantissa >>> 13);
  const remainder = mantissa & 0x1fff;
  const rounded = remainder > 0x1000 || (remainder === 0x1000 && (half & 1) === 1) ? half + 1 : half;
  return sign | rounded;
}

/** Largest finite FP16 value. */
export const HALF_MAX = 65504;
