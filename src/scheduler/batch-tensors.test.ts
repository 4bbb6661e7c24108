import { describe, expect, it } from 'vitest';
import type { Tensor } from '../ground/index.js';
import { batchKey, batchSizeOf, mergeBatch, splitBatch } from './batch-tensors.js';

const f32 = (name: string, shape: number[], values: number[]): Tensor => ({
  name,
  datatype: 'FP32',
  shape,
  data: new Float32Array(values),
});
const utf8 = (s: string) => new TextEncoder().encode(s);

describe('batch tensors', () => {
  it('keys requests by input names, datatypes and non-batch dims only', () => {
    expect(batchKey([f32('x', [1, 4], [0, 0, 0, 0])])).toBe(
      batchKey([f32('x', [3, 4], new Array<number>(12).fill(0))]),
    );
    expect(batchKey([f32('x', [1, 4], [0, 0, 0, 0])])).not.toBe(
      batchKey([f32('x', [1, 5], [0, 0, 0, 0, 0])]),
    );
    expect(batchSizeOf([f32('x', [3, 1], [1, 2, 3])])).toBe(3);
  });

  it('merges along dimension 0, copying each input once, and splits outputs back as views', () => {
    const { inputs, sizes } = mergeBatch([[f32('x', [1, 2], [1, 2])], [f32('x', [2, 2], [3, 4, 5, 6])]]);
    expect(sizes).toEqual([1, 2]);
    expect(inputs[0]?.shape).toEqual([3, 2]);
    expect(Array.from(inputs[0]?.data as Float32Array)).toEqual([1, 2, 3, 4, 5, 6]);
    const output = f32('y', [3, 2], [10, 20, 30, 40, 50, 60]);
    const [first, second] = splitBatch([output], sizes);
    expect(first?.[0]?.shape).toEqual([1, 2]);
    expect(Array.from(second?.[0]?.data as Float32Array)).toEqual([30, 40, 50, 60]);
    expect((second?.[0]?.data as Float32Array).buffer).toBe((output.data as Float32Array).buffer);
  });

  it('merges and splits BYTES tensors', () => {
    const bytes = (values: string[]): Tensor => ({
      name: 's',
      datatype: 'BYTES',
      shape: [values.length],
      data: values.map(utf8),
    });
    const { inputs, sizes } = mergeBatch([[bytes(['a'])], [bytes(['b', 'c'])]]);
    expect(inputs[0]?.shape).toEqual([3]);
    const parts = splitBatch(inputs, sizes);
    expect(parts.map((p) => (p[0]?.data as Uint8Array[]).map((b) => new TextDecoder().decode(b)))).toEqual([
      ['a'],
      ['b', 'c'],
    ]);
  });

  it('refuses outputs whose first dimension is not the batch', () => {
    expect(() => splitBatch([f32('y', [2], [1, 2])], [1, 2])).toThrow(/does not batch along dimension 0/);
  });
});
