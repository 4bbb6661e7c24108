import { describe, expect, it } from 'vitest';

import { decodeBinaryData, encodeBinaryData } from './binary-data.js';
import type { BytesData, FixedDatatype, NumericArray } from '../ground/index.js';
import { thrownBy } from '../../test/helpers/errors.js';

const utf8 = new TextEncoder();

/** Little-endian BYTES wire form: a uint32 length before each element. */
function bytesWire(...parts: (string | number[])[]): Uint8Array {
  const out: number[] = [];
  for (const part of parts) {
    if (typeof part === 'string') {
      const b = utf8.encode(part);
      out.push(
        b.length & 0xff,
        (b.length >> 8) & 0xff,
        (b.length >> 16) & 0xff,
        (b.length >>> 24) & 0xff,
        ...b,
      );
    } else {
      out.push(...part);
    }
  }
  return Uint8Array.from(out);
}

const FIXED: { datatype: FixedDatatype; data: NumericArray }[] = [
  { datatype: 'BOOL', data: Uint8Array.from([1, 0, 1]) },
  { datatype: 'UINT8', data: Uint8Array.from([0, 128, 255]) },
  { datatype: 'UINT16', data: Uint16Array.from([0, 258, 65535]) },
  { datatype: 'UINT32', data: Uint32Array.from([0, 16909060, 4294967295]) },
  { datatype: 'UINT64', data: BigUint64Array.from([0n, 2n ** 53n + 1n, 2n ** 64n - 1n]) },
  { datatype: 'INT8', data: Int8Array.from([-128, 0, 127]) },
  { datatype: 'INT16', data: Int16Array.from([-32768, -1, 32767]) },
  { datatype: 'INT32', data: Int32Array.from([-2147483648, -1, 2147483647]) },
  { datatype: 'INT64', data: BigInt64Array.from([-(2n ** 63n), 9007199254740993n, 2n ** 63n - 1n]) },
  { datatype: 'FP16', data: Uint16Array.from([0x3c00, 0x7c00, 0x7e00]) },
  { datatype: 'FP32', data: Float32Array.from([0.1, NaN, -Infinity]) },
  { datatype: 'FP64', data: Float64Array.from([Math.PI, NaN, 5e-324]) },
];

describe('encodeBinaryData / decodeBinaryData, fixed-size datatypes', () => {
  it.each(FIXED)('round-trips $datatype exactly', ({ datatype, data }) => {
    const bytes = encodeBinaryData(datatype, data);
    expect(bytes.byteLength).toBe(data.byteLength);
    // Copy into a fresh buffer so the decode cannot just hand back the original array.
    const decoded = decodeBinaryData(datatype, Uint8Array.from(bytes), data.length, 'x');
    expect(decoded.constructor).toBe(data.constructor);
    expect(decoded).toEqual(data);
  });

  it('writes little-endian bytes', () => {
    expect(Array.from(encodeBinaryData('INT32', Int32Array.from([1, -2])))).toEqual([
      1, 0, 0, 0, 254, 255, 255, 255,
    ]);
    expect(Array.from(encodeBinaryData('UINT16', Uint16Array.from([0x0102])))).toEqual([2, 1]);
    expect(Array.from(encodeBinaryData('FP16', Uint16Array.from([0x3c00])))).toEqual([0x00, 0x3c]);
  });

  it('encodes fixed-size data as a view, without copying', () => {
    const data = Float32Array.from([1, 2, 3]);
    const bytes = encodeBinaryData('FP32', data);
    expect(bytes.buffer).toBe(data.buffer);
  });

  it('decodes aligned data as a view over the same buffer', () => {
    const buffer = new ArrayBuffer(16);
    const bytes = new Uint8Array(buffer, 4, 8);
    new Int32Array(buffer, 4, 2).set([7, -7]);
    const decoded = decodeBinaryData('INT32', bytes, 2, 'x') as Int32Array;
    expect(decoded).toEqual(Int32Array.from([7, -7]));
    expect(decoded.buffer).toBe(buffer);
    expect(decoded.byteOffset).toBe(4);
    bytes[0] = 9;
    expect(decoded[0]).toBe(9);
  });

  it('decodes unaligned data into an aligned copy with the right values', () => {
    const bytes = new Uint8Array(17).subarray(1);
    new DataView(bytes.buffer, 1).setFloat64(0, Math.PI, true);
    new DataView(bytes.buffer, 1).setFloat64(8, -0.5, true);
    const decoded = decodeBinaryData('FP64', bytes, 2, 'x') as Float64Array;
    expect(decoded).toEqual(Float64Array.from([Math.PI, -0.5]));
    expect(decoded.buffer).not.toBe(bytes.buffer);

    const ints = new Uint8Array(9).subarray(1);
    new DataView(ints.buffer, 1).setBigInt64(0, -9007199254740993n, true);
    expect(decodeBinaryData('INT64', ints, 1, 'x')).toEqual(BigInt64Array.from([-9007199254740993n]));
  });

  it('refuses BOOL bytes other than 0 and 1', () => {
    const error = thrownBy(() => decodeBinaryData('BOOL', Uint8Array.from([1, 0, 2]), 3, 'input "b"'));
    expect(error.code).toBe('BERTH_ERR_PROTOCOL_INVALID_BINARY');
    expect(error.message).toBe('input "b": BOOL element 2 is byte 2, expected 0 or 1');
    expect(() => decodeBinaryData('BOOL', Uint8Array.from([255]), 1, 'x')).toThrow(/byte 255/);
    // UINT8 has no such restriction.
    expect(decodeBinaryData('UINT8', Uint8Array.from([2, 255]), 2, 'x')).toEqual(Uint8Array.from([2, 255]));
  });

  it.each([
    { datatype: 'INT32', count: 2, size: 7, need: 8 },
    { datatype: 'INT32', count: 2, size: 9, need: 8 },
    { datatype: 'FP16', count: 3, size: 3, need: 6 },
    { datatype: 'INT64', count: 1, size: 0, need: 8 },
    { datatype: 'UINT8', count: 0, size: 1, need: 0 },
  ] as const)('refuses $size bytes for $count $datatype elements', ({ datatype, count, size, need }) => {
    const error = thrownBy(() => decodeBinaryData(datatype, new Uint8Array(size), count, 'input "x"'));
    expect(error.code).toBe('BERTH_ERR_PROTOCOL_INVALID_BINARY');
    expect(error.message).toBe(
      `input "x": binary data has ${size} bytes but shape and datatype ${datatype} need ${need}`,
    );
  });
});

