import { describe, expect, it } from 'vitest';

import { type ModelSignature } from '../ground/index.js';
import { parseModelConfig, type ModelConfig } from '../repository/index.js';
import { effectiveSignature } from './model-signature.js';
import { thrownBy } from '../../test/helpers/errors.js';

function config(yaml: string): ModelConfig {
  return parseModelConfig(yaml, 'config.yaml');
}

const batched: ModelSignature = {
  inputs: [
    { name: 'x', datatype: 'FP32', shape: [-1, 4] },
    { name: 'seq', datatype: 'INT64', shape: [-1, -1] },
  ],
  outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 4] }],
};

describe('effectiveSignature', () => {
  it("serves the file's signature unchanged without overrides", () => {
    expect(effectiveSignature('m', batched, config(''))).toEqual(batched);
    expect(effectiveSignature('m', batched, config('maxBatchSize: 8'))).toEqual(batched);
  });

  it('does not change the signature it was given', () => {
    const native: ModelSignature = structuredClone(batched);
    effectiveSignature('m', native, config('maxBatchSize: 8\ninputs: [{ name: seq, dims: [16] }]'));
    expect(native).toEqual(batched);
  });

  it('requires a variable first dimension on every tensor when maxBatchSize > 0', () => {
    const fixedInput: ModelSignature = {
      ...batched,
      inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 4] }],
    };
    const error = thrownBy(() => effectiveSignature('m', fixedInput, config('maxBatchSize: 8')));
    expect(error.code).toBe('BERTH_ERR_REPOSITORY_INVALID_CONFIG');
    expect(error.message).toBe(
      'model "m": maxBatchSize is 8 but input "x" has shape [2,4] without a variable first (batch) dimension',
    );

    const scalarOutput: ModelSignature = {
      ...batched,
      outputs: [{ name: 'y', datatype: 'FP32', shape: [] }],
    };
    expect(
      thrownBy(() => effectiveSignature('m', scalarOutput, config('maxBatchSize: 8'))).message,
    ).toContain('output "y" has shape []');
    // Without batching the same signatures are fine.
    expect(effectiveSignature('m', fixedInput, config('')).inputs).toEqual(fixedInput.inputs);
  });

  it('lets dims fix a variable dimension, after the batch dimension when batching', () => {
    const served = effectiveSignature(
      'm',
      batched,
      config('maxBatchSize: 8\ninputs: [{ name: seq, dims: [16] }]'),
    );
    expect(served.inputs).toEqual([
      { name: 'x', datatype: 'FP32', shape: [-1, 4] },
      { name: 'seq', datatype: 'INT64', shape: [-1, 16] },
    ]);
  });

  it('applies dims to the whole shape when not batching', () => {
    const served = effectiveSignature('m', batched, config('inputs: [{ name: seq, dims: [2, -1] }]'));
    expect(served.inputs[1]?.shape).toEqual([2, -1]);
    const outputs = effectiveSignature('m', batched, config('outputs: [{ name: y, dims: [3, 4] }]')).outputs;
    expect(outputs).toEqual([{ name: 'y', datatype: 'FP32', shape: [3, 4] }]);
  });

  it("accepts dims that repeat the file's fixed dimensions", () => {
    const served = effectiveSignature(
      'm',
      batched,
      config('maxBatchSize: 4\ninputs: [{ name: x, dims: [4] }]'),
    );
    expect(served.inputs[0]?.shape).toEqual([-1, 4]);
  });

  it('refuses dims that contradict a fixed dimension of the file', () => {
    const error = thrownBy(() =>
      effectiveSignature('m', batched, config('maxBatchSize: 8\ninputs: [{ name: x, dims: [5] }]')),
    );
    expect(error.code).toBe('BERTH_ERR_REPOSITORY_INVALID_CONFIG');
    expect(error.message).toBe(
      'model "m": input "x": config dims [5] contradict the model\'s shape [4] at index 0',
    );
    expect(
      thrownBy(() => effectiveSignature('m', batched, config('outputs: [{ name: y, dims: [-1, 5] }]')))
        .message,
    ).toContain('output "y": config dims [-1,5] contradict the model\'s shape [-1,4] at index 1');
  });

  it('refuses dims of another rank', () => {
    const error = thrownBy(() =>
      effectiveSignature('m', batched, config('maxBatchSize: 8\ninputs: [{ name: x, dims: [-1, 4] }]')),
    );
    expect(error.code).toBe('BERTH_ERR_REPOSITORY_INVALID_CONFIG');
    expect(error.message).toBe(
      'model "m": input "x": config dims [-1,4] have rank 2, the model\'s non-batch shape [4] has rank 1',
    );
    expect(
      thrownBy(() => effectiveSignature('m', batched, config('inputs: [{ name: x, dims: [4] }]'))).message,
    ).toContain("have rank 1, the model's shape [-1,4] has rank 2");
  });

  it('refuses an override naming a tensor the model does not have', () => {
    const error = thrownBy(() =>
      effectiveSignature('m', batched, config('inputs: [{ name: z, dims: [1] }]')),
    );
    expect(error.code).toBe('BERTH_ERR_REPOSITORY_INVALID_CONFIG');
    expect(error.message).toBe('model "m": config names input "z", but the model\'s inputs are "x", "seq"');
    expect(thrownBy(() => effectiveSignature('m', batched, config('outputs: [{ name: x }]'))).message).toBe(
      'model "m": config names output "x", but the model\'s outputs are "y"',
    );
  });

  it('refuses a datatype that differs from the file and accepts the same one', () => {
    const error = thrownBy(() =>
      effectiveSignature('m', batched, config('inputs: [{ name: x, datatype: FP64 }]')),
    );
    expect(error.code).toBe('BERTH_ERR_REPOSITORY_INVALID_CONFIG');
    expect(error.message).toBe('model "m": input "x": config datatype FP64 differs from the model\'s FP32');
    expect(
      effectiveSignature('m', batched, config('inputs: [{ name: x, datatype: FP32 }]')).inputs[0],
    ).toEqual({
      name: 'x',
      datatype: 'FP32',
      shape: [-1, 4],
    });
  });
});
