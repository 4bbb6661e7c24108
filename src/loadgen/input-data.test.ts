import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TensorSpec } from '../ground/index.js';
import { thrownBy } from '../../test/helpers/errors.js';
import { tempDirsForFile } from '../../test/helpers/temp-dir.js';
import { readDataFile } from './input-data-file.js';
import { seededRandom, syntheticInputs } from './input-data.js';

const tempDir = tempDirsForFile('berth-loadgen-data-');

describe('syntheticInputs', () => {
  const specs: TensorSpec[] = [
    { name: 'f', datatype: 'FP32', shape: [2, 3] },
    { name: 'i', datatype: 'INT64', shape: [4] },
    { name: 'b', datatype: 'BOOL', shape: [8] },
    { name: 's', datatype: 'BYTES', shape: [2] },
    { name: 'h', datatype: 'FP16', shape: [1] },
    { name: 'u', datatype: 'UINT8', shape: [16] },
  ];

  it('makes the same random tensors on every run (a fixed seed)', () => {
    expect(syntheticInputs(specs, 'random')).toEqual(syntheticInputs(specs, 'random'));
  });

  it("gives each input its datatype's typed array and values in ranges models take", () => {
    const [f, i, b, s, h, u] = syntheticInputs(specs, 'random');
    expect(f?.data).toBeInstanceOf(Float32Array);
    expect(f?.data).toHaveLength(6);
    expect([...(f?.data as Float32Array)].every((v) => v >= 0 && v < 1)).toBe(true);
    expect(new Set(f?.data as Float32Array).size).toBeGreaterThan(1);
    expect(i?.data).toBeInstanceOf(BigInt64Array);
    expect([...(i?.data as BigInt64Array)].every((v) => v >= 0n && v < 100n)).toBe(true);
    expect([...(b?.data as Uint8Array)].every((v) => v === 0 || v === 1)).toBe(true);
    const strings = (s?.data as Uint8Array[]).map((bytes) => new TextDecoder().decode(bytes));
    expect(strings.every((text) => /^[a-z]{16}$/.test(text))).toBe(true);
    expect(h?.data).toBeInstanceOf(Uint16Array);
    expect([...(u?.data as Uint8Array)].every((v) => v < 100)).toBe(true);
  });

  it('makes zeros, and empty strings for BYTES', () => {
    const [f, i, , s] = syntheticInputs(specs, 'zero');
    expect([...(f?.data as Float32Array)]).toEqual([0, 0, 0, 0, 0, 0]);
    expect([...(i?.data as BigInt64Array)]).toEqual([0n, 0n, 0n, 0n]);
    expect((s?.data as Uint8Array[]).map((bytes) => bytes.length)).toEqual([0, 0]);
  });

  it('refuses a shape too large to make', () => {
    const error = thrownBy(() =>
      syntheticInputs([{ name: 'x', datatype: 'FP32', shape: [1 << 20, 1 << 20] }], 'zero'),
    );
    expect(error.code).toBe('BERTH_ERR_CLI_INVALID_OPTION');
    expect(error.message).toMatch(/^input "x": shape \[1048576,1048576\] has \d+ elements; at most/);
  });
});

describe('seededRandom', () => {
  it('depends on its seed and stays in [0, 1)', () => {
    const a = seededRandom(1);
    const b = seededRandom(2);
    const first = Array.from({ length: 1000 }, a);
    expect(first.every((v) => v >= 0 && v < 1)).toBe(true);
    expect(first.slice(0, 5)).not.toEqual(Array.from({ length: 5 }, b));
  });
});

