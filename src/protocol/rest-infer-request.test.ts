import { describe, expect, it } from 'vitest';

import {
  decodeRawInferRequest,
  decodeRestInferRequest,
  encodeRestInferRequest,
} from './rest-infer-request.js';
import { DEFAULT_DECODE_LIMITS, type InferRequest } from '../ground/index.js';
import { thrownBy } from '../../test/helpers/errors.js';
import { concat } from '../../test/helpers/bytes.js';

const utf8 = new TextEncoder();
const limits = DEFAULT_DECODE_LIMITS;
const none = new Uint8Array(0);

function le32(...values: number[]): Uint8Array {
  return new Uint8Array(Int32Array.from(values).buffer);
}

function f32(...values: number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

const fp32Input = { name: 'x', datatype: 'FP32', shape: [1, 2], data: [1.5, 2.5] };

describe('decodeRestInferRequest', () => {
  it('decodes JSON inputs and echoes the id and parameters', () => {
    const { request, encoding } = decodeRestInferRequest(
      { id: 'req-42', parameters: { priority: 1, tag: 'a', flag: true }, inputs: [fp32Input] },
      none,
      limits,
    );
    expect(request).toEqual({
      id: 'req-42',
      parameters: { priority: 1, tag: 'a', flag: true },
      inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: Float32Array.from([1.5, 2.5]) }],
    });
    expect(request.outputs).toBeUndefined();
    expect(encoding.binary('anything')).toBe(false);
  });

  it('leaves out id and parameters when the request has none', () => {
    const { request } = decodeRestInferRequest({ inputs: [fp32Input] }, none, limits);
    expect(Object.keys(request)).toEqual(['inputs']);
  });

  it("keeps an input's own parameters", () => {
    const { request } = decodeRestInferRequest(
      { inputs: [{ ...fp32Input, parameters: { content_type: 'np' } }] },
      none,
      limits,
    );
    expect(request.inputs[0]?.parameters).toEqual({ content_type: 'np' });
  });

  it.each([
    { header: null, message: 'request body must be a JSON object' },
    { header: [fp32Input], message: 'request body must be a JSON object' },
    { header: {}, message: '"inputs" must be an array' },
    { header: { inputs: {} }, message: '"inputs" must be an array' },
    { header: { id: 42, inputs: [] }, message: '"id" must be a string' },
    { header: { parameters: [], inputs: [] }, message: 'parameters must be a JSON object' },
    {
      header: { parameters: { a: { b: 1 } }, inputs: [] },
      message: 'parameters.a must be a string, number or boolean',
    },
    {
      header: { parameters: { a: null }, inputs: [] },
      message: 'parameters.a must be a string, number or boolean',
    },
    {
      header: { parameters: { binary_data_output: 'yes' }, inputs: [] },
      message: 'parameters.binary_data_output must be true or false',
    },
    { header: { inputs: [42] }, message: 'inputs[0] must be a JSON object' },
    {
      header: { inputs: [{ ...fp32Input, name: '' }] },
      message: 'inputs[0].name must be a non-empty string',
    },
    { header: { inputs: [{ ...fp32Input, name: 7 }] }, message: 'inputs[0].name must be a non-empty string' },
    {
      header: { inputs: [{ ...fp32Input, parameters: { p: [1] } }] },
      message: 'inputs[0] "x".parameters.p must be a string, number or boolean',
    },
    { header: { inputs: [fp32Input], outputs: 'y' }, message: '"outputs" must be an array' },
    { header: { inputs: [fp32Input], outputs: [{}] }, message: 'outputs[0].name must be a non-empty string' },
    {
      header: { inputs: [fp32Input], outputs: [{ name: 'y', parameters: { binary_data: 1 } }] },
      message: 'outputs[0].parameters.binary_data must be true or false',
    },
  ])('refuses a malformed request: $message', ({ header, message }) => {
    const error = thrownBy(() => decodeRestInferRequest(header, none, limits));
    expect(error.code).toBe('BERTH_ERR_PROTOCOL_INVALID_REQUEST');
    expect(error.message).toBe(message);
  });

  it('refuses an unknown datatype, naming the valid ones', () => {
    const error = thrownBy(() =>
      decodeRestInferRequest({ inputs: [{ ...fp32Input, datatype: 'FLOAT32' }] }, none, limits),
    );
    expect(error.code).toBe('BERTH_ERR_PROTOCOL_INVALID_DATATYPE');
    expect(error.message).toContain('inputs[0] "x": datatype must be one of BOOL,');
    expect(error.message).toContain('got "FLOAT32"');
    const missing = thrownBy(() =>
      decodeRestInferRequest({ inputs: [{ name: 'x', shape: [1], data: [1] }] }, none, limits),
    );
    expect(missing.message).toContain('got nothing');
  });

  it('refuses a bad shape and a shape over the element limit', () => {
    expect(
      thrownBy(() => decodeRestInferRequest({ inputs: [{ ...fp32Input, shape: [1, -2] }] }, none, limits))
        .code,
    ).toBe('BERTH_ERR_PROTOCOL_INVALID_SHAPE');
    const error = thrownBy(() =>
      decodeRestInferRequest({ inputs: [{ ...fp32Input, shape: [4, 4] }] }, none, { maxTensorElements: 10 }),
    );
    expect(error.code).toBe('BERTH_ERR_PROTOCOL_TENSOR_TOO_LARGE');
  });

  it('refuses JSON data that does not match the shape', () => {
    const error = thrownBy(() =>
      decodeRestInferRequest({ inputs: [{ ...fp32Input, shape: [1, 3] }] }, none, limits),
    );
    expect(error.code).toBe('BERTH_ERR_PROTOCOL_INVALID_DATA');
    expect(error.message).toBe('inputs[0] "x": "data" has 2 elements but its shape declares 3');
  });

  it('refuses an input without data', () => {
    const error = thrownBy(() =>
      decodeRestInferRequest({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1] }] }, none, limits),
    );
    expect(error.code).toBe('BERTH_ERR_PROTOCOL_INVALID_REQUEST');
    expect(error.message).toBe(
      'inputs[0] "x": "data" is required unless parameters.binary_data_size is given',
    );
  });

  it('slices the binary section by binary_data_size, in input order', () => {
    const binary = concat([le32(1, 2), f32(0.5), le32(-3)]);
    const { request } = decodeRestInferRequest(
      {
        inputs: [
          { name: 'a', datatype: 'INT32', shape: [2], parameters: { binary_data_size: 8 } },
          { name: 'b', datatype: 'FP32', shape: [1], parameters: { binary_data_size: 4 } },
          { name: 'j', datatype: 'INT32', shape: [1], data: [99] },
          { name: 'c', datatype: 'INT32', shape: [1], parameters: { binary_data_size: 4 } },
        ],
      },
      binary,
      limits,
    );
    expect(request.inputs.map((i) => [i.name, Array.from(i.data as Int32Array | Float32Array)])).toEqual([
      ['a', [1, 2]],
      ['b', [0.5]],
      ['j', [99]],
      ['c', [-3]],
    ]);
    expect(request.inputs[0]?.parameters).toEqual({ binary_data_size: 8 });
  });

  it('decodes BYTES from the binary section', () => {
    const binary = Uint8Array.from([2, 0, 0, 0, 104, 105, 0, 0, 0, 0]);
    const { request } = decodeRestInferRequest(
      { inputs: [{ name: 's', datatype: 'BYTES', shape: [2], parameters: { binary_data_size: 10 } }] },
      binary,
      limits,
    );
    expect(request.inputs[0]?.data).toEqual([utf8.encode('hi'), new Uint8Array(0)]);
  });

  it('refuses binary bytes that no input claims', () => {
    const error = thrownBy(() =>
      decodeRestInferRequest(
        { inputs: [{ name: 'a', datatype: 'INT32', shape: [1], parameters: { binary_data_size: 4 } }] },
        le32(1, 2),
        limits,
      ),
    );
    expect(error.code).toBe('BERTH_ERR_PROTOCOL_INVALID_BINARY');
    expect(error.message).toBe(
      '4 bytes of binary data follow the JSON header but no tensor claims them (check binary_data_size)',
    );
    expect(() => decodeRestInferRequest({ inputs: [fp32Input] }, Uint8Array.from([0]), limits)).toThrow(
      '1 bytes of binary data follow the JSON header',
    );
  });

  it('refuses a binary_data_size larger than what remains', () => {
    const error = thrownBy(() =>
      decodeRestInferRequest(
        {
          inputs: [
            { name: 'a', datatype: 'INT32', shape: [1], parameters: { binary_data_size: 4 } },
            { name: 'b', datatype: 'INT32', shape: [2], parameters: { binary_data_size: 8 } },
          ],
        },
        le32(1, 2),
        limits,
      ),
    );
    expect(error.code).toBe('BERTH_ERR_PROTOCOL_INVALID_BINARY');
    expect(error.message).toBe('inputs[1] "b": binary_data_size is 8 but only 4 bytes of binary data remain');
  });

  it('refuses a binary_data_size that disagrees with the shape', () => {
    const error = thrownBy(() =>
      decodeRestInferRequest(
        { inputs: [{ name: 'a', datatype: 'INT32', shape: [3], parameters: { binary_data_size: 8 } }] },
        le32(1, 2),
        limits,
      ),
    );
    expect(error.code).toBe('BERTH_ERR_PROTOCOL_INVALID_BINARY');
    expect(error.message).toBe('inputs[0] "a": binary data has 8 bytes but shape and datatype INT32 need 12');
  });

  it.each([-1, 1.5, '4', true])('refuses binary_data_size %j', (size) => {
    const error = thrownBy(() =>
      decodeRestInferRequest(
        { inputs: [{ name: 'a', datatype: 'INT32', shape: [1], parameters: { binary_data_size: size } }] },
        le32(1),
        limits,
      ),
    );
    expect(error.code).toBe('BERTH_ERR_PROTOCOL_INVALID_REQUEST');
    expect(error.message).toBe('inputs[0] "a": parameters.binary_data_size must be a non-negative integer');
  });

  it('refuses an input with both data and binary_data_size', () => {
    const error = thrownBy(() =>
      decodeRestInferRequest(
        {
          inputs: [
            { name: 'a', datatype: 'INT32', shape: [1], data: [1], parameters: { binary_data_size: 4 } },
          ],
        },
        le32(1),
        limits,
      ),
    );
    expect(error.code).toBe('BERTH_ERR_PROTOCOL_INVALID_REQUEST');
    expect(error.message).toBe('inputs[0] "a": has both "data" and parameters.binary_data_size; send one');
  });

  it.each(['shared_memory_region', 'shared_memory_byte_size', 'shared_memory_offset'])(
    'refuses the shared memory input parameter %s',
    (key) => {
      const error = thrownBy(() =>
        decodeRestInferRequest({ inputs: [{ ...fp32Input, parameters: { [key]: 'r0' } }] }, none, limits),
      );
      expect(error.code).toBe('BERTH_ERR_PROTOCOL_INVALID_REQUEST');
      expect(error.message).toBe(
        `inputs[0] "x": parameter "${key}" (shared memory) is not supported by berth`,
      );
    },
  );

  it('refuses shared memory for an output', () => {
    const error = thrownBy(() =>
      decodeRestInferRequest(
        { inputs: [fp32Input], outputs: [{ name: 'y', parameters: { shared_memory_region: 'r0' } }] },
        none,
        limits,
      ),
    );
    expect(error.code).toBe('BERTH_ERR_PROTOCOL_INVALID_REQUEST');
    expect(error.message).toContain('outputs[0] "y": parameter "shared_memory_region"');
  });

  it('lists requested outputs with their parameters', () => {
    const { request } = decodeRestInferRequest(
      { inputs: [fp32Input], outputs: [{ name: 'y' }, { name: 'z', parameters: { binary_data: true } }] },
      none,
      limits,
    );
    expect(request.outputs).toEqual([{ name: 'y' }, { name: 'z', parameters: { binary_data: true } }]);
  });

  it('takes an empty outputs list as every output, as an absent one (regression: it was an empty fetch list, a 500)', () => {
    const { request } = decodeRestInferRequest({ inputs: [fp32Input], outputs: [] }, none, limits);
    expect(request.outputs).toBeUndefined();
  });

  it("lets an output's binary_data override binary_data_output either way", () => {
    const onByDefault = decodeRestInferRequest(
      {
        parameters: { binary_data_output: true },
        inputs: [fp32Input],
        outputs: [{ name: 'json', parameters: { binary_data: false } }, { name: 'plain' }],
      },
      none,
      limits,
    ).encoding;
    expect(onByDefault.binary('json')).toBe(false);
    expect(onByDefault.binary('plain')).toBe(true);
    expect(onByDefault.binary('unlisted')).toBe(true);

    const offByDefault = decodeRestInferRequest(
      {
        parameters: { binary_data_output: false },
        inputs: [fp32Input],
        outputs: [{ name: 'bin', parameters: { binary_data: true } }, { name: 'plain' }],
      },
      none,
      limits,
    ).encoding;
    expect(offByDefault.binary('bin')).toBe(true);
    expect(offByDefault.binary('plain')).toBe(false);
  });
});

