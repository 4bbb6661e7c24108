import { describe, expect, it } from 'vitest';
import {
  INLINE_MAX_BATCH_MS,
  INLINE_MAX_COMPUTE_MS,
  INLINE_MAX_MODEL_BYTES,
  inlineObstacle,
  mayRunInline,
  placementOf,
} from './placement.js';

describe('placement', () => {
  it('tries inline only for CPU models, small ones unless asked', () => {
    const small = { execution: 'cpu', modelBytes: 1000 } as const;
    expect(mayRunInline({ ...small, requested: 'auto' })).toBe(true);
    expect(mayRunInline({ ...small, requested: 'worker' })).toBe(false);
    expect(mayRunInline({ ...small, requested: 'auto', execution: 'cuda' })).toBe(false);
    expect(mayRunInline({ ...small, requested: 'auto', modelBytes: INLINE_MAX_MODEL_BYTES + 1 })).toBe(false);
    expect(mayRunInline({ ...small, requested: 'inline', modelBytes: INLINE_MAX_MODEL_BYTES + 1 })).toBe(
      true,
    );
  });

  it('runs inline what computes in less than a thread hop, or what was asked to', () => {
    expect(placementOf('auto', { itemMs: INLINE_MAX_COMPUTE_MS })).toBe('inline');
    expect(placementOf('auto', { itemMs: INLINE_MAX_COMPUTE_MS + 0.01 })).toBe('worker');
    expect(placementOf('auto', { itemMs: 0.05, batchMs: INLINE_MAX_BATCH_MS })).toBe('inline');
    expect(placementOf('auto', { itemMs: 0.05, batchMs: INLINE_MAX_BATCH_MS + 0.1 })).toBe('worker');
    expect(placementOf('auto', undefined)).toBe('worker');
    expect(placementOf('inline', { itemMs: 50 })).toBe('inline');
    expect(placementOf('worker', { itemMs: 0.01 })).toBe('worker');
  });

  const spec = (name: string, datatype: 'FP32' | 'FP16', shape = [1]) => ({ name, datatype, shape });

  it('keeps FP16 models off the event loop thread', () => {
    expect(inlineObstacle({ inputs: [spec('x', 'FP32')], outputs: [spec('y', 'FP32')] }, 0)).toBeUndefined();
    expect(inlineObstacle({ inputs: [spec('x', 'FP32')], outputs: [spec('y', 'FP16')] }, 0)).toBe(
      'tensor "y" is FP16',
    );
  });

  it('keeps off it a model whose inputs a request can make as large as it likes', () => {
    const one = (shape: number[]) => ({ inputs: [spec('x', 'FP32', shape)], outputs: [spec('y', 'FP32')] });
    expect(inlineObstacle(one([-1, 64]), 64)).toBeUndefined();
    expect(inlineObstacle(one([4, 64]), 0)).toBeUndefined();
    expect(inlineObstacle(one([-1, 64]), 0)).toBe(
      'input "x" has a variable first dimension and the model does not batch',
    );
    expect(inlineObstacle(one([1, -1]), 8)).toBe('input "x" has a variable dimension past the first');
  });
});
