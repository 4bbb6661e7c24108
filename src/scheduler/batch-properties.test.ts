/**
 * Property-based test (fast-check) of batching: requests merged along dimension 0 and the batch
 * split back give each request its own tensors, for every datatype, row shape and mix of batch
 * sizes (0 included).
 */
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { DATATYPES, type Tensor } from '../ground/index.js';
import { count, dataOf, expectSameTensors } from '../../test/helpers/tensor-arbitraries.js';
import { batchKey, mergeBatch, splitBatch } from './batch-tensors.js';

/** 1 to 5 requests of one input each, sharing its datatype and row shape. */
const requests = fc
  .tuple(
    fc.constantFrom(...DATATYPES),
    fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }),
    fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 5 }),
  )
  .chain(([datatype, row, sizes]) =>
    fc.tuple(
      ...sizes.map((size) =>
        dataOf(datatype, size * count(row), false).map((data): Tensor[] => [
          { name: 'x', datatype, shape: [size, ...row], data },
        ]),
      ),
    ),
  );

describe('batching (fast-check)', () => {
  it('merge, then split, gives every request back its own tensors', () => {
    fc.assert(
      fc.property(requests, (drawn) => {
        const keys = new Set(drawn.map(batchKey));
        if (keys.size !== 1) throw new Error('the requests of one batch share a key');
        const { inputs, sizes } = mergeBatch(drawn);
        const split = splitBatch(inputs, sizes);
        split.forEach((outputs, i) => expectSameTensors(outputs, drawn[i] as Tensor[]));
      }),
      { numRuns: 300 },
    );
  });
});
