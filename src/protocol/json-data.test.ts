import { describe, expect, it } from 'vitest';

import type { Datatype, TensorData } from '../ground/index.js';
import { decodeJsonData, encodeJsonData } from './json-data.js';
import { thrownBy } from '../../test/helpers/errors.js';

const utf8 = new TextEncoder();

/** `levels` nested arrays around a single value: nest(1, 2) is [[1]]. */
function nest(value: unknown, levels: number): unknown {
  let out: unknown = value;
  for (let i = 0; i < levels; i++) out = [out];
  return out;
}

describe('decodeJsonData', () => {
  const cases: { datatype: Datatype; data: unknown[]; expected: TensorData }[] = [
    { datatype: 'BOOL', data: [true, false, true], expected: Uint8Array.from([1, 0, 1]) },
    { datatype: 'UINT8', data: [0, 1, 255], expected: Uint8Array.from([0, 1, 255]) },
    { datatype: 'UINT16', data: [0, 300, 65535], expected: Uint16Array.from([0, 300, 65535]) },
    { datatype: 'UINT32', data: [0, 70000, 4294967295], expected: Uint32Array.from([0, 70000, 4294967295]) },
    {
      datatype: 'UINT64',
      data: [0, 4294967296, 9007199254740991],
      expected: BigUint64Array.from([0n, 4294967296n, 9007199254740991n]),
    },
    { datatype: 'INT8', data: [-128, 0, 127], expected: Int8Array.from([-128, 0, 127]) },
    { datatype: 'INT16', data: [-32768, 0, 32767], expected: Int16Array.from([-32768, 0, 32767]) },
    {
      datatype: 'INT32',
      data: [-2147483648, 0, 2147483647],
      expected: Int32Array.from([-2147483648, 0, 2147483647]),
    },
    {
      datatype: 'INT64',
      data: [-9007199254740991, -1, 9007199254740991],
      expected: BigInt64Array.from([-9007199254740991n, -1n, 9007199254740991n]),
    },
    // 1, -2, 0.5 and the largest finite half as their binary16 bit patterns.
    {
      datatype: 'FP16',
      data: [1, -2, 0.5, 65504],
      expected: Uint16Array.from([0x3c00, 0xc000, 0x3800, 0x7bff]),
    },
    { datatype: 'FP32', data: [1.5, -0.1, 3.4e38], expected: Float32Array.from([1.5, -0.1, 3.4e38]) },
    {
      datatype: 'FP64',
      data: [Math.PI, -1e308, 5e-324],
      expected: Float64Array.from([Math.PI, -1e308, 5e-324]),
    },
    {
      datatype: 'BYTES',
      data: ['', 'héllo', '☃'],
      expected: [new Uint8Array(0), utf8.encode('héllo'), utf8.encode('☃')],
    },
  ];

  it.each(cases)('decodes $datatype into its typed representation', ({ datatype, data, expected }) => {
    const out = decodeJsonData(datatype, data, data.length, 'input "x"');
    expect(out.constructor).toBe(expected.constructor);
    expect(out).toEqual(expected);
  });

  it('accepts nested and flat data alike, row-major', () => {
    const flat = decodeJsonData('INT32', [1, 2, 3, 4, 5, 6], 6, 'input "x"');
    const nested = decodeJsonData(
      'INT32',
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      6,
      'input "x"',
    );
    const deeper = decodeJsonData(
      'INT32',
      [
        [[1], [2], [3]],
        [[4], [5], [6]],
      ],
      6,
      'input "x"',
    );
    expect(flat).toEqual(Int32Array.from([1, 2, 3, 4, 5, 6]));
    expect(nested).toEqual(flat);
    expect(deeper).toEqual(flat);
  });

  it('accepts a scalar for a one-element tensor', () => {
    expect(decodeJsonData('FP32', 2.5, 1, 'input "x"')).toEqual(Float32Array.from([2.5]));
    expect(decodeJsonData('BOOL', true, 1, 'input "x"')).toEqual(Uint8Array.from([1]));
    expect(decodeJsonData('BYTES', 'hi', 1, 'input "x"')).toEqual([utf8.encode('hi')]);
  });

  it('refuses a scalar, null or an object where an array is needed', () => {
    for (const [data, count] of [
      [2.5, 2],
      [null, 1],
      [{ a: 1 }, 1],
    ] as const) {
      const error = thrownBy(() => decodeJsonData('FP32', data, count, 'input "x"'));
      expect(error.code).toBe('BERTH_ERR_PROTOCOL_INVALID_DATA');
      expect(error.message).toBe('input "x": "data" must be an array');
    }
  });

  it('decodes an empty tensor', () => {
    expect(decodeJsonData('FP32', [], 0, 'input "x"')).toEqual(new Float32Array(0));
    expect(decodeJsonData('INT32', [[], []], 0, 'input "x"')).toEqual(new Int32Array(0));
  });

  it('refuses more elements than the shape declares', () => {
    const error = thrownBy(() => decodeJsonData('INT32', [[1, 2], [3]], 2, 'input "x"'));
    expect(error.code).toBe('BERTH_ERR_PROTOCOL_INVALID_DATA');
    expect(error.message).toBe('input "x": "data" has more than the 2 elements its shape declares');
  });

  it('refuses fewer elements than the shape declares', () => {
    const error = thrownBy(() => decodeJsonData('INT32', [1, 2, 3], 4, 'input "x"'));
    expect(error.code).toBe('BERTH_ERR_PROTOCOL_INVALID_DATA');
    expect(error.message).toBe('input "x": "data" has 3 elements but its shape declares 4');
  });

  it.each([
    { datatype: 'UINT8', value: 256, range: '[0, 255]' },
    { datatype: 'UINT8', value: -1, range: '[0, 255]' },
    { datatype: 'UINT8', value: 0.5, range: '[0, 255]' },
    { datatype: 'INT8', value: -129, range: '[-128, 127]' },
    { datatype: 'INT8', value: 128, range: '[-128, 127]' },
    { datatype: 'UINT16', value: 65536, range: '[0, 65535]' },
    { datatype: 'INT16', value: 32768, range: '[-32768, 32767]' },
    { datatype: 'INT16', value: -32769, range: '[-32768, 32767]' },
    { datatype: 'UINT32', value: 4294967296, range: '[0, 4294967295]' },
    { datatype: 'UINT32', value: -1, range: '[0, 4294967295]' },
    { datatype: 'INT32', value: 2147483648, range: '[-2147483648, 2147483647]' },
    { datatype: 'INT32', value: -2147483649, range: '[-2147483648, 2147483647]' },
    { datatype: 'INT32', value: 1.5, range: '[-2147483648, 2147483647]' },
  ] as const)('refuses $datatype $value instead of wrapping it', ({ datatype, value, range }) => {
    const error = thrownBy(() => decodeJsonData(datatype, [0, value], 2, 'input "x"'));
    expect(error.code).toBe('BERTH_ERR_PROTOCOL_INVALID_DATA');
    expect(error.message).toBe(
      `input "x": data element 1 must be an integer in ${range} (${datatype}), got ${JSON.stringify(value)}`,
    );
  });

  it('refuses 64-bit integers JSON cannot carry exactly, pointing at binary data', () => {
    // JSON.parse already turns 9007199254740993 into 9007199254740992 (2^53): accepting it would
    // silently change the value.
    for (const [datatype, value] of [
      ['INT64', 2 ** 53],
      ['INT64', -(2 ** 53)],
      ['UINT64', 2 ** 53],
      ['INT64', 1e20],
      ['INT64', 1.5],
      ['UINT64', -1],
    ] as const) {
      const error = thrownBy(() =>
        decodeJsonData(datatype, JSON.parse(`[${JSON.stringify(value)}]`), 1, 'input "x"'),
      );
      expect(error.code).toBe('BERTH_ERR_PROTOCOL_INVALID_DATA');
      expect(error.message).toContain(datatype);
      expect(error.message).toContain('binary');
    }
  });

  it('refuses FP32 values beyond the FP32 range instead of turning them into infinity', () => {
    for (const value of [3.5e38, -3.5e38, 1e300]) {
      const error = thrownBy(() => decodeJsonData('FP32', [value], 1, 'input "x"'));
      expect(error.code).toBe('BERTH_ERR_PROTOCOL_INVALID_DATA');
      expect(error.message).toContain('(FP32)');
    }
    expect(decodeJsonData('FP32', [-3.4e38], 1, 'x')).toEqual(Float32Array.from([-3.4e38]));
  });

  it('refuses FP16 values beyond the FP16 range', () => {
    for (const value of [70000, -70000, 65536]) {
      const error = thrownBy(() => decodeJsonData('FP16', [value], 1, 'input "x"'));
      expect(error.code).toBe('BERTH_ERR_PROTOCOL_INVALID_DATA');
      expect(error.message).toBe(
        `input "x": data element 0 must be a number within ±65504 (FP16), got ${value}`,
      );
    }
    // Values that round to the largest half are still accepted.
    expect(decodeJsonData('FP16', [65510, -65504], 2, 'x')).toEqual(Uint16Array.from([0x7bff, 0xfbff]));
  });

  it('accepts very large FP64 values', () => {
    expect(decodeJsonData('FP64', [1.7976931348623157e308], 1, 'x')).toEqual(
      Float64Array.from([Number.MAX_VALUE]),
    );
  });

  it.each([
    { datatype: 'BOOL', value: 1, expected: 'true or false', shown: '1' },
    { datatype: 'BOOL', value: 'true', expected: 'true or false', shown: '"true"' },
    {
      datatype: 'INT32',
      value: '1',
      expected: 'an integer in [-2147483648, 2147483647] (INT32)',
      shown: '"1"',
    },
    { datatype: 'UINT8', value: true, expected: 'an integer in [0, 255] (UINT8)', shown: 'true' },
    {
      datatype: 'FP32',
      value: null,
      expected: 'a number within ±3.4028234663852886e+38 (FP32)',
      shown: 'null',
    },
    { datatype: 'FP64', value: '1.5', expected: 'a number (FP64)', shown: '"1.5"' },
    { datatype: 'FP16', value: false, expected: 'a number within ±65504 (FP16)', shown: 'false' },
    { datatype: 'BYTES', value: 5, expected: 'a string (BYTES)', shown: '5' },
    { datatype: 'INT64', value: '5', expected: 'an integer in', shown: '"5"' },
  ] as const)('refuses a JSON $value for $datatype', ({ datatype, value, expected, shown }) => {
    const error = thrownBy(() => decodeJsonData(datatype, [value], 1, 'input "x"'));
    expect(error.code).toBe('BERTH_ERR_PROTOCOL_INVALID_DATA');
    expect(error.message).toContain(`input "x": data element 0 must be ${expected}`);
    expect(error.message).toMatch(new RegExp(`, got ${shown.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
  });

  it('refuses objects inside the data', () => {
    const error = thrownBy(() => decodeJsonData('FP32', [1, { v: 2 }], 2, 'input "x"'));
    expect(error.code).toBe('BERTH_ERR_PROTOCOL_INVALID_DATA');
    expect(error.message).toContain('data element 1 must be a number');
  });

  it('accepts nesting up to 64 levels and refuses deeper nesting', () => {
    expect(decodeJsonData('INT32', nest(7, 64), 1, 'input "x"')).toEqual(Int32Array.from([7]));
    const error = thrownBy(() => decodeJsonData('INT32', nest(7, 65), 1, 'input "x"'));
    expect(error.code).toBe('BERTH_ERR_PROTOCOL_INVALID_DATA');
    expect(error.message).toBe('input "x": "data" is nested deeper than 64 levels');
  });

  it('refuses pathological nesting with a protocol error, not a stack overflow', () => {
    const error = thrownBy(() => decodeJsonData('INT32', nest(7, 100_000), 1, 'input "x"'));
    expect(error.code).toBe('BERTH_ERR_PROTOCOL_INVALID_DATA');
  });
});

describe('encodeJsonData', () => {
  it('writes BOOL as true and false', () => {
    expect(encodeJsonData('BOOL', Uint8Array.from([1, 0, 1]))).toBe('[true,false,true]');
  });

  it('writes integer types as plain numbers', () => {
    expect(encodeJsonData('INT8', Int8Array.from([-128, 0, 127]))).toBe('[-128,0,127]');
    expect(encodeJsonData('UINT8', Uint8Array.from([0, 255]))).toBe('[0,255]');
    expect(encodeJsonData('INT16', Int16Array.from([-32768, 32767]))).toBe('[-32768,32767]');
    expect(encodeJsonData('UINT16', Uint16Array.from([65535]))).toBe('[65535]');
    expect(encodeJsonData('INT32', Int32Array.from([-2147483648, 2147483647]))).toBe(
      '[-2147483648,2147483647]',
    );
    expect(encodeJsonData('UINT32', Uint32Array.from([4294967295]))).toBe('[4294967295]');
  });

  it('keeps every digit of 64-bit integers', () => {
    expect(encodeJsonData('INT64', BigInt64Array.from([9007199254740993n, -9223372036854775808n, 0n]))).toBe(
      '[9007199254740993,-9223372036854775808,0]',
    );
    expect(encodeJsonData('UINT64', BigUint64Array.from([18446744073709551615n, 1n]))).toBe(
      '[18446744073709551615,1]',
    );
  });

  it('writes NaN and infinities, which JSON lacks, as null', () => {
    const special = [1.5, NaN, Infinity, -Infinity];
    expect(encodeJsonData('FP32', Float32Array.from(special))).toBe('[1.5,null,null,null]');
    expect(encodeJsonData('FP64', Float64Array.from(special))).toBe('[1.5,null,null,null]');
    // 1, +inf, NaN, -inf as half bit patterns.
    expect(encodeJsonData('FP16', Uint16Array.from([0x3c00, 0x7c00, 0x7e00, 0xfc00]))).toBe(
      '[1,null,null,null]',
    );
  });

  it('writes FP16 as the numbers its bits stand for', () => {
    expect(encodeJsonData('FP16', Uint16Array.from([0x3c00, 0xc000, 0x7bff, 0x0001]))).toBe(
      `[1,-2,65504,${2 ** -24}]`,
    );
  });

  it('writes FP32 so that reading it back gives the same float', () => {
    const data = Float32Array.from([0.1, -1e-30, 3.4028234663852886e38, 1 / 3]);
    const text = encodeJsonData('FP32', data);
    expect(Float32Array.from(JSON.parse(text) as number[])).toEqual(data);
  });

  it('writes BYTES as UTF-8 strings', () => {
    expect(encodeJsonData('BYTES', [utf8.encode('héllo'), new Uint8Array(0)])).toBe('["héllo",""]');
  });

  it('writes empty tensors as []', () => {
    expect(encodeJsonData('FP32', new Float32Array(0))).toBe('[]');
    expect(encodeJsonData('INT64', new BigInt64Array(0))).toBe('[]');
    expect(encodeJsonData('BYTES', [])).toBe('[]');
  });

  const roundTrips: { datatype: Datatype; data: TensorData }[] = [
    { datatype: 'BOOL', data: Uint8Array.from([0, 1, 1]) },
    { datatype: 'UINT8', data: Uint8Array.from([0, 128, 255]) },
    { datatype: 'UINT16', data: Uint16Array.from([0, 65535]) },
    { datatype: 'UINT32', data: Uint32Array.from([0, 4294967295]) },
    { datatype: 'UINT64', data: BigUint64Array.from([0n, 9007199254740991n]) },
    { datatype: 'INT8', data: Int8Array.from([-128, 127]) },
    { datatype: 'INT16', data: Int16Array.from([-32768, 32767]) },
    { datatype: 'INT32', data: Int32Array.from([-2147483648, 2147483647]) },
    { datatype: 'INT64', data: BigInt64Array.from([-9007199254740991n, 9007199254740991n]) },
    { datatype: 'FP16', data: Uint16Array.from([0x3c00, 0xbc00, 0x0001, 0x7bff, 0x03ff]) },
    { datatype: 'FP32', data: Float32Array.from([0.1, -2.5, 1e-40]) },
    { datatype: 'FP64', data: Float64Array.from([0.1, Math.E, -1e-310]) },
    { datatype: 'BYTES', data: [utf8.encode('a'), utf8.encode('ünï ☃')] },
  ];

  it.each(roundTrips)('round-trips $datatype through decodeJsonData', ({ datatype, data }) => {
    const text = encodeJsonData(datatype, data);
    expect(decodeJsonData(datatype, JSON.parse(text), data.length, 'x')).toEqual(data);
  });
});
