import { describe, expect, it } from 'vitest';
import { thrownBy } from '../../test/helpers/errors.js';
import {
  decodeGrpcInferRequest,
  decodeGrpcInferResponse,
  encodeGrpcInferRequest,
  encodeGrpcInferResponse,
  type GrpcInferRequestMessage,
} from './grpc-infer.js';
import { inferenceMethods } from './grpc-schema.js';
import { bigIntOf, parametersOf, safeIntegerOf } from './grpc-values.js';

const limits = { maxTensorElements: 1 << 20 };
const methods = inferenceMethods();

/** Through the real wire codec: object → protobuf bytes → decoded message. */
function overTheWire(message: GrpcInferRequestMessage): GrpcInferRequestMessage {
  const method = methods.ModelInfer;
  if (method === undefined) throw new Error('no ModelInfer');
  return method.requestDeserialize(method.requestSerialize(message)) as GrpcInferRequestMessage;
}

describe('decodeGrpcInferRequest', () => {
  it('decodes raw inputs, parameters of every kind, id and requested outputs off the wire', () => {
    const message = overTheWire({
      model_name: 'm',
      id: 'r1',
      parameters: {
        priority: { uint64_param: 2 },
        timeout: { int64_param: 5000 },
        flag: { bool_param: true },
        ratio: { double_param: 0.5 },
        tag: { string_param: 'x' },
      },
      inputs: [
        { name: 'a', datatype: 'FP32', shape: [2, 2] },
        { name: 's', datatype: 'BYTES', shape: [2] },
      ],
      outputs: [{ name: 'y', parameters: { classification: { int64_param: 3 } } }],
      raw_input_contents: [
        new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer),
        new Uint8Array([1, 0, 0, 0, 0x61, 0, 0, 0, 0]),
      ],
    });
    const request = decodeGrpcInferRequest(message, limits);
    expect(request.id).toBe('r1');
    expect(request.parameters).toEqual({ priority: 2, timeout: 5000, flag: true, ratio: 0.5, tag: 'x' });
    expect(request.inputs[0]?.shape).toEqual([2, 2]);
    expect(Array.from(request.inputs[0]?.data as Float32Array)).toEqual([1, 2, 3, 4]);
    expect((request.inputs[1]?.data as Uint8Array[]).map((b) => Buffer.from(b).toString())).toEqual([
      'a',
      '',
    ]);
    expect(request.outputs).toEqual([{ name: 'y', parameters: { classification: 3 } }]);
  });

  it('decodes typed contents, including exact 64-bit integers, mixed with raw inputs', () => {
    const request = decodeGrpcInferRequest(
      overTheWire({
        model_name: 'm',
        inputs: [
          {
            name: 'i',
            datatype: 'INT64',
            shape: [2],
            contents: { int64_contents: ['-9223372036854775808', '9223372036854775807'] as never },
          },
          { name: 'r', datatype: 'INT8', shape: [1] },
          { name: 'b', datatype: 'BOOL', shape: [2], contents: { bool_contents: [true, false] } },
          { name: 'u', datatype: 'UINT16', shape: [1], contents: { uint_contents: [65535] } },
        ],
        raw_input_contents: [new Uint8Array([0xff])],
      }),
      limits,
    );
    expect(Array.from(request.inputs[0]?.data as BigInt64Array)).toEqual([-(2n ** 63n), 2n ** 63n - 1n]);
    expect(Array.from(request.inputs[1]?.data as Int8Array)).toEqual([-1]);
    expect(Array.from(request.inputs[2]?.data as Uint8Array)).toEqual([1, 0]);
    expect(Array.from(request.inputs[3]?.data as Uint16Array)).toEqual([65535]);
  });

  it.each<[string, GrpcInferRequestMessage, RegExp]>([
    [
      'a missing name',
      { inputs: [{ datatype: 'FP32', shape: [1] }] },
      /inputs\[0\]\.name must be a non-empty string/,
    ],
    ['a bad datatype', { inputs: [{ name: 'x', datatype: 'FLOAT', shape: [1] }] }, /datatype must be one of/],
    [
      'a negative dim',
      { inputs: [{ name: 'x', datatype: 'FP32', shape: [-1] }] },
      /shape\[0\] must be a non-negative integer/,
    ],
    ['no data', { inputs: [{ name: 'x', datatype: 'FP32', shape: [1] }] }, /"x": no data/],
    [
      'too few typed values',
      { inputs: [{ name: 'x', datatype: 'FP32', shape: [3], contents: { fp32_contents: [1, 2] } }] },
      /contents.fp32_contents has 2 elements but the shape declares 3/,
    ],
    [
      'an INT8 value out of range',
      { inputs: [{ name: 'x', datatype: 'INT8', shape: [1], contents: { int_contents: [300] } }] },
      /element 0 is 300, outside \[-128, 127\] \(INT8\)/,
    ],
    [
      'FP16 as typed contents',
      { inputs: [{ name: 'x', datatype: 'FP16', shape: [1], contents: { fp32_contents: [1] } }] },
      /FP16 data must be sent in raw_input_contents/,
    ],
    [
      'raw bytes of the wrong size',
      { inputs: [{ name: 'x', datatype: 'FP32', shape: [2] }], raw_input_contents: [new Uint8Array(4)] },
      /binary data has 4 bytes but shape and datatype FP32 need 8/,
    ],
    [
      'shared memory',
      {
        inputs: [
          {
            name: 'x',
            datatype: 'FP32',
            shape: [1],
            parameters: { shared_memory_region: { string_param: 'r' } },
          },
        ],
      },
      /shared memory\) is not supported/,
    ],
    [
      'an unsafe int64 parameter',
      { parameters: { big: { int64_param: '9007199254740993' } } },
      /parameters.big is 9007199254740993, beyond the 2\^53/,
    ],
    [
      'too many elements',
      { inputs: [{ name: 'x', datatype: 'FP32', shape: [1 << 11, 1 << 10] }] },
      /more than 1048576 elements/,
    ],
  ])('refuses %s, naming the field', (_, message, expected) => {
    const error = thrownBy(() =>
      decodeGrpcInferRequest(overTheWire({ model_name: 'm', ...message }), limits),
    );
    expect(error.category).toMatch(/INVALID_ARGUMENT|RESOURCE_EXHAUSTED/);
    expect(error.message).toMatch(expected);
  });
});

