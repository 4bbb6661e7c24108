import {
  Metadata,
  Server,
  ServerCredentials,
  status,
  type ServerUnaryCall,
  type ServiceError,
  type sendUnaryData,
} from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import type { InferInput, InferResponse } from '../ground/index.js';
import {
  decodeGrpcInferRequest,
  encodeGrpcInferResponse,
  inferenceMethods,
  type GrpcInferRequestMessage,
  type GrpcMethod,
} from '../protocol/index.js';
import { checkGrpcAnswer, createGrpcTarget, grpcRequestOf } from './grpc-target.js';

const method = inferenceMethods().ModelInfer as GrpcMethod;
const inputs: InferInput[] = [{ name: 'x', datatype: 'INT32', shape: [1, 2], data: new Int32Array([1, 2]) }];
const response: InferResponse = {
  modelName: 'm',
  modelVersion: '1',
  outputs: [{ name: 'y', datatype: 'INT32', shape: [1, 2], data: new Int32Array([2, 4]) }],
};
const responseBytes = method.responseSerialize(encodeGrpcInferResponse(response));

function serviceError(code: status, details: string): ServiceError {
  return Object.assign(new Error(`${code} ${details}`), { code, details, metadata: new Metadata() });
}

describe('checkGrpcAnswer', () => {
  it('passes a well-formed response with every output', () => {
    expect(checkGrpcAnswer(null, responseBytes, ['y'])).toBeUndefined();
  });

  it('classes a failed call by its status name, with its details', () => {
    expect(checkGrpcAnswer(serviceError(status.INVALID_ARGUMENT, 'bad shape'), undefined, ['y'])).toEqual({
      kind: 'gRPC INVALID_ARGUMENT',
      message: 'bad shape',
    });
    expect(
      checkGrpcAnswer(serviceError(status.DEADLINE_EXCEEDED, 'Deadline exceeded'), undefined, [])?.kind,
    ).toBe('gRPC DEADLINE_EXCEEDED');
  });

  it('classes a response that is not one of the model as malformed', () => {
    expect(checkGrpcAnswer(null, responseBytes, ['y', 'z'])).toEqual({
      kind: 'malformed',
      message: 'the answer has no output "z"',
    });
    expect(checkGrpcAnswer(null, Buffer.from([0xff, 0xff, 0xff]), ['y'])?.kind).toBe('malformed');
    const short = method.responseSerialize({
      ...encodeGrpcInferResponse(response),
      raw_output_contents: [Buffer.alloc(3)],
    });
    expect(checkGrpcAnswer(null, short, ['y'])).toMatchObject({
      kind: 'malformed',
      message: expect.stringMatching(/binary data has 3 bytes/),
    });
  });
});

describe('createGrpcTarget', () => {
  let server: Server | undefined;
  afterEach(() => server?.forceShutdown());

  it('sends the one encoded request, on a connection per client', async () => {
    const peers = new Set<string>();
    const received: GrpcInferRequestMessage[] = [];
    server = new Server();
    server.addService(
      { ModelInfer: method },
      {
        ModelInfer: (
          call: ServerUnaryCall<GrpcInferRequestMessage, unknown>,
          callback: sendUnaryData<unknown>,
        ) => {
          peers.add(call.getPeer());
          received.push(call.request);
          callback(null, encodeGrpcInferResponse(response));
        },
      },
    );
    const port = await new Promise<number>((resolve, reject) =>
      server?.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, p) =>
        error ? reject(error) : resolve(p),
      ),
    );
    const options = {
      address: `127.0.0.1:${port}`,
      model: 'm',
      version: '3',
      inputs,
      outputs: ['y'],
      timeoutMs: 5000,
    };
    const target = createGrpcTarget(options);
    expect(target.requestBytes).toBe(grpcRequestOf(options).byteLength);
    const connections = target.open(2);
    for (let round = 0; round < 3; round++) {
      expect(await Promise.all([connections.send(0), connections.send(1)])).toEqual([undefined, undefined]);
    }
    connections.close();
    expect(received).toHaveLength(6);
    expect(peers.size).toBe(2);
    const first = received[0] as GrpcInferRequestMessage;
    expect([first.model_name, first.model_version]).toEqual(['m', '3']);
    expect(decodeGrpcInferRequest(first, { maxTensorElements: 10 }).inputs).toEqual(inputs);
  });
});
