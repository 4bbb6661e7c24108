import { describe, expect, it } from 'vitest';
import { numberToHalf, type InferResponse, type Tensor } from '../ground/index.js';
import { compareAnswers, DEFAULT_AGREEMENT, type AgreementPolicy } from './prediction-agreement.js';

const fp32 = (name: string, shape: number[], values: number[]): Tensor => ({
  name,
  datatype: 'FP32',
  shape,
  data: Float32Array.from(values),
});
const answer = (...outputs: Tensor[]): InferResponse => ({ modelName: 'm', modelVersion: '1', outputs });
const tolerance: AgreementPolicy = { mode: 'tolerance', absolute: 1e-3, relative: 1e-2 };

describe('compareAnswers', () => {
  it('agrees on the same class per row even when the scores move (argmax)', () => {
    const stable = answer(fp32('probs', [2, 3], [0.1, 0.7, 0.2, 0.5, 0.3, 0.2]));
    const calibrated = answer(fp32('probs', [2, 3], [0.2, 0.5, 0.3, 0.9, 0.05, 0.05]));
    expect(compareAnswers(stable, calibrated)).toEqual({ agree: true });
    const flipped = answer(fp32('probs', [2, 3], [0.1, 0.7, 0.2, 0.1, 0.8, 0.1]));
    expect(compareAnswers(stable, flipped)).toEqual({
      agree: false,
      reason: 'output "probs": row 1 chooses index 1, the stable version 0',
    });
  });

  it('takes the first of equal maxima, and never a NaN, as numpy does', () => {
    const stable = answer(fp32('s', [1, 3], [0.5, 0.5, 0.1]));
    expect(compareAnswers(stable, answer(fp32('s', [1, 3], [0.5, NaN, 0.5])))).toEqual({ agree: true });
  });

  it('compares elements within absolute + relative tolerance', () => {
    const stable = answer(fp32('y', [3], [1, 100, 0]));
    expect(compareAnswers(stable, answer(fp32('y', [3], [1.005, 100.9, 0.0009])), tolerance).agree).toBe(
      true,
    );
    expect(compareAnswers(stable, answer(fp32('y', [3], [1, 102, 0])), tolerance)).toEqual({
      agree: false,
      reason: 'output "y": element 1 is 102, the stable version 100',
    });
  });

  it('reads FP16 as numbers and INT64 as integers', () => {
    const half = (values: number[]): Tensor => ({
      name: 'h',
      datatype: 'FP16',
      shape: [1, values.length],
      data: Uint16Array.from(values.map(numberToHalf)),
    });
    expect(compareAnswers(answer(half([0.1, 3, 2])), answer(half([0.2, 2.5, 2.4]))).agree).toBe(true);
    expect(compareAnswers(answer(half([0.1, 3, 2])), answer(half([4, 2.5, 2.4]))).agree).toBe(false);
    const int64 = (values: bigint[]): Tensor => ({
      name: 'i',
      datatype: 'INT64',
      shape: [values.length],
      data: BigInt64Array.from(values),
    });
    expect(compareAnswers(answer(int64([1n, 9n])), answer(int64([1n, 9n])), tolerance).agree).toBe(true);
    expect(compareAnswers(answer(int64([1n, 9n])), answer(int64([1n, 7n])), tolerance).agree).toBe(false);
  });

  it('requires BYTES outputs to be equal byte for byte', () => {
    const bytes = (...texts: string[]): Tensor => ({
      name: 'label',
      datatype: 'BYTES',
      shape: [texts.length],
      data: texts.map((t) => new TextEncoder().encode(t)),
    });
    expect(compareAnswers(answer(bytes('cat', 'dog')), answer(bytes('cat', 'dog'))).agree).toBe(true);
    expect(compareAnswers(answer(bytes('cat', 'dog')), answer(bytes('cat', 'dot')))).toEqual({
      agree: false,
      reason: 'output "label": element 1 differs',
    });
  });

  it('disagrees on a missing output, another datatype or another shape', () => {
    const stable = answer(fp32('a', [1, 2], [1, 2]));
    expect(compareAnswers(stable, answer(fp32('b', [1, 2], [1, 2]))).reason).toBe(
      'output "a" is missing from the candidate answer',
    );
    expect(
      compareAnswers(
        stable,
        answer({ ...fp32('a', [1, 2], [1, 2]), datatype: 'FP64', data: Float64Array.from([1, 2]) }),
      ).reason,
    ).toBe('output "a": datatype FP32 against FP64');
    expect(compareAnswers(stable, answer(fp32('a', [2, 1], [1, 2]))).reason).toBe(
      'output "a": shape [1,2] against [2,1]',
    );
  });

  it('compares only the outputs the policy names', () => {
    const stable = answer(fp32('keep', [1, 2], [1, 0]), fp32('noise', [1, 2], [0, 1]));
    const candidate = answer(fp32('keep', [1, 2], [1, 0]), fp32('noise', [1, 2], [1, 0]));
    expect(compareAnswers(stable, candidate).agree).toBe(false);
    expect(compareAnswers(stable, candidate, { ...DEFAULT_AGREEMENT, outputs: ['keep'] }).agree).toBe(true);
  });
});
