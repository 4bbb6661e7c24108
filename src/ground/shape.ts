import { BerthError } from './errors.js';
import { showValue } from './show-value.js';

/** Limits applied while decoding untrusted tensors. */
export interface DecodeLimits {
  /** Most elements one tensor may have. */
  readonly maxTensorElements: number;
}

export const DEFAULT_DECODE_LIMITS: DecodeLimits = { maxTensorElements: 64 * 1024 * 1024 };

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/**
 * Checks that `shape` is a list of non-negative safe integers and returns its element count.
 * The count is checked against the limit while it is multiplied, so a huge declared shape is
 * refused before anything is allocated.
 */
export function parseShape(
  value: unknown,
  what: string,
  limits: DecodeLimits,
): { shape: number[]; count: number } {
  if (!Array.isArray(value)) {
    throw new BerthError('BERTH_ERR_PROTOCOL_INVALID_SHAPE', `${what}: "shape" must be an array of integers`);
  }
  const shape: number[] = [];
  let count = 1;
  for (let i = 0; i < value.length; i++) {
    const dim: unknown = value[i];
    if (typeof dim !== 'number' || !Number.isSafeInteger(dim) || dim < 0) {
      throw new BerthError(
        'BERTH_ERR_PROTOCOL_INVALID_SHAPE',
        `${what}: shape[${i}] must be a non-negative integer, got ${showValue(dim)}`,
      );
    }
    shape.push(dim);
    count *= dim;
    if (count > limits.maxTensorElements) {
      throw new BerthError(
        'BERTH_ERR_PROTOCOL_TENSOR_TOO_LARGE',
        `${what}: shape ${formatShape(value as number[])} has more than ${limits.maxTensorElements} elements (limit --max-tensor-elements)`,
      );
    }
  }
  return { shape, count };
}

export function elementCount(shape: readonly number[]): number {
  let count = 1;
  for (const dim of shape) count *= dim;
  return count;
}
