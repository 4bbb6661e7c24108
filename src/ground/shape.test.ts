import { describe, expect, it } from 'vitest';

import { DEFAULT_DECODE_LIMITS, elementCount, formatShape, parseShape } from './shape.js';
import { thrownBy } from '../../test/helpers/errors.js';

const limits = { maxTensorElements: 1000 };

describe('parseShape', () => {
  it('returns the shape and its element count', () => {
    expect(parseShape([2, 3, 4], 'input "x"', limits)).toEqual({ shape: [2, 3, 4], count: 24 });
    expect(parseShape([0, 5], 'input "x"', limits)).toEqual({ shape: [0, 5], count: 0 });
  });

  it('treats an empty shape as a scalar with one element', () => {
    expect(parseShape([], 'input "x"', limits)).toEqual({ shape: [], count: 1 });
  });

  it.each([
    { dim: -1, shown: '-1' },
    { dim: 1.5, shown: '1.5' },
    { dim: '2', shown: '"2"' },
    { dim: null, shown: 'null' },
    { dim: true, shown: 'true' },
    { dim: [2], shown: 'an array' },
    { dim: 2 ** 53, shown: '9007199254740992' },
    { dim: undefined, shown: 'nothing' },
  ])('refuses the dimension $shown', ({ dim, shown }) => {
    const error = thrownBy(() => parseShape([1, dim], 'input "x"', limits));
    expect(error.code).toBe('BERTH_ERR_PROTOCOL_INVALID_SHAPE');
    expect(error.message).toBe(`input "x": shape[1] must be a non-negative integer, got ${shown}`);
  });

  it.each([undefined, null, 3, '[1,2]', { 0: 1 }])('refuses a shape that is not an array (%j)', (value) => {
    const error = thrownBy(() => parseShape(value, 'input "x"', limits));
    expect(error.code).toBe('BERTH_ERR_PROTOCOL_INVALID_SHAPE');
    expect(error.message).toBe('input "x": "shape" must be an array of integers');
  });

  it('accepts exactly the element limit and refuses one more', () => {
    expect(parseShape([10, 100], 'x', limits).count).toBe(1000);
    const error = thrownBy(() => parseShape([7, 11, 13], 'input "x"', limits));
    expect(error.code).toBe('BERTH_ERR_PROTOCOL_TENSOR_TOO_LARGE');
    expect(error.message).toBe(
      'input "x": shape [7,11,13] has more than 1000 elements (limit --max-tensor-elements)',
    );
  });

  it('refuses a huge shape under the default limit', () => {
    const error = thrownBy(() => parseShape([1e9, 1e9], 'input "x"', DEFAULT_DECODE_LIMITS));
    expect(error.code).toBe('BERTH_ERR_PROTOCOL_TENSOR_TOO_LARGE');
    expect(error.message).toContain('[1000000000,1000000000]');
    expect(error.message).toContain(`more than ${64 * 1024 * 1024} elements`);
  });

  it('checks the limit while multiplying, whatever the order of dimensions', () => {
    expect(() => parseShape([2 ** 40, 2 ** 40, 0], 'x', limits)).toThrow(/more than 1000 elements/);
    // A zero dimension first keeps the count at zero.
    expect(parseShape([0, 2 ** 40, 2 ** 40], 'x', limits).count).toBe(0);
  });
});

describe('formatShape and elementCount', () => {
  it('formats shapes as in error messages', () => {
    expect(formatShape([-1, 4])).toBe('[-1,4]');
    expect(formatShape([])).toBe('[]');
  });

  it('counts elements', () => {
    expect(elementCount([2, 3, 4])).toBe(24);
    expect(elementCount([])).toBe(1);
    expect(elementCount([5, 0])).toBe(0);
  });
});
