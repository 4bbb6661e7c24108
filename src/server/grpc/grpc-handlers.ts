/**
 * The RPCs of `inference.GRPCInferenceService`, generated from the operation table
 * (../operations.ts) over any OipService: each translates its message to the operation's input
 * and the output back, and answers an error with the status of its category (grpc-errors.ts).
 */
import {
  Metadata,
  type sendUnaryData,
  type ServerDuplexStream,
  type ServerUnaryCall,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import {
  encodeGrpcInferResponse,
  MalformedMessage,
  type DecodeLimits,
  type GrpcInferRequestMessage,
  type InferCall,
  type OipService,
} from '../../protocol/index.js';
import { BerthError } from '../../ground/index.js';
import type { Logger } from '../../observability/index.js';
import type { EarlyRefusal } from '../../access/index.js';
import { grpcContext } from '../call-context.js';
import { INFER_OPERATION, OPERATIONS, STREAM_INFER_METHOD } from '../operations.js';
import { streamMessages } from './stream-messages.js';
import { toServiceError } from './grpc-errors.js';

export interface GrpcHandlerOptions {
  readonly service: OipService;
  readonly limits: DecodeLimits;
  readonly logger: Logger;
  /** With access control on: callers that cannot be let in are refused before decoding. */
  readonly refuseEarly?: EarlyRefusal;
}

/**
 * @example
 * server.addService(inferenceMethods() as ServiceDefinition, createGrpcHandlers(options));
 */
export function createGrpcHandlers(options: GrpcHandlerOptions): UntypedServiceImplementation {
  const { service, limits, logger, refuseEarly } = options;
  const handlers: UntypedServiceImplementation = {};
  for (const spec of OPERATIONS) {
    const { method } = spec.grpc;
    const decode = spec.grpc.decode as (message: unknown, limits: DecodeLimits) => unknown;
    const encode = spec.grpc.encode as (output: unknown) => unknown;
    const invoke = service[spec.operation].bind(service) as (
      input: unknown,
      context: unknown,
    ) => Promise<unknown>;
    // Health stays to the interceptor, which knows whether it is open.
    const early = spec.role === 'health' ? undefined : refuseEarly;
    const operation = spec.operation;
    handlers[method] = (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
      // Fields an interceptor adds to the answer (RateLimit's) go out as trailing metadata.
      let trailer: Metadata | undefined;
      const answerFields = {
        set: (name: string, value: string) => (trailer ??= new Metadata()).set(name, value),
      };
      Promise.resolve()
        .then(() => {
          const context = grpcContext(call, answerFields);
          const refused = early?.(context.credentials, {
            operation,
            transport: 'grpc',
            requestId: context.requestId,
            peer: context.peer,
          });
          if (refused !== undefined) throw refused;
          return invoke(decode(wellFormed(call.request, method), limits), context);
        })
        .then(
          (output) => {
            if (!call.cancelled) callback(null, encode(output), trailer);
          },
          (error: unknown) => callback(toServiceError(error, logger, method, trailer)),
        );
    };
  }

  // Triton's streaming RPC: each request gets one response message, in completion order, and a
  // failed request is an error_message in its response, not the end of the stream.
  handlers[STREAM_INFER_METHOD] = (call: ServerDuplexStream<GrpcInferRequestMessage, unknown>) => {
    const messages = new WeakMap<InferCall, GrpcInferRequestMessage>();
    const write = (message: unknown) => {
      if (!call.cancelled && call.writable) call.write(message);
    };
    const reply = (error: unknown, message: GrpcInferRequestMessage | undefined) => {
      const status = toServiceError(error, logger, STREAM_INFER_METHOD);
      write({
        error_message: status.details ?? 'internal server error',
        infer_response: { model_name: message?.model_name ?? '', id: message?.id ?? '' },
      });
    };
    async function* calls(): AsyncGenerator<InferCall> {
      for await (const message of streamMessages<GrpcInferRequestMessage>(call)) {
        let decoded: InferCall;
        try {
          decoded = INFER_OPERATION.grpc.decode(wellFormed(message, STREAM_INFER_METHOD), limits);
        } catch (error) {
          // A message that is no call at all (it names no model) is answered here, in turn.
          reply(error, message);
          continue;
        }
        messages.set(decoded, message);
        yield decoded;
      }
    }
    void (async () => {
      try {
        for await (const outcome of service.inferStream(calls(), grpcContext(call))) {
          if (outcome.error === undefined) {
            write({ error_message: '', infer_response: encodeGrpcInferResponse(outcome.response) });
          } else {
            reply(outcome.error, messages.get(outcome.call));
          }
        }
        if (!call.cancelled) call.end();
      } catch (error) {
        logger.debug({ err: error }, 'stream closed with an error');
        if (!call.cancelled) call.end();
      }
    })();
  };
  return handlers;
}

/** The message, or the caller's error (INVALID_ARGUMENT) when it did not decode (forServer). */
function wellFormed<T>(message: T | MalformedMessage, method: string): T {
  if (!(message instanceof MalformedMessage)) return message;
  throw new BerthError(
    'BERTH_ERR_PROTOCOL_INVALID_REQUEST',
    `the ${method} request is not a valid protobuf message of the inference service: ${message.reason}`,
  );
}
