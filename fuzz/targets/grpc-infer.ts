/**
 * The gRPC `ModelInfer` request as the server takes it: protobuf bytes decoded by the service's
 * deserializer (a message that is not protobuf is the caller's error), then turned into an
 * inference request (typed contents, raw_input_contents, parameters) and validated against a
 * model's signature.
 */
import type * as Ground from '../../src/ground/index.js';
import type * as Protocol from '../../src/protocol/index.js';
import { mutateJson } from '../json-mutate.ts';
import { MAX_BATCH_SIZE, SIGNATURE } from '../signature.ts';
import { berth, type FuzzTarget } from '../target.ts';

const protocol = await berth<typeof Protocol>('protocol/index.js');
const ground = await berth<typeof Ground>('ground/index.js');

const MESSAGE = protocol.inferenceRoot.lookupType('inference.ModelInferRequest');
const method = protocol.forServer(protocol.inferenceMethods()).ModelInfer as Protocol.GrpcMethod;
const encode = (message: Record<string, unknown>) => new Uint8Array(method.requestSerialize(message));
const f32 = (...values: number[]) => Buffer.from(Float32Array.from(values).buffer);

export const target: FuzzTarget = {
  name: 'grpc-infer',
  description:
    'gRPC ModelInferRequest: protobuf decoding, typed and raw contents, parameters, then validation against a signature',
  focus: [
    '/protocol/grpc-infer',
    '/protocol/grpc-values',
    '/protocol/binary-data',
    '/protocol/infer-validate',
  ],
  dictionary: [
    'x',
    'ids',
    'text',
    'mask',
    'y',
    'FP32',
    'INT64',
    'BYTES',
    'BOOL',
    'binary_data_size',
    'classification',
  ],
  maxLength: 4096,
  seeds: () =>
    Promise.resolve({
      typed: encode({
        model_name: 'm',
        id: 'r1',
        inputs: [
          { name: 'x', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [1, 2, 3, 4] } },
          { name: 'ids', datatype: 'INT64', shape: [1, 2], contents: { int64_contents: [1, -2] } },
          { name: 'text', datatype: 'BYTES', shape: [1], contents: { bytes_contents: [Buffer.from('abc')] } },
          { name: 'mask', datatype: 'BOOL', shape: [1, 3], contents: { bool_contents: [true, false, true] } },
          { name: 'half', datatype: 'FP16', shape: [1, 2] },
        ],
        raw_input_contents: [Buffer.from(Uint16Array.of(0x3c00, 0x4000).buffer)],
        outputs: [{ name: 'y', parameters: { classification: { int64_param: 2 } } }],
        parameters: { priority: { int64_param: 1 } },
      }),
      raw: encode({
        model_name: 'm',
        inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 4] }],
        raw_input_contents: [f32(1, 2, 3, 4, 5, 6, 7, 8)],
      }),
      mixed: encode({
        model_name: 'm',
        inputs: [
          { name: 'x', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [1, 2, 3, 4] } },
          {
            name: 'text',
            datatype: 'BYTES',
            shape: [1],
            parameters: { binary_data_size: { int64_param: 7 } },
          },
        ],
        raw_input_contents: [Buffer.from([3, 0, 0, 0, 0x61, 0x62, 0x63])],
      }),
    }),
  mutate: (data, random) => {
    // The message changed as its JSON form (bytes as base64), then encoded again.
    try {
      const object = MESSAGE.toObject(MESSAGE.decode(data), { bytes: String, longs: String });
      const json = mutateJson(JSON.stringify(object), random);
      if (json === undefined) return undefined;
      return MESSAGE.encode(MESSAGE.fromObject(JSON.parse(json) as Record<string, unknown>)).finish();
    } catch {
      return undefined;
    }
  },
  run: (data) => {
    const message = method.requestDeserialize(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    // The server refuses such a message with INVALID_ARGUMENT (server/grpc/grpc-handlers.ts).
    if (message instanceof protocol.MalformedMessage) return message;
    const request = protocol.decodeGrpcInferRequest(
      message as Protocol.GrpcInferRequestMessage,
      ground.DEFAULT_DECODE_LIMITS,
    );
    protocol.validateInferRequest(request, SIGNATURE, { maxBatchSize: MAX_BATCH_SIZE });
    return request;
  },
};
