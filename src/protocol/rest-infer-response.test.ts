import { describe, expect, it } from 'vitest';

import { decodeRestInferResponse, encodeRestInferResponse } from './rest-infer-response.js';
import { DEFAULT_DECODE_LIMITS, type InferResponse } from '../ground/index.js';
import { thrownBy } from '../../test/helpers/errors.js';
import { concat } from '../../test/helpers/bytes.js';

const utf8 = new TextEncoder();
const limits = DEFAULT_DECODE_LIMITS;

const response: InferResponse = {
  modelName: 'simple',
  modelVersion: '3',
  id: 'abc',
  parameters: { sequence_end: true },
  outputs: [
    { name: 'f', datatype: 'FP32', shape: [2, 2], data: Float32Array.from([0.1, -2, 3.5, 1e-20]) },
    {
      name: 'big',
      datatype: 'INT64',
      shape: [2],
      data: BigInt64Array.from([9007199254740993n, -(2n ** 63n)]),
    },
    { name: 'u', datatype: 'UINT64', shape: [1], data: BigUint64Array.from([18446744073709551615n]) },
    { name: 's', datatype: 'BYTES', shape: [2], data: [utf8.encode('héllo'), new Uint8Array(0)] },
    { name: 'b', datatype: 'BOOL', shape: [3], data: Uint8Array.from([1, 0, 1]) },
    { name: 'h', datatype: 'FP16', shape: [1], data: Uint16Array.from([0xc000]) },
  ],
};

function roundTrip(binaryNames: readonly string[]): InferResponse {
  const encoded = encodeRestInferResponse(response, { binary: (name) => binaryNames.includes(name) });
  return decodeRestInferResponse(JSON.parse(encoded.header), concat(encoded.chunks), limits);
}

describe('encodeRestInferResponse -> decodeRestInferResponse', () => {
  it('round-trips JSON outputs (64-bit integers beyond 2^53 go binary)', () => {
    const decoded = roundTrip(['big', 'u']);
    expect(
      decoded.outputs.map(({ name, datatype, shape, data }) => ({ name, datatype, shape, data })),
    ).toEqual(response.outputs);
    expect({ ...decoded, outputs: [] }).toEqual({ ...response, outputs: [] });
  });

  it('refuses JSON 64-bit integers beyond 2^53 instead of rounding them', () => {
    // The header carries the exact digits, but JSON.parse cannot hold them.
    const error = thrownBy(() => roundTrip([]));
    expect(error.code).toBe('BERTH_ERR_PROTOCOL_INVALID_DATA');
    expect(error.message).toContain('outputs[1] "big"');
  });

  it('round-trips every output as binary', () => {
    const decoded = roundTrip(response.outputs.map((o) => o.name));
    expect(
      decoded.outputs.map(({ name, datatype, shape, data }) => ({ name, datatype, shape, data })),
    ).toEqual(response.outputs);
  });

  it('round-trips a mix of JSON and binary outputs, keeping output order', () => {
    const decoded = roundTrip(['f', 'big', 'u', 's', 'h']);
    expect(decoded.outputs.map((o) => o.name)).toEqual(['f', 'big', 'u', 's', 'b', 'h']);
    expect(
      decoded.outputs.map(({ name, datatype, shape, data }) => ({ name, datatype, shape, data })),
    ).toEqual(response.outputs);
  });

  it('writes the header as the protocol describes and counts the binary bytes', () => {
    const encoded = encodeRestInferResponse(response, { binary: (name) => name === 'f' || name === 's' });
    const header = JSON.parse(encoded.header) as Record<string, unknown>;
    expect(header).toMatchObject({ model_name: 'simple', model_version: '3', id: 'abc' });
    expect(header.outputs).toContainEqual({
      name: 'f',
      datatype: 'FP32',
      shape: [2, 2],
      parameters: { binary_data_size: 16 },
    });
    expect(header.outputs).toContainEqual({
      name: 'b',
      datatype: 'BOOL',
      shape: [3],
      data: [true, false, true],
    });
    // 16 bytes of FP32, then BYTES: (4 + 6) + (4 + 0).
    expect(encoded.binaryLength).toBe(16 + 14);
    expect(encoded.chunks.map((c) => c.byteLength)).toEqual([16, 14]);
  });

  it('sends fixed-size binary outputs as views over the output arrays', () => {
    const data = Float32Array.from([1, 2]);
    const encoded = encodeRestInferResponse(
      { modelName: 'm', modelVersion: '1', outputs: [{ name: 'y', datatype: 'FP32', shape: [2], data }] },
      { binary: () => true },
    );
    expect(encoded.chunks[0]?.buffer).toBe(data.buffer);
  });

  it('keeps INT64 digits exact in JSON output', () => {
    const encoded = encodeRestInferResponse(response, { binary: () => false });
    expect(encoded.header).toContain('"data":[9007199254740993,-9223372036854775808]');
    expect(encoded.header).toContain('"data":[18446744073709551615]');
  });

  it('writes NaN and infinite JSON outputs as null', () => {
    const encoded = encodeRestInferResponse(
      {
        modelName: 'm',
        modelVersion: '1',
        outputs: [{ name: 'y', datatype: 'FP32', shape: [3], data: Float32Array.from([NaN, Infinity, 1]) }],
      },
      { binary: () => false },
    );
    expect(JSON.parse(encoded.header)).toMatchObject({ outputs: [{ data: [null, null, 1] }] });
  });

  it('leaves out id and parameters when the response has none', () => {
    const encoded = encodeRestInferResponse(
      { modelName: 'm', modelVersion: '1', outputs: [] },
      { binary: () => false },
    );
    expect(JSON.parse(encoded.header)).toEqual({ model_name: 'm', model_version: '1', outputs: [] });
    expect(encoded.binaryLength).toBe(0);
  });
});

describe('decodeRestInferResponse', () => {
  it('defaults a missing model_version to the empty string', () => {
    expect(decodeRestInferResponse({ model_name: 'm', outputs: [] }, new Uint8Array(0), limits)).toEqual({
      modelName: 'm',
      modelVersion: '',
      outputs: [],
    });
  });

  it('refuses a response without model_name or outputs', () => {
    expect(thrownBy(() => decodeRestInferResponse({ outputs: [] }, new Uint8Array(0), limits)).message).toBe(
      'response "model_name" must be a string',
    );
    expect(
      thrownBy(() => decodeRestInferResponse({ model_name: 'm' }, new Uint8Array(0), limits)).message,
    ).toBe('response "outputs" must be an array');
  });

  it('refuses binary bytes no output claims', () => {
    const error = thrownBy(() =>
      decodeRestInferResponse({ model_name: 'm', outputs: [] }, new Uint8Array(2), limits),
    );
    expect(error.code).toBe('BERTH_ERR_PROTOCOL_INVALID_BINARY');
  });
});
