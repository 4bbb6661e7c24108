/**
 * Property-based tests (fast-check) of the codecs' round trips: for every datatype, shape, and
 * mix of binary and JSON tensors, what is encoded decodes to the same tensors — REST and gRPC,
 * requests and responses. JSON cannot carry every value (NaN, infinities, bytes that are not
 * UTF-8, the sign of zero), so its tensors are drawn from what JSON can carry; binary ones from
 * every value.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_DECODE_LIMITS, type InferRequest, type InferResponse } from '../ground/index.js';
import { expectSameTensors, tensors } from '../../test/helpers/tensor-arbitraries.js';
import {
  decodeGrpcInferRequest,
  decodeGrpcInferResponse,
  encodeGrpcInferRequest,
  encodeGrpcInferResponse,
} from './grpc-infer.js';
import { inferenceMethods, type GrpcMethod } from './grpc-schema.js';
import { splitRestBody } from './rest-body.js';
import { decodeRestInferRequest, encodeRestInferRequest } from './rest-infer-request.js';
import { decodeRestInferResponse, encodeRestInferResponse } from './rest-infer-response.js';

const utf8 = new TextEncoder();
const limits = DEFAULT_DECODE_LIMITS;

function concat(header: string, chunks: readonly Uint8Array[]): { body: Uint8Array; headerLength: number } {
  const head = utf8.encode(header);
  const body = new Uint8Array(head.byteLength + chunks.reduce((n, c) => n + c.byteLength, 0));
  body.set(head);
  let at = head.byteLength;
  for (const chunk of chunks) {
    body.set(chunk, at);
    at += chunk.byteLength;
  }
  return { body, headerLength: head.byteLength };
}

const RUNS = { numRuns: 300 };

describe('codec round trips (fast-check)', () => {
  it('REST requests: encode, then split and decode, gives the same tensors, binary and JSON mixed', () => {
    fc.assert(
      fc.property(tensors, fc.boolean(), (drawn, allBinary) => {
        // encodeRestInferRequest encodes every input one way; a mix is made of two encodings.
        const binary = drawn.filter((d) => allBinary || d.binary);
        const json = drawn.filter((d) => !allBinary && !d.binary);
        for (const [group, binaryInputs] of [
          [binary, true],
          [json, false],
        ] as const) {
          if (group.length === 0) continue;
          const request: InferRequest = { id: 'r', inputs: group.map((d) => d.tensor) };
          const { header, chunks } = encodeRestInferRequest(request, { binaryInputs });
          const { body, headerLength } = concat(header, chunks);
          const split = splitRestBody(body, binaryInputs ? headerLength : undefined);
          const decoded = decodeRestInferRequest(split.header, split.binary, limits);
          expect(decoded.request.id).toBe('r');
          expectSameTensors(decoded.request.inputs, request.inputs);
        }
      }),
      RUNS,
    );
  });

  it('REST responses: encode with any mix of binary outputs, then decode, gives the same tensors', () => {
    fc.assert(
      fc.property(tensors, (drawn) => {
        const response: InferResponse = {
          modelName: 'm',
          modelVersion: '1',
          outputs: drawn.map((d) => d.tensor),
        };
        const binaryNames = new Set(drawn.filter((d) => d.binary).map((d) => d.tensor.name));
        const { header, chunks } = encodeRestInferResponse(response, {
          binary: (name) => binaryNames.has(name),
        });
        const { body, headerLength } = concat(header, chunks);
        const split = splitRestBody(body, chunks.length === 0 ? undefined : headerLength);
        const decoded = decodeRestInferResponse(split.header, split.binary, limits);
        expect([decoded.modelName, decoded.modelVersion]).toEqual(['m', '1']);
        expectSameTensors(decoded.outputs, response.outputs);
      }),
      RUNS,
    );
  });

  const methods = inferenceMethods();
  const infer = methods.ModelInfer as GrpcMethod;

  it('gRPC requests: encode, serialize, deserialize and decode give the same tensors, bit for bit', () => {
    fc.assert(
      fc.property(tensors, (drawn) => {
        const request: InferRequest = { id: 'r', inputs: drawn.map((d) => d.tensor) };
        const bytes = infer.requestSerialize(encodeGrpcInferRequest('m', undefined, request));
        const decoded = decodeGrpcInferRequest(infer.requestDeserialize(bytes) as never, limits);
        expect(decoded.id).toBe('r');
        expectSameTensors(decoded.inputs, request.inputs);
      }),
      RUNS,
    );
  });

  it('gRPC responses: the same, from the server to the client', () => {
    fc.assert(
      fc.property(tensors, (drawn) => {
        const response: InferResponse = {
          modelName: 'm',
          modelVersion: '2',
          id: 'x',
          outputs: drawn.map((d) => d.tensor),
        };
        const bytes = infer.responseSerialize(encodeGrpcInferResponse(response));
        const decoded = decodeGrpcInferResponse(infer.responseDeserialize(bytes) as never, limits);
        expect([decoded.modelName, decoded.modelVersion, decoded.id]).toEqual(['m', '2', 'x']);
        expectSameTensors(decoded.outputs, response.outputs);
      }),
      RUNS,
    );
  });
});