describe('encodeBinaryData / decodeBinaryData, BYTES', () => {
  it('writes each element as a little-endian uint32 length and its bytes', () => {
    const wire = encodeBinaryData('BYTES', [utf8.encode('ab'), new Uint8Array(0), utf8.encode('ü')]);
    expect(Array.from(wire)).toEqual([2, 0, 0, 0, 97, 98, 0, 0, 0, 0, 2, 0, 0, 0, 0xc3, 0xbc]);
  });

  it('parses well-formed elements as views into the body', () => {
    const wire = bytesWire('ab', '', 'ünï ☃');
    const decoded = decodeBinaryData('BYTES', wire, 3, 'x') as BytesData;
    expect(decoded).toEqual([utf8.encode('ab'), new Uint8Array(0), utf8.encode('ünï ☃')]);
    expect(decoded[0]?.buffer).toBe(wire.buffer);
  });

  it('round-trips arbitrary bytes, not only UTF-8', () => {
    const data = [Uint8Array.from([0, 255, 0x80]), new Uint8Array(300).fill(7)];
    expect(decodeBinaryData('BYTES', encodeBinaryData('BYTES', data), 2, 'x')).toEqual(data);
  });

  it('decodes zero elements from zero bytes', () => {
    expect(decodeBinaryData('BYTES', new Uint8Array(0), 0, 'x')).toEqual([]);
  });

  it('refuses a length prefix cut short', () => {
    const wire = bytesWire('ab', [1, 0, 0]);
    const error = thrownBy(() => decodeBinaryData('BYTES', wire, 2, 'input "s"'));
    expect(error.code).toBe('BERTH_ERR_PROTOCOL_INVALID_BINARY');
    expect(error.message).toBe('input "s": BYTES element 1 length prefix runs past the end of the data');
  });

  it('refuses a declared length that overflows the data', () => {
    const wire = bytesWire([0xff, 0xff, 0xff, 0xff], [97, 98]);
    const error = thrownBy(() => decodeBinaryData('BYTES', wire, 1, 'input "s"'));
    expect(error.code).toBe('BERTH_ERR_PROTOCOL_INVALID_BINARY');
    expect(error.message).toBe('input "s": BYTES element 0 declares 4294967295 bytes but only 2 remain');

    const short = bytesWire('ok', [5, 0, 0, 0, 97]);
    expect(() => decodeBinaryData('BYTES', short, 2, 'x')).toThrow(
      'BYTES element 1 declares 5 bytes but only 1 remain',
    );
  });

  it('refuses bytes left over after the last element', () => {
    const wire = bytesWire('ab', [1, 2, 3]);
    const error = thrownBy(() => decodeBinaryData('BYTES', wire, 1, 'input "s"'));
    expect(error.code).toBe('BERTH_ERR_PROTOCOL_INVALID_BINARY');
    expect(error.message).toBe('input "s": 3 bytes remain after 1 BYTES elements');
  });

  it('refuses an element count the bytes cannot hold before allocating anything', () => {
    const wire = bytesWire('a', 'b');
    const error = thrownBy(() => decodeBinaryData('BYTES', wire, 1_000_000_000, 'input "s"'));
    expect(error.code).toBe('BERTH_ERR_PROTOCOL_INVALID_BINARY');
    expect(error.message).toBe('input "s": 10 bytes cannot hold 1000000000 BYTES elements');
    expect(() => decodeBinaryData('BYTES', new Uint8Array(7), 2, 'x')).toThrow(
      '7 bytes cannot hold 2 BYTES elements',
    );
  });
});
