/**
 * fast-check arbitraries of tensors for property-based tests: every datatype and shape, with
 * data drawn from every value (binary) or from what JSON can carry; and a comparison that knows
 * what "the same" means for each datatype.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import { DATATYPES, type Datatype, type Tensor, type TensorData } from '../../src/ground/index.js';

const utf8 = new TextEncoder();
const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** A shape of up to 3 dimensions of up to 4, and its element count. */
export const shapes = fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 });
export const count = (shape: readonly number[]) => shape.reduce((n, d) => n * d, 1);

/** The data of `n` elements of `datatype`: every value, or (json) those JSON can carry. */
export function dataOf(datatype: Datatype, n: number, json: boolean): fc.Arbitrary<TensorData> {
  const ints = (min: number, max: number, make: (v: number[]) => TensorData) =>
    fc.array(fc.integer({ min, max }), { minLength: n, maxLength: n }).map(make);
  switch (datatype) {
    case 'BOOL':
      return ints(0, 1, (v) => Uint8Array.from(v));
    case 'UINT8':
      return ints(0, 255, (v) => Uint8Array.from(v));
    case 'INT8':
      return ints(-128, 127, (v) => Int8Array.from(v));
    case 'UINT16':
      return ints(0, 65535, (v) => Uint16Array.from(v));
    case 'INT16':
      return ints(-32768, 32767, (v) => Int16Array.from(v));
    case 'UINT32':
      return ints(0, 2 ** 32 - 1, (v) => Uint32Array.from(v));
    case 'INT32':
      return ints(-(2 ** 31), 2 ** 31 - 1, (v) => Int32Array.from(v));
    // JSON: within 2^53, as berth's JSON reader takes (JSON.parse would round the rest).
    case 'UINT64':
      return fc
        .array(fc.bigInt({ min: 0n, max: json ? SAFE : 2n ** 64n - 1n }), { minLength: n, maxLength: n })
        .map((v) => BigUint64Array.from(v));
    case 'INT64':
      return fc
        .array(fc.bigInt({ min: json ? -SAFE : -(2n ** 63n), max: json ? SAFE : 2n ** 63n - 1n }), {
          minLength: n,
          maxLength: n,
        })
        .map((v) => BigInt64Array.from(v));
    case 'FP16':
      // Half-precision bit patterns; JSON: the finite ones (NaN and infinities have no number).
      return ints(0, 65535, (v) => Uint16Array.from(v)).filter(
        // (Nor negative zero, 0x8000: JSON numbers as berth writes them carry no sign of zero.)
        (bits) =>
          !json || Array.from(bits as Uint16Array).every((b) => (b & 0x7c00) !== 0x7c00 && b !== 0x8000),
      );
    case 'FP32':
      return fc
        .array(fc.float({ noNaN: json, noDefaultInfinity: json }), { minLength: n, maxLength: n })
        .map((v) => Float32Array.from(v));
    case 'FP64':
      return fc
        .array(fc.double({ noNaN: json, noDefaultInfinity: json }), { minLength: n, maxLength: n })
        .map((v) => Float64Array.from(v));
    case 'BYTES':
      return json
        ? fc
            .array(fc.string({ unit: 'grapheme', maxLength: 6 }), { minLength: n, maxLength: n })
            .map((v) => v.map((s) => utf8.encode(s)))
        : fc.array(fc.uint8Array({ maxLength: 6 }), { minLength: n, maxLength: n });
  }
}

/** A tensor named `name`; JSON ones only of values JSON can carry. */
export function tensor(name: string, json: boolean): fc.Arbitrary<Tensor> {
  return fc
    .tuple(fc.constantFrom(...DATATYPES), shapes)
    .chain(([datatype, shape]) =>
      dataOf(datatype, count(shape), json).map((data) => ({ name, datatype, shape, data })),
    );
}

/** Tensors with distinct names, each binary or JSON. */
export const tensors = fc
  .array(fc.boolean(), { minLength: 1, maxLength: 4 })
  .chain((binary) =>
    fc.tuple(...binary.map((b, i) => tensor(`t${i}`, !b).map((t) => ({ tensor: t, binary: b })))),
  );

/** Equal element by element: NaN equals NaN, and (JSON carries no sign of zero) -0 equals 0. */
export function expectSameTensors(actual: readonly Tensor[], expected: readonly Tensor[]): void {
  expect(actual.map((t) => [t.name, t.datatype, t.shape])).toEqual(
    expected.map((t) => [t.name, t.datatype, [...t.shape]]),
  );
  actual.forEach((tensor, i) => {
    const want = (expected[i] as Tensor).data;
    if (tensor.datatype === 'BYTES') {
      expect((tensor.data as Uint8Array[]).map((b) => [...b])).toEqual(
        (want as Uint8Array[]).map((b) => [...b]),
      );
      return;
    }
    const got = Array.from(tensor.data as ArrayLike<number | bigint>);
    const wanted = Array.from(want as ArrayLike<number | bigint>);
    expect(got.length).toBe(wanted.length);
    got.forEach((value, j) => {
      const other = wanted[j];
      const same = Object.is(value, other) || value === other || (Number.isNaN(value) && Number.isNaN(other));
      if (!same) expect(value).toBe(other);
    });
  });
}
