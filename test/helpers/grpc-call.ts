/** One unary call of the inference service, as a test makes it: the status code it ended with. */
import {
  Client,
  credentials,
  Metadata,
  status,
  type ChannelCredentials,
  type ServiceError,
} from '@grpc/grpc-js';
import { inferenceMethods, type GrpcMethod } from '../../src/protocol/index.js';

/** A ModelInfer request for the test models' `[1, 4]` FP32 input. */
export function inferMessage(model = 'double'): unknown {
  return {
    model_name: model,
    inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [1, 2, 3, 4] } }],
  };
}

/**
 * Calls `method` at `address` with `request` and the given metadata, on a channel of its own.
 *
 * @example
 * expect(await grpcCode('127.0.0.1:8001', 'ModelInfer', inferMessage(), { authorization: `Bearer ${key}` })).toBe(status.OK);
 */
export function grpcCode(
  address: string,
  method: string,
  request: unknown,
  metadata: Readonly<Record<string, string>> = {},
  channel: ChannelCredentials = credentials.createInsecure(),
): Promise<number> {
  const spec = inferenceMethods()[method] as GrpcMethod;
  const client = new Client(address, channel);
  const sent = new Metadata();
  for (const [key, value] of Object.entries(metadata)) sent.set(key, value);
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      spec.path,
      spec.requestSerialize,
      spec.responseDeserialize,
      request,
      sent,
      (error: ServiceError | null) => {
        client.close();
        resolve(error?.code ?? status.OK);
      },
    );
  });
}
