/**
 * Load over the Open Inference Protocol's gRPC binding (open_inference_grpc.proto,
 * `GRPCInferenceService/ModelInfer`): the ModelInferRequest is encoded once, with raw input
 * contents as Triton's clients send them, and every call writes those same bytes. Each client has
 * a channel of its own (a local subchannel pool, so one HTTP/2 connection each), as REST has one
 * socket each.
 */
import { Client, credentials, Metadata, status, type ChannelOptions, type ServiceError } from '@grpc/grpc-js';
import {
  decodeGrpcInferResponse,
  encodeGrpcInferRequest,
  inferenceMethods,
  inferenceRoot,
  type GrpcInferResponseMessage,
  type GrpcMethod,
} from '../protocol/index.js';
import type { InferInput } from '../ground/index.js';
import { missingOutput, type LoadTarget, type TargetConnections } from './load-target.js';
import { MALFORMED, type SendResult } from './request-outcome.js';

export interface GrpcTargetOptions {
  /** host:port. */
  readonly address: string;
  readonly model: string;
  readonly version?: string;
  readonly inputs: readonly InferInput[];
  /** Outputs every answer must have. */
  readonly outputs: readonly string[];
  /** Metadata added to every call (lower-case names); `host` becomes the channel's authority. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Deadline of each call. */
  readonly timeoutMs: number;
}

const NO_LIMITS = { maxTensorElements: Number.MAX_SAFE_INTEGER };
const RESPONSE_TYPE = inferenceRoot.lookupType('inference.ModelInferResponse');
const MAX_MESSAGE = 2 ** 31 - 1;

/** The one ModelInferRequest of a run, encoded. */
export function grpcRequestOf(options: GrpcTargetOptions): Buffer {
  const method = inferenceMethods().ModelInfer as GrpcMethod;
  return method.requestSerialize(
    encodeGrpcInferRequest(options.model, options.version, { inputs: options.inputs }),
  );
}

/** The outcome of a call: a good inference response with every output, or why not. */
export function checkGrpcAnswer(
  error: ServiceError | null,
  bytes: Buffer | undefined,
  outputs: readonly string[],
): SendResult {
  if (error !== null) {
    const name = (status as Record<number, string | undefined>)[error.code] ?? String(error.code);
    return { kind: `gRPC ${name}`, message: error.details || error.message };
  }
  try {
    const message = RESPONSE_TYPE.decode(bytes ?? Buffer.alloc(0)) as unknown as GrpcInferResponseMessage;
    const missing = missingOutput(decodeGrpcInferResponse(message, NO_LIMITS).outputs, outputs);
    return missing === undefined
      ? undefined
      : { kind: MALFORMED, message: `the answer has no output "${missing}"` };
  } catch (error) {
    return { kind: MALFORMED, message: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * A gRPC target.
 *
 * @example
 * const target = createGrpcTarget({ address: '127.0.0.1:8001', model: 'iris', inputs, outputs: ['probabilities'], timeoutMs: 30_000 });
 */
export function createGrpcTarget(options: GrpcTargetOptions): LoadTarget {
  const request = grpcRequestOf(options);
  const path = (inferenceMethods().ModelInfer as GrpcMethod).path;
  const serialize = (): Buffer => request;
  const keep = (bytes: Buffer): Buffer => bytes;
  const { host, ...headers } = options.headers ?? {};
  const channelOptions: ChannelOptions = {
    'grpc.use_local_subchannel_pool': 1,
    'grpc.max_receive_message_length': MAX_MESSAGE,
    'grpc.max_send_message_length': MAX_MESSAGE,
    ...(host === undefined ? {} : { 'grpc.default_authority': host }),
  };
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(headers)) metadata.set(key, value);
  return {
    transport: 'grpc',
    requestBytes: request.byteLength,
    open(clients: number): TargetConnections {
      const channels = Array.from(
        { length: clients },
        () => new Client(options.address, credentials.createInsecure(), channelOptions),
      );
      const send = (client: number): Promise<SendResult> =>
        new Promise((resolve) => {
          (channels[client] as Client).makeUnaryRequest<null, Buffer>(
            path,
            serialize,
            keep,
            null,
            metadata.clone(),
            { deadline: Date.now() + options.timeoutMs },
            (error, bytes) => resolve(checkGrpcAnswer(error, bytes, options.outputs)),
          );
        });
      return {
        send,
        close: () => {
          for (const channel of channels) channel.close();
        },
      };
    },
  };
}