describe('decodeRawInferRequest', () => {
  it('infers a single variable dimension from the body size', () => {
    const body = f32(1, 2, 3, 4, 5, 6, 7, 8);
    const { request, encoding } = decodeRawInferRequest(
      { name: 'x', datatype: 'FP32', shape: [-1, 4] },
      body,
      limits,
    );
    expect(request.inputs).toEqual([
      { name: 'x', datatype: 'FP32', shape: [2, 4], data: Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]) },
    ]);
    expect(encoding.binary('anything')).toBe(true);
    const inner = decodeRawInferRequest(
      { name: 'x', datatype: 'INT32', shape: [2, -1] },
      le32(1, 2, 3, 4, 5, 6),
      limits,
    );
    expect(inner.request.inputs[0]?.shape).toEqual([2, 3]);
  });

  it('uses a fixed shape as declared and checks the byte count', () => {
    const { request } = decodeRawInferRequest(
      { name: 'x', datatype: 'INT32', shape: [2, 2] },
      le32(1, 2, 3, 4),
      limits,
    );
    expect(request.inputs[0]?.shape).toEqual([2, 2]);
    const error = thrownBy(() =>
      decodeRawInferRequest({ name: 'x', datatype: 'INT32', shape: [2, 2] }, le32(1, 2, 3), limits),
    );
    expect(error.code).toBe('BERTH_ERR_PROTOCOL_INVALID_BINARY');
    expect(error.message).toContain('binary data has 12 bytes but shape and datatype INT32 need 16');
  });

  it('refuses a body that is not a whole number of tensors', () => {
    for (const bytes of [20, 6]) {
      const error = thrownBy(() =>
        decodeRawInferRequest({ name: 'x', datatype: 'FP32', shape: [-1, 4] }, new Uint8Array(bytes), limits),
      );
      expect(error.code).toBe('BERTH_ERR_PROTOCOL_INVALID_BINARY');
      expect(error.message).toBe(
        `raw request for input "x": ${bytes} bytes is not a whole number of [-1,4] FP32 tensors`,
      );
    }
  });

  it('refuses shapes it cannot infer: BYTES or more than one variable dimension', () => {
    const bytes = thrownBy(() =>
      decodeRawInferRequest(
        { name: 's', datatype: 'BYTES', shape: [-1] },
        Uint8Array.from([0, 0, 0, 0]),
        limits,
      ),
    );
    expect(bytes.code).toBe('BERTH_ERR_PROTOCOL_INVALID_BINARY');
    expect(bytes.message).toBe(
      'raw request for input "s": input shape [-1] (BYTES) cannot be inferred from a raw body; send a JSON header',
    );
    const two = thrownBy(() =>
      decodeRawInferRequest({ name: 'x', datatype: 'FP32', shape: [-1, -1] }, f32(1, 2), limits),
    );
    expect(two.message).toContain('cannot be inferred from a raw body');
  });

  it('accepts BYTES with a fixed shape', () => {
    const { request } = decodeRawInferRequest(
      { name: 's', datatype: 'BYTES', shape: [1] },
      Uint8Array.from([1, 0, 0, 0, 65]),
      limits,
    );
    expect(request.inputs[0]?.data).toEqual([utf8.encode('A')]);
  });

  it('applies the element limit', () => {
    const error = thrownBy(() =>
      decodeRawInferRequest({ name: 'x', datatype: 'UINT8', shape: [-1] }, new Uint8Array(100), {
        maxTensorElements: 10,
      }),
    );
    expect(error.code).toBe('BERTH_ERR_PROTOCOL_TENSOR_TOO_LARGE');
  });
});

