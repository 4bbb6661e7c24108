import { describe, expect, it } from 'vitest';
import type { ModelMetadata } from '../ground/index.js';
import { thrownBy } from '../../test/helpers/errors.js';
import { inferencesPerRequest, planInputs } from './bench-plan.js';

const iris: ModelMetadata = {
  name: 'iris',
  versions: ['1'],
  platform: 'onnxruntime_onnx',
  inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, 4] }],
  outputs: [
    { name: 'probabilities', datatype: 'FP32', shape: [-1, 3] },
    { name: 'label', datatype: 'BYTES', shape: [-1] },
  ],
};

const image: ModelMetadata = {
  ...iris,
  name: 'resnet',
  inputs: [
    { name: 'input', datatype: 'FP32', shape: [-1, 3, -1, -1] },
    { name: 'scale', datatype: 'FP32', shape: [1] },
  ],
};

const plan = (metadata: ModelMetadata, shapes: Record<string, number[]> = {}, batchSize?: number) =>
  planInputs(metadata.name, metadata, {
    shapes: new Map(Object.entries(shapes)),
    ...(batchSize === undefined ? {} : { batchSize }),
  });

describe('planInputs', () => {
  it('sets variable dimensions to 1 and says so, naming the --shape that would choose', () => {
    const { inputs, notes } = plan(iris);
    expect(inputs).toEqual([{ name: 'features', datatype: 'FP32', shape: [1, 4] }]);
    expect(notes).toEqual([
      'input "features": the model\'s shape [-1,4] has variable dimensions; sending [1,4] (--shape features:1,4 to choose)',
    ]);
  });

  it('takes --shape as given, with no note when it fits', () => {
    const { inputs, notes } = plan(image, { input: [2, 3, 224, 224] });
    expect(inputs.map((i) => i.shape)).toEqual([[2, 3, 224, 224], [1]]);
    expect(notes).toEqual([]);
  });

  it('sends a --shape that does not fit, with a note (the server is what is measured)', () => {
    const { inputs, notes } = plan(iris, { features: [1, 5] });
    expect(inputs[0]?.shape).toEqual([1, 5]);
    expect(notes).toEqual([
      'input "features": --shape [1,5] does not fit the model\'s shape [-1,4]; sent as given',
    ]);
  });

  it('puts --batch-size in a variable first dimension, and 1 in the others with a note', () => {
    const { inputs, notes } = plan(image, {}, 8);
    expect(inputs.map((i) => i.shape)).toEqual([[8, 3, 1, 1], [1]]);
    expect(notes).toHaveLength(1);
    expect(notes[0]).toContain('sending [8,3,1,1]');
    expect(plan(iris, {}, 8).notes).toEqual([]);
  });

  it('says when --batch-size has nothing to set', () => {
    const fixed = { ...iris, inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4] }] } as ModelMetadata;
    expect(plan(fixed, {}, 4).notes).toEqual([
      '--batch-size 4: no input of "iris" has a variable first dimension; ignored',
    ]);
  });

  it('refuses a --shape for an input the model lacks, naming its inputs', () => {
    const error = thrownBy(() => plan(iris, { INPUT0: [1, 4] }));
    expect(error.code).toBe('BERTH_ERR_CLI_INVALID_OPTION');
    expect(error.message).toBe('--shape: model "iris" has no input "INPUT0"; its inputs are "features"');
  });

  it.each([
    ['no inputs', { inputs: [] }, /declares no inputs/],
    ['inputs that are not a list', { inputs: null }, /"inputs" must be an array/],
    [
      'an unknown datatype',
      { inputs: [{ name: 'x', datatype: 'FLOAT', shape: [1] }] },
      /datatype must be one of/,
    ],
    [
      'a shape of strings',
      { inputs: [{ name: 'x', datatype: 'FP32', shape: ['1'] }] },
      /shape must be a list/,
    ],
    [
      'a dimension below -1',
      { inputs: [{ name: 'x', datatype: 'FP32', shape: [-2] }] },
      /shape must be a list/,
    ],
    ['a nameless output', { outputs: [{ datatype: 'FP32', shape: [1] }] }, /outputs\[0\]\.name/],
  ])('refuses metadata with %s', (_, change, message) => {
    const error = thrownBy(() => plan({ ...iris, ...change } as unknown as ModelMetadata));
    expect(error.code).toBe('BERTH_ERR_BENCH_INVALID_METADATA');
    expect(error.message).toMatch(/^model "iris" metadata: /);
    expect(error.message).toMatch(message);
  });
});

describe('inferencesPerRequest', () => {
  it('is the leading dimension of the first input when the model declares it variable', () => {
    expect(inferencesPerRequest(iris.inputs, [{ name: 'features', shape: [8, 4] }])).toBe(8);
  });

  it('is 1 for a model without a variable leading dimension', () => {
    const fixed = [{ name: 'x', datatype: 'FP32', shape: [4, 4] }] as const;
    expect(inferencesPerRequest(fixed, [{ name: 'x', shape: [4, 4] }])).toBe(1);
  });
});
