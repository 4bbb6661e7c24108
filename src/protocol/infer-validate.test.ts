import { describe, expect, it } from 'vitest';

import { validateInferRequest } from './infer-validate.js';
import type { InferInput, InferRequest, ModelSignature } from '../ground/index.js';
import { thrownBy } from '../../test/helpers/errors.js';

const signature: ModelSignature = {
  inputs: [
    { name: 'x', datatype: 'FP32', shape: [-1, 4] },
    { name: 'y', datatype: 'INT32', shape: [-1] },
  ],
  outputs: [
    { name: 'out1', datatype: 'FP32', shape: [-1, 4] },
    { name: 'out2', datatype: 'INT32', shape: [-1] },
  ],
};

function x(shape: number[], datatype: InferInput['datatype'] = 'FP32'): InferInput {
  return { name: 'x', datatype, shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) };
}

function y(shape: number[]): InferInput {
  return { name: 'y', datatype: 'INT32', shape, data: new Int32Array(shape.reduce((a, b) => a * b, 1)) };
}

const noBatch = { maxBatchSize: 0 };

describe('validateInferRequest', () => {
  it('accepts a request that fits the signature, in any input order', () => {
    expect(() => {
      validateInferRequest({ inputs: [x([2, 4]), y([2])] }, signature, noBatch);
    }).not.toThrow();
    expect(() => {
      validateInferRequest({ inputs: [y([7]), x([1, 4])] }, signature, noBatch);
    }).not.toThrow();
    expect(() => {
      validateInferRequest({ inputs: [x([2, 4]), y([2])], outputs: [{ name: 'out2' }] }, signature, noBatch);
    }).not.toThrow();
  });

  it('refuses an input the model does not have, listing the ones it has', () => {
    const request: InferRequest = { inputs: [x([2, 4]), { ...y([2]), name: 'z' }] };
    const error = thrownBy(() => {
      validateInferRequest(request, signature, noBatch);
    });
    expect(error.code).toBe('BERTH_ERR_INFER_UNKNOWN_INPUT');
    expect(error.message).toBe('unexpected input "z": the model\'s inputs are "x", "y"');
  });

  it('refuses an input given twice', () => {
    const error = thrownBy(() => {
      validateInferRequest({ inputs: [x([2, 4]), y([2]), x([2, 4])] }, signature, noBatch);
    });
    expect(error.code).toBe('BERTH_ERR_INFER_UNKNOWN_INPUT');
    expect(error.message).toBe('input "x" is given more than once');
  });

  it('refuses a request missing an input', () => {
    const error = thrownBy(() => {
      validateInferRequest({ inputs: [x([2, 4])] }, signature, noBatch);
    });
    expect(error.code).toBe('BERTH_ERR_INFER_MISSING_INPUT');
    expect(error.message).toBe('missing input "y" required by the model');
    expect(
      thrownBy(() => {
        validateInferRequest({ inputs: [] }, signature, noBatch);
      }).message,
    ).toBe('missing input "x" required by the model');
  });

  it('refuses a datatype other than the declared one', () => {
    const error = thrownBy(() => {
      validateInferRequest({ inputs: [x([2, 4], 'FP64'), y([2])] }, signature, noBatch);
    });
    expect(error.code).toBe('BERTH_ERR_INFER_DATATYPE_MISMATCH');
    expect(error.message).toBe('input "x": expected datatype FP32, got FP64');
  });

  it.each([
    { shape: [2, 5], shown: '[2,5]' },
    { shape: [8], shown: '[8]' },
    { shape: [2, 4, 1], shown: '[2,4,1]' },
    { shape: [], shown: '[]' },
  ])('refuses shape $shown for [-1,4]', ({ shape, shown }) => {
    const error = thrownBy(() => {
      validateInferRequest({ inputs: [x(shape), y([2])] }, signature, noBatch);
    });
    expect(error.code).toBe('BERTH_ERR_INFER_SHAPE_MISMATCH');
    expect(error.message).toBe(`input "x": expected shape [-1,4], got ${shown}`);
  });

  it('accepts any size for a variable dimension, including zero', () => {
    expect(() => {
      validateInferRequest({ inputs: [x([0, 4]), y([0])] }, signature, noBatch);
    }).not.toThrow();
    expect(() => {
      validateInferRequest({ inputs: [x([1000, 4]), y([1])] }, signature, noBatch);
    }).not.toThrow();
  });

  it('checks fixed dimensions exactly', () => {
    const fixed: ModelSignature = { inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 4] }], outputs: [] };
    expect(() => {
      validateInferRequest({ inputs: [x([2, 4])] }, fixed, noBatch);
    }).not.toThrow();
    expect(
      thrownBy(() => {
        validateInferRequest({ inputs: [x([3, 4])] }, fixed, noBatch);
      }).message,
    ).toBe('input "x": expected shape [2,4], got [3,4]');
  });

  it('refuses a batch larger than maxBatchSize', () => {
    const options = { maxBatchSize: 4 };
    expect(() => {
      validateInferRequest({ inputs: [x([4, 4]), y([4])] }, signature, options);
    }).not.toThrow();
    const error = thrownBy(() => {
      validateInferRequest({ inputs: [x([5, 4]), y([5])] }, signature, options);
    });
    expect(error.code).toBe('BERTH_ERR_INFER_SHAPE_MISMATCH');
    expect(error.message).toBe('input "x": batch size 5 exceeds the model\'s max batch size 4');
  });

  it('refuses inputs whose batch sizes differ when the model batches', () => {
    const error = thrownBy(() => {
      validateInferRequest({ inputs: [x([2, 4]), y([3])] }, signature, { maxBatchSize: 8 });
    });
    expect(error.code).toBe('BERTH_ERR_INFER_SHAPE_MISMATCH');
    expect(error.message).toBe('input "y": batch size 3 differs from the other inputs\' batch size 2');
  });

  it('does not treat dimension 0 as a batch when maxBatchSize is 0', () => {
    expect(() => {
      validateInferRequest({ inputs: [x([2, 4]), y([3])] }, signature, noBatch);
    }).not.toThrow();
    expect(() => {
      validateInferRequest({ inputs: [x([100, 4]), y([100])] }, signature, noBatch);
    }).not.toThrow();
  });

  it('refuses an output the model does not have, listing the ones it has', () => {
    const error = thrownBy(() => {
      validateInferRequest({ inputs: [x([2, 4]), y([2])], outputs: [{ name: 'out3' }] }, signature, noBatch);
    });
    expect(error.code).toBe('BERTH_ERR_INFER_UNKNOWN_OUTPUT');
    expect(error.message).toBe('unknown output "out3": the model\'s outputs are "out1", "out2"');
  });

  it('refuses an output requested twice', () => {
    const error = thrownBy(() => {
      validateInferRequest(
        { inputs: [x([2, 4]), y([2])], outputs: [{ name: 'out1' }, { name: 'out1' }] },
        signature,
        noBatch,
      );
    });
    expect(error.code).toBe('BERTH_ERR_INFER_UNKNOWN_OUTPUT');
    expect(error.message).toBe('output "out1" is requested more than once');
  });
});