describe('readDataFile', () => {
  const planned: TensorSpec[] = [
    { name: 'INPUT0', datatype: 'INT32', shape: [1, 2] },
    { name: 'INPUT1', datatype: 'FP32', shape: [1, 2] },
  ];
  const file = (content: unknown) => {
    const path = join(tempDir(), 'inputs.json');
    writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
    return path;
  };

  it('reads an inference request body, with its own shapes', () => {
    const path = file({
      inputs: [
        {
          name: 'INPUT0',
          datatype: 'INT32',
          shape: [2, 2],
          data: [
            [1, 2],
            [3, 4],
          ],
        },
        { name: 'INPUT1', datatype: 'FP32', shape: [2, 2], data: [0.5, 1, 1.5, 2] },
      ],
    });
    const { inputs, notes } = readDataFile(path, planned);
    expect(inputs.map((i) => [i.name, i.shape, [...(i.data as Int32Array)]])).toEqual([
      ['INPUT0', [2, 2], [1, 2, 3, 4]],
      ['INPUT1', [2, 2], [0.5, 1, 1.5, 2]],
    ]);
    expect(notes).toEqual([]);
  });

  it("reads perf_analyzer's input data: lists in the planned shape, content with a shape, b64", () => {
    const path = file({
      data: [
        {
          INPUT0: [7, 8],
          INPUT1: { content: [1, 2, 3], shape: [1, 3] },
        },
        { INPUT0: [0, 0], INPUT1: [0, 0] },
      ],
    });
    const { inputs, notes } = readDataFile(path, planned);
    expect(inputs.map((i) => [i.name, i.datatype, i.shape, [...(i.data as Int32Array)]])).toEqual([
      ['INPUT0', 'INT32', [1, 2], [7, 8]],
      ['INPUT1', 'FP32', [1, 3], [1, 2, 3]],
    ]);
    expect(notes).toEqual(['--data: the file has 2 entries; every request sends the first']);
    const b64 = Buffer.from(new Int32Array([5, 6]).buffer).toString('base64');
    const raw = readDataFile(file({ data: [{ INPUT0: { b64 }, INPUT1: [1, 2] }] }), planned);
    expect([...(raw.inputs[0]?.data as Int32Array)]).toEqual([5, 6]);
  });

  it.each([
    ['a missing file', null, /cannot read the file \(ENOENT\)/],
    ['text that is not JSON', '{"inputs": [', /not JSON/],
    ['JSON of neither form', { instances: [] }, /expected an inference request/],
    [
      'an input the model lacks',
      { data: [{ INPUT0: [1, 2], INPUT1: [1, 2], x: [1] }] },
      /the model has no input "x"; its inputs are "INPUT0", "INPUT1"/,
    ],
    ['an input missing', { data: [{ INPUT0: [1, 2] }] }, /no data for input "INPUT1"/],
    [
      'data that does not fit the shape',
      { data: [{ INPUT0: [1, 2, 3], INPUT1: [1, 2] }] },
      /input "INPUT0": "data" has more than the 2 elements/,
    ],
    ['values out of range', { data: [{ INPUT0: [1.5, 2], INPUT1: [1, 2] }] }, /INPUT0.*INT32/],
  ])('refuses %s, naming the file', (_, content, message) => {
    const path = content === null ? join(tempDir(), 'missing.json') : file(content);
    const error = thrownBy(() => readDataFile(path, planned));
    expect(error.code).toBe('BERTH_ERR_BENCH_INVALID_DATA');
    expect(error.message.startsWith(`--data ${path}: `)).toBe(true);
    expect(error.message).toMatch(message);
  });

  it('notes a datatype that differs from the model, and sends it as in the file', () => {
    const path = file({
      inputs: [
        { name: 'INPUT0', datatype: 'INT64', shape: [1, 2], data: [1, 2] },
        { name: 'INPUT1', datatype: 'FP32', shape: [1, 2], data: [1, 2] },
      ],
    });
    const { inputs, notes } = readDataFile(path, planned);
    expect(inputs[0]?.datatype).toBe('INT64');
    expect(notes).toEqual([
      '--data: input "INPUT0" is INT64 in the file, INT32 in the model; sent as in the file',
    ]);
  });
});
