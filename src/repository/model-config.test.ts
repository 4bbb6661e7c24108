import { describe, expect, it } from 'vitest';

import { DEFAULT_MODEL_CONFIG, parseModelConfig, selectVersions } from './model-config.js';
import { thrownBy } from '../../test/helpers/errors.js';

const where = 'models/m/config.yaml';

describe('parseModelConfig', () => {
  it('gives the defaults for an empty file', () => {
    const expected = {
      platform: 'onnxruntime_onnx',
      maxBatchSize: 0,
      versions: { policy: 'latest', count: 1 },
      batching: {
        maxQueueDelayMs: 0,
        preferredBatchSizes: [],
        maxQueueSize: 1024,
        timeoutMs: 0,
        priorityLevels: 0,
        defaultPriority: 1,
      },
      execution: 'cpu',
      placement: 'auto',
      defaultModelFilename: 'model.onnx',
    };
    expect(parseModelConfig('', where)).toEqual(expected);
    expect(parseModelConfig('# only a comment\n', where)).toEqual(expected);
    expect(DEFAULT_MODEL_CONFIG).toEqual(expected);
  });

  it('refuses preferred batch sizes above maxBatchSize and a default priority above the levels', () => {
    expect(() =>
      parseModelConfig('maxBatchSize: 4\nbatching: { preferredBatchSizes: [2, 8] }\n', where),
    ).toThrow(/batching.preferredBatchSizes \[8\] exceed maxBatchSize 4/);
    expect(() => parseModelConfig('batching: { priorityLevels: 2, defaultPriority: 3 }\n', where)).toThrow(
      /batching.defaultPriority 3 exceeds priorityLevels 2/,
    );
    expect(() => parseModelConfig('batching: { maxQueueDelay: 2 }\n', where)).toThrow(/maxQueueDelay/);
  });

  it('reads a full config', () => {
    const config = parseModelConfig(
      [
        'name: fraud',
        'platform: onnxruntime_onnx',
        'maxBatchSize: 8',
        'versions: { policy: latest, count: 2 }',
        'batching: { maxQueueDelayMs: 0.5, preferredBatchSizes: [4, 8], maxQueueSize: 64, timeoutMs: 250, priorityLevels: 2, defaultPriority: 2 }',
        'instances: 2',
        'inputs:',
        '  - name: features',
        '    datatype: FP32',
        '    dims: [-1, 30]',
        'outputs:',
        '  - name: score',
        'threads: { intraOp: 2, interOp: 1, spinning: true }',
        'execution: cuda',
        'defaultModelFilename: fraud.onnx',
      ].join('\n'),
      where,
    );
    expect(config).toEqual({
      name: 'fraud',
      platform: 'onnxruntime_onnx',
      maxBatchSize: 8,
      versions: { policy: 'latest', count: 2 },
      batching: {
        maxQueueDelayMs: 0.5,
        preferredBatchSizes: [4, 8],
        maxQueueSize: 64,
        timeoutMs: 250,
        priorityLevels: 2,
        defaultPriority: 2,
      },
      instances: 2,
      inputs: [{ name: 'features', datatype: 'FP32', dims: [-1, 30] }],
      outputs: [{ name: 'score' }],
      threads: { intraOp: 2, interOp: 1, spinning: true },
      execution: 'cuda',
      placement: 'auto',
      defaultModelFilename: 'fraud.onnx',
    });
  });

  it.each([
    { yaml: 'versions: { policy: latest }', versions: { policy: 'latest', count: 1 } },
    { yaml: 'versions: { policy: latest, count: 3 }', versions: { policy: 'latest', count: 3 } },
    { yaml: 'versions: { policy: all }', versions: { policy: 'all' } },
    {
      yaml: 'versions: { policy: specific, versions: [1, 3] }',
      versions: { policy: 'specific', versions: [1, 3] },
    },
  ])('reads the version policy $yaml', ({ yaml, versions }) => {
    expect(parseModelConfig(yaml, where).versions).toEqual(versions);
  });

  it('names an unknown or misspelt key', () => {
    const error = thrownBy(() => parseModelConfig('maxBatchsize: 8\n', where));
    expect(error.code).toBe('BERTH_ERR_REPOSITORY_INVALID_CONFIG');
    expect(error.message).toContain(where);
    expect(error.message).toContain('"maxBatchsize"');
  });

  it('names an unknown key inside a tensor override with its path', () => {
    const error = thrownBy(() => parseModelConfig('inputs:\n  - name: x\n    shape: [1]\n', where));
    expect(error.code).toBe('BERTH_ERR_REPOSITORY_INVALID_CONFIG');
    expect(error.message).toContain('inputs.0');
    expect(error.message).toContain('"shape"');
  });

  it('names an unknown key in a version policy', () => {
    const error = thrownBy(() => parseModelConfig('versions: { policy: all, count: 2 }\n', where));
    expect(error.message).toContain('versions');
    expect(error.message).toContain('"count"');
  });

  it('reports YAML syntax errors with the file', () => {
    const error = thrownBy(() => parseModelConfig('inputs: [\n', where));
    expect(error.code).toBe('BERTH_ERR_REPOSITORY_INVALID_CONFIG');
    expect(error.message).toMatch(/^models\/m\/config\.yaml: not valid YAML: /);
    expect(error.cause).toBeInstanceOf(Error);
  });

  it('refuses duplicate keys', () => {
    const error = thrownBy(() => parseModelConfig('maxBatchSize: 1\nmaxBatchSize: 2\n', where));
    expect(error.code).toBe('BERTH_ERR_REPOSITORY_INVALID_CONFIG');
  });

  it('refuses a YAML alias bomb', () => {
    const lines = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 0; i < 8; i++) {
      const prev = String.fromCharCode(97 + i);
      const next = String.fromCharCode(98 + i);
      lines.push(`${next}: &${next} [${Array(10).fill(`*${prev}`).join(', ')}]`);
    }
    const error = thrownBy(() => parseModelConfig(lines.join('\n'), where));
    expect(error.code).toBe('BERTH_ERR_REPOSITORY_INVALID_CONFIG');
    expect(error.message).toMatch(/not valid YAML: .*alias/);
  });

  it.each([
    { yaml: '- 1\n- 2\n', path: '(top level)' },
    { yaml: 'just text\n', path: '(top level)' },
    { yaml: 'maxBatchSize: -1', path: 'maxBatchSize' },
    { yaml: 'maxBatchSize: 1.5', path: 'maxBatchSize' },
    { yaml: 'maxBatchSize: "8"', path: 'maxBatchSize' },
    { yaml: 'platform: tensorflow_savedmodel', path: 'platform' },
    { yaml: 'execution: tpu', path: 'execution' },
    { yaml: 'versions: { policy: newest }', path: 'versions.policy' },
    { yaml: 'versions: { policy: latest, count: 0 }', path: 'versions.count' },
    { yaml: 'versions: { policy: specific, versions: [] }', path: 'versions.versions' },
    { yaml: 'versions: { policy: specific, versions: [0] }', path: 'versions.versions.0' },
    { yaml: 'inputs: [{ datatype: FP32 }]', path: 'inputs.0.name' },
    { yaml: 'inputs: [{ name: x, datatype: FLOAT32 }]', path: 'inputs.0.datatype' },
    { yaml: 'inputs: [{ name: x, dims: [-2] }]', path: 'inputs.0.dims.0' },
    { yaml: 'inputs: [{ name: x, dims: [1.5] }]', path: 'inputs.0.dims.0' },
    { yaml: 'threads: { intraOp: -1 }', path: 'threads.intraOp' },
    { yaml: 'threads: { cores: 2 }', path: 'threads' },
    { yaml: 'threads: { spinning: yes-please }', path: 'threads.spinning' },
    { yaml: 'defaultModelFilename: ../escape.onnx', path: 'defaultModelFilename' },
    { yaml: 'defaultModelFilename: sub/model.onnx', path: 'defaultModelFilename' },
  ])('refuses $yaml, naming $path', ({ yaml, path }) => {
    const error = thrownBy(() => parseModelConfig(yaml, where));
    expect(error.code).toBe('BERTH_ERR_REPOSITORY_INVALID_CONFIG');
    expect(error.message.startsWith(`${where}: ${path}: `)).toBe(true);
  });
});

