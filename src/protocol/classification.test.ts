import { describe, expect, it } from 'vitest';
import { classificationCount, classify } from './classification.js';
import { BerthError, numberToHalf } from '../ground/index.js';

const text = (data: unknown) => (data as Uint8Array[]).map((b) => new TextDecoder().decode(b));

describe('classification extension', () => {
  it('returns the top classes per batch item as "value:index", highest first', () => {
    const scores = {
      name: 'p',
      datatype: 'FP32' as const,
      shape: [2, 3],
      data: new Float32Array([0.1, 0.7, 0.2, 0.5, 0.25, 0.25]),
    };
    const out = classify(scores, 2, true);
    expect(out).toMatchObject({ name: 'p', datatype: 'BYTES', shape: [2, 2] });
    expect(text(out.data)).toEqual(['0.700000:1', '0.200000:2', '0.500000:0', '0.250000:1']);
  });

  it('classifies over the whole tensor without a batch dimension, and caps the count', () => {
    const out = classify(
      { name: 'y', datatype: 'INT32', shape: [4], data: new Int32Array([3, 9, -1, 9]) },
      10,
      false,
    );
    expect(out.shape).toEqual([4]);
    expect(text(out.data)).toEqual(['9:1', '9:3', '3:0', '-1:2']);
  });

  it('reads FP16 and INT64 values', () => {
    const half = classify(
      {
        name: 'h',
        datatype: 'FP16',
        shape: [2],
        data: new Uint16Array([numberToHalf(0.5), numberToHalf(2)]),
      },
      1,
      false,
    );
    expect(text(half.data)).toEqual(['2.000000:1']);
    const big = classify(
      { name: 'i', datatype: 'INT64', shape: [2], data: new BigInt64Array([5n, 7n]) },
      1,
      false,
    );
    expect(text(big.data)).toEqual(['7:1']);
  });

  it('refuses non-numeric outputs and bad counts with the output named', () => {
    expect(() =>
      classify({ name: 's', datatype: 'BYTES', shape: [1], data: [new Uint8Array()] }, 1, false),
    ).toThrow(/output "s": classification needs a numeric output/);
    for (const value of [0, -1, 1.5, 'x', true]) {
      expect(() => classificationCount({ name: 'o', parameters: { classification: value } })).toThrow(
        BerthError,
      );
    }
    expect(classificationCount({ name: 'o' })).toBeUndefined();
    expect(classificationCount({ name: 'o', parameters: { classification: 3 } })).toBe(3);
  });
});
