/** One unary call of the inference service, as a test makes it: how it ended. */
import { Client, credentials, Metadata, type ChannelCredentials, type StatusObject } from '@grpc/grpc-js';
import { inferenceMethods, type GrpcMethod } from '../../src/protocol/index.js';

/** A ModelInfer request for the test models' `[1, 4]` FP32 input. */
export function inferMessage(model = 'double'): unknown {
  return {
    model_name: model,
    inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [1, 2, 3, 4] } }],
  };
}

/** How a call ended: its status code and details, and its trailing metadata (first values). */
export interface GrpcEnd {
  readonly code: number;
  readonly details: string;
  readonly trailers: Readonly<Record<string, string>>;
}

/**
 * Calls `method` at `address` with `request` and the given metadata, on a channel of its own.
 *
 * @example
 * const end = await grpcEnd('127.0.0.1:8001', 'ModelInfer', inferMessage(), { authorization: `Bearer ${key}` });
 * expect(end.trailers.ratelimit).toMatch(/^"caller";r=/);
 */
export function grpcEnd(
  address: string,
  method: string,
  request: unknown,
  metadata: Readonly<Record<string, string>> = {},
  channel: ChannelCredentials = credentials.createInsecure(),
): Promise<GrpcEnd> {
  const spec = inferenceMethods()[method] as GrpcMethod;
  const client = new Client(address, channel);
  const sent = new Metadata();
  for (const [key, value] of Object.entries(metadata)) sent.set(key, value);
  return new Promise((resolve) => {
    const call = client.makeUnaryRequest(
      spec.path,
      spec.requestSerialize,
      spec.responseDeserialize,
      request,
      sent,
      () => undefined,
    );
    call.on('status', (ended: StatusObject) => {
      client.close();
      const trailers: Record<string, string> = {};
      for (const [key, values] of Object.entries(ended.metadata.getMap())) trailers[key] = String(values);
      resolve({ code: ended.code, details: ended.details, trailers });
    });
  });
}

/**
 * The status code `method` at `address` ends with.
 *
 * @example
 * expect(await grpcCode('127.0.0.1:8001', 'ModelInfer', inferMessage(), { authorization: `Bearer ${key}` })).toBe(status.OK);
 */
export async function grpcCode(
  address: string,
  method: string,
  request: unknown,
  metadata: Readonly<Record<string, string>> = {},
  channel: ChannelCredentials = credentials.createInsecure(),
): Promise<number> {
  return (await grpcEnd(address, method, request, metadata, channel)).code;
}

/** One answer of ModelStreamInfer: a response, or that request's error. */
export interface StreamReply {
  readonly error_message: string;
  readonly infer_response?: { readonly id: string };
}

/**
 * Opens ModelStreamInfer at `address`, sends `messages` (a message object, or bytes sent as they
 * are), ends its side, and resolves with every reply once the server ends the stream.
 *
 * @example
 * const replies = await streamReplies('127.0.0.1:8001', [inferMessage(), Buffer.from([0x0a, 0xff])]);
 */
export async function streamReplies(address: string, messages: readonly unknown[]): Promise<StreamReply[]> {
  const spec = inferenceMethods().ModelStreamInfer as GrpcMethod;
  const client = new Client(address, credentials.createInsecure());
  const stream = client.makeBidiStreamRequest(
    spec.path,
    (message: unknown) => (Buffer.isBuffer(message) ? message : spec.requestSerialize(message)),
    spec.responseDeserialize,
  );
  const replies: StreamReply[] = [];
  const ended = new Promise<void>((resolve, reject) => {
    stream.on('data', (reply: StreamReply) => replies.push(reply));
    stream.on('end', () => resolve());
    stream.on('error', reject);
  });
  for (const message of messages) stream.write(message);
  stream.end();
  try {
    await ended;
  } finally {
    client.close();
  }
  return replies;
}