describe('gRPC responses and the client side', () => {
  it('round-trips a request and a response through the wire codec', () => {
    const request = {
      id: 'x',
      inputs: [{ name: 'a', datatype: 'INT32' as const, shape: [3], data: new Int32Array([1, -2, 3]) }],
      outputs: [{ name: 'y' }],
    };
    const decoded = decodeGrpcInferRequest(overTheWire(encodeGrpcInferRequest('m', '2', request)), limits);
    expect(decoded).toEqual({ ...request, inputs: [{ ...request.inputs[0] }] });

    const method = methods.ModelInfer;
    if (method === undefined) throw new Error('no ModelInfer');
    const response = {
      modelName: 'm',
      modelVersion: '2',
      id: 'x',
      outputs: [
        { name: 'y', datatype: 'FP64' as const, shape: [1, 2], data: new Float64Array([0.5, -1]) },
        { name: 's', datatype: 'BYTES' as const, shape: [1], data: [new Uint8Array([104, 105])] },
      ],
    };
    const wire = method.responseDeserialize(method.responseSerialize(encodeGrpcInferResponse(response)));
    const decodedResponse = decodeGrpcInferResponse(wire as never, limits);
    expect(decodedResponse.outputs[0]).toEqual(response.outputs[0]);
    expect((decodedResponse.outputs[1]?.data as Uint8Array[]).map((b) => Buffer.from(b).toString())).toEqual([
      'hi',
    ]);
    expect({ ...decodedResponse, outputs: [] }).toEqual({ ...response, outputs: [] });
  });
});

describe('64-bit integer values', () => {
  it('reads numbers, strings, bigints and Long-style objects exactly', () => {
    expect(bigIntOf({ low: -1, high: -1 }, 'x')).toBe(-1n);
    expect(bigIntOf({ low: -1, high: -1, unsigned: true }, 'x')).toBe(2n ** 64n - 1n);
    expect(bigIntOf('123', 'x')).toBe(123n);
    expect(safeIntegerOf({ low: 5, high: 0 }, 'x')).toBe(5);
    expect(thrownBy(() => bigIntOf('1e3', 'field')).message).toMatch(/field must be an integer/);
    expect(parametersOf({}, 'p')).toBeUndefined();
    expect(thrownBy(() => parametersOf({ e: {} }, 'p')).message).toMatch(/p.e has no value set/);
  });
});