describe('encodeRestInferRequest -> decodeRestInferRequest', () => {
  const request: InferRequest = {
    id: 'round-trip',
    parameters: { priority: 2 },
    inputs: [
      { name: 'f', datatype: 'FP32', shape: [2, 2], data: Float32Array.from([0.1, -2, 3.5, 1e-20]) },
      { name: 'i', datatype: 'INT32', shape: [3], data: Int32Array.from([-1, 0, 2147483647]) },
      { name: 'b', datatype: 'BOOL', shape: [2], data: Uint8Array.from([1, 0]) },
      { name: 'h', datatype: 'FP16', shape: [1], data: Uint16Array.from([0x3c00]) },
      { name: 's', datatype: 'BYTES', shape: [2], data: [utf8.encode('héllo'), new Uint8Array(0)] },
      {
        name: 'u',
        datatype: 'UINT8',
        shape: [1],
        data: Uint8Array.from([255]),
        parameters: { note: 'kept' },
      },
    ],
    outputs: [{ name: 'y', parameters: { binary_data: false } }, { name: 'z' }],
  };

  function decode(encoded: { header: string; chunks: Uint8Array[] }) {
    return decodeRestInferRequest(JSON.parse(encoded.header), concat(encoded.chunks), limits);
  }

  it('round-trips through binary data, asking for binary outputs', () => {
    const encoded = encodeRestInferRequest(request);
    expect(encoded.chunks).toHaveLength(request.inputs.length);
    const { request: decoded, encoding } = decode(encoded);
    expect(decoded.id).toBe('round-trip');
    expect(decoded.parameters).toEqual({ priority: 2, binary_data_output: true });
    expect(decoded.outputs).toEqual(request.outputs);
    expect(
      decoded.inputs.map(({ name, datatype, shape, data }) => ({ name, datatype, shape, data })),
    ).toEqual(request.inputs.map(({ name, datatype, shape, data }) => ({ name, datatype, shape, data })));
    expect(decoded.inputs[5]?.parameters).toEqual({ note: 'kept', binary_data_size: 1 });
    expect(encoding.binary('z')).toBe(true);
    expect(encoding.binary('y')).toBe(false);
  });

  it('round-trips 64-bit integers beyond 2^53 exactly in binary', () => {
    const big: InferRequest = {
      inputs: [
        {
          name: 'a',
          datatype: 'INT64',
          shape: [2],
          data: BigInt64Array.from([9007199254740993n, -(2n ** 63n)]),
        },
        { name: 'b', datatype: 'UINT64', shape: [1], data: BigUint64Array.from([2n ** 64n - 1n]) },
      ],
    };
    const decoded = decode(encodeRestInferRequest(big)).request;
    expect(decoded.inputs[0]?.data).toEqual(BigInt64Array.from([9007199254740993n, -(2n ** 63n)]));
    expect(decoded.inputs[1]?.data).toEqual(BigUint64Array.from([2n ** 64n - 1n]));
  });

  it('round-trips through JSON data when binary inputs are off', () => {
    const encoded = encodeRestInferRequest(request, { binaryInputs: false, binaryOutputs: false });
    expect(encoded.chunks).toEqual([]);
    const { request: decoded, encoding } = decode(encoded);
    expect(decoded.parameters).toEqual({ priority: 2 });
    expect(decoded.inputs).toEqual(request.inputs);
    expect(encoding.binary('z')).toBe(false);
    expect(encoding.binary('y')).toBe(false);
  });

  it('shows that JSON cannot carry 64-bit integers beyond 2^53, so the server asks for binary', () => {
    const encoded = encodeRestInferRequest(
      {
        inputs: [{ name: 'a', datatype: 'INT64', shape: [1], data: BigInt64Array.from([9007199254740993n]) }],
      },
      { binaryInputs: false },
    );
    expect(encoded.header).toContain('[9007199254740993]');
    const error = thrownBy(() => decode(encoded));
    expect(error.code).toBe('BERTH_ERR_PROTOCOL_INVALID_DATA');
    expect(error.message).toContain('binary');
  });

  it('leaves out id, parameters and outputs when the request has none', () => {
    const encoded = encodeRestInferRequest(
      { inputs: [{ name: 'a', datatype: 'INT32', shape: [1], data: Int32Array.from([1]) }] },
      { binaryInputs: false, binaryOutputs: false },
    );
    expect(JSON.parse(encoded.header)).toEqual({
      inputs: [{ name: 'a', datatype: 'INT32', shape: [1], data: [1] }],
    });
  });
});

describe('decodeRestInferRequest and the element limit', () => {
  it('refuses a huge shape before any tensor memory is allocated', () => {
    // 1e10 elements: allocating them would throw a RangeError or exhaust memory, so reaching the
    // limit error proves the shape was checked first.
    for (const datatype of ['FP32', 'BYTES']) {
      const header = { inputs: [{ name: 'x', datatype, shape: [100_000, 100_000], data: [] }] };
      const error = thrownBy(() => decodeRestInferRequest(header, new Uint8Array(0), DEFAULT_DECODE_LIMITS));
      expect(error.code).toBe('BERTH_ERR_PROTOCOL_TENSOR_TOO_LARGE');
    }
  });
});
