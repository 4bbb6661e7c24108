import { describe, expect, it } from 'vitest';
import { thrownBy } from '../../test/helpers/errors.js';
import { parseConfigOverride } from './config-override.js';
import { toModelConfig } from './model-config.js';
import { parseTritonConfig } from './triton-config.js';

const where = 'models/m/config.pbtxt';

describe('parseTritonConfig', () => {
  it('maps every supported field of a Triton ONNX config onto berth keys', () => {
    const { config, ignored } = parseTritonConfig(
      `
      name: "m"
      backend: "onnxruntime"
      max_batch_size: 16
      version_policy { specific { versions: [1, 3] } }
      input [{ name: "x" data_type: TYPE_FP32 format: FORMAT_NCHW dims: [3, 4] reshape { shape: [12] } }]
      output [{ name: "y" data_type: TYPE_STRING dims: [-1] label_filename: "labels.txt" }]
      dynamic_batching {
        preferred_batch_size: [4, 8]
        max_queue_delay_microseconds: 250
        priority_levels: 2
        default_priority_level: 2
        default_queue_policy { max_queue_size: 0 default_timeout_microseconds: 5000000 timeout_action: REJECT }
      }
      instance_group [{ count: 2 kind: KIND_CPU }, { kind: KIND_AUTO }]
      default_model_filename: "net.onnx"
      parameters { key: "intra_op_thread_count" value { string_value: "2" } }
      parameters [{ key: "enable_mem_arena" value: { string_value: "1" } }]
      model_warmup [{ name: "w" batch_size: 4 count: 3 inputs { key: "x" value { data_type: TYPE_FP32 dims: [3, 4] random_data: true } } }]
      optimization { execution_accelerators { cpu_execution_accelerator: [{ name: "openvino" }] } }
      `,
      where,
    );
    expect(config).toEqual({
      name: 'm',
      maxBatchSize: 16,
      versions: { policy: 'specific', versions: [1, 3] },
      inputs: [{ name: 'x', datatype: 'FP32', dims: [3, 4], reshape: [12] }],
      outputs: [{ name: 'y', datatype: 'BYTES', dims: [-1] }],
      batching: {
        preferredBatchSizes: [4, 8],
        maxQueueDelayMs: 0.25,
        priorityLevels: 2,
        defaultPriority: 2,
        maxQueueSize: 1_000_000,
        timeoutMs: 5000,
      },
      instances: 3,
      defaultModelFilename: 'net.onnx',
      threads: { intraOp: 2 },
      warmup: [{ name: 'w', batchSize: 4, count: 3, inputs: { x: { dims: [3, 4], randomData: true } } }],
    });
    expect(ignored).toHaveLength(4);
    expect(ignored).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^output\[0\]\.label_filename/),
        expect.stringMatching(/^input\[0\]\.format \(FORMAT_NCHW/),
        expect.stringMatching(/^parameters "enable_mem_arena"/),
        expect.stringMatching(/^optimization/),
      ]),
    );
    // What it maps to passes berth's own validation.
    expect(toModelConfig(config, where).maxBatchSize).toBe(16);
  });

  it('turns KIND_GPU into CUDA execution and a latest policy into a count', () => {
    const { config } = parseTritonConfig(
      'platform: "onnxruntime_onnx"\ninstance_group { kind: KIND_GPU gpus: [0] }\nversion_policy: { latest { num_versions: 2 } }',
      where,
    );
    expect(config).toMatchObject({
      execution: 'cuda',
      instances: 1,
      versions: { policy: 'latest', count: 2 },
    });
  });

  it.each([
    ['platform: "tensorrt_plan"', /platform: "tensorrt_plan" is not served by berth/],
    ['backend: "python"', /backend: "python" is not served/],
    ['sequence_batching {}', /sequence_batching: stateful sequence batching is not supported/],
    ['ensemble_scheduling { step [] }', /ensembles are not supported/],
    ['max_batch_size: 8\nmystery_field: 1', /mystery_field: not a field berth supports here/],
    [
      'input [{ name: "x" data_type: TYPE_BF16 dims: [1] }]',
      /input\[0\]\.data_type: TYPE_BF16 is not supported/,
    ],
    ['input [{ dims: [1] }]', /input\[0\]\.name: required/],
    ['max_batch_size: "8"', /max_batch_size: expected an integer/],
    ['name: "a"\nname: "b"', /name: given more than once/],
    ['dynamic_batching { default_queue_policy { timeout_action: DELAY } }', /DELAY is not supported/],
    ['version_policy { }', /set exactly one of latest, all, specific/],
    ['instance_group [{ kind: KIND_MODEL }]', /KIND_MODEL is not supported/],
  ])('refuses %j naming the field', (text, message) => {
    const error = thrownBy(() => parseTritonConfig(text, where));
    expect(error.code).toBe('BERTH_ERR_REPOSITORY_INVALID_CONFIG');
    expect(error.message).toMatch(message);
    expect(error.message.startsWith(where)).toBe(true);
  });
});

describe('parseConfigOverride', () => {
  it("takes Triton's ModelConfig JSON as tritonclient sends it", () => {
    const { config } = parseConfigOverride(
      JSON.stringify({
        max_batch_size: 4,
        input: [{ name: 'x', data_type: 'TYPE_FP32', dims: ['4'] }],
        dynamic_batching: { max_queue_delay_microseconds: '1000' },
        parameters: { inter_op_thread_count: { string_value: '1' } },
      }),
      'load "m"',
    );
    expect(config.maxBatchSize).toBe(4);
    expect(config.inputs).toEqual([{ name: 'x', datatype: 'FP32', dims: [4] }]);
    expect(config.batching.maxQueueDelayMs).toBe(1);
    expect(config.threads).toEqual({ interOp: 1 });
  });

  it("takes berth's own config keys as JSON", () => {
    const { config } = parseConfigOverride('{"maxBatchSize": 8, "instances": 2}', 'load "m"');
    expect(config).toMatchObject({ maxBatchSize: 8, instances: 2 });
  });

  it('refuses text that is not a JSON object, naming the parameter', () => {
    expect(thrownBy(() => parseConfigOverride('{nope', 'load "m"')).message).toMatch(
      /load "m": the "config" parameter is not valid JSON/,
    );
    expect(thrownBy(() => parseConfigOverride('[1]', 'load "m"')).message).toMatch(/must be a JSON object/);
    expect(thrownBy(() => parseConfigOverride('{"maxBatchSize": -1}', 'load "m"')).message).toMatch(
      /maxBatchSize/,
    );
  });
});