describe('selectVersions', () => {
  const available = [1, 3, 2, 10];

  it('selects the newest versions for "latest", highest first', () => {
    expect(selectVersions(available, { policy: 'latest', count: 1 })).toEqual([10]);
    expect(selectVersions(available, { policy: 'latest', count: 2 })).toEqual([10, 3]);
    expect(selectVersions(available, { policy: 'latest', count: 9 })).toEqual([10, 3, 2, 1]);
  });

  it('selects every version for "all", highest first', () => {
    expect(selectVersions(available, { policy: 'all' })).toEqual([10, 3, 2, 1]);
  });

  it('selects only the listed versions that exist for "specific"', () => {
    expect(selectVersions(available, { policy: 'specific', versions: [1, 3, 7] })).toEqual([3, 1]);
    expect(selectVersions(available, { policy: 'specific', versions: [7] })).toEqual([]);
  });

  it('selects nothing from nothing', () => {
    expect(selectVersions([], { policy: 'all' })).toEqual([]);
    expect(selectVersions([], { policy: 'latest', count: 1 })).toEqual([]);
  });

  it("does not reorder the caller's list", () => {
    const list = [1, 3, 2];
    selectVersions(list, { policy: 'all' });
    expect(list).toEqual([1, 3, 2]);
  });
});

describe('placement', () => {
  const where = 'models/m/config.yaml';
  it('is auto by default, and inline only for one CPU instance', () => {
    expect(parseModelConfig('placement: worker\n', where).placement).toBe('worker');
    expect(parseModelConfig('placement: inline\n', where).placement).toBe('inline');
    expect(() => parseModelConfig('placement: inline\ninstances: 2\n', where)).toThrow(
      /placement: placement: inline runs the model on the event loop thread: it needs instances: 1 and execution: cpu/,
    );
    expect(() => parseModelConfig('placement: thread\n', where)).toThrow(/placement/);
  });
});
