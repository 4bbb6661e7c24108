/**
 * The RPCs of `inference.GRPCInferenceService`: thin translations between protobuf messages and
 * the registry and inference service, which the REST routes use too. Each handler answers with
 * the message or with the status of the error's category (grpc-errors.ts).
 */
import type {
  sendUnaryData,
  ServerDuplexStream,
  ServerUnaryCall,
  UntypedServiceImplementation,
} from '@grpc/grpc-js';
import {
  BerthError,
  decodeGrpcInferRequest,
  encodeGrpcInferResponse,
  inferenceRoot,
  parameterValueOf,
  type DecodeLimits,
  type GrpcInferRequestMessage,
  type GrpcParameter,
  type InferResponse,
  type ServerMetadata,
} from '../../protocol/index.js';
import type { Logger } from '../../observability/index.js';
import type { ModelRegistry } from '../../runtime/index.js';
import type { CancelSignal } from '../../scheduler/index.js';
import type { InferenceService } from '../inference-service.js';
import type { ModelControl } from '../model-control.js';
import { loadModel, unloadModel, type RepositoryParameters } from '../repository-actions.js';
import { tritonModelConfig } from '../triton-model-config.js';
import { toServiceError } from './grpc-errors.js';

/** Converts Triton's JSON names of enums (TYPE_FP32, KIND_CPU) to the numbers the wire needs. */
const CONFIG_RESPONSE = inferenceRoot.lookupType('inference.ModelConfigResponse');

export interface GrpcHandlerOptions {
  readonly registry: ModelRegistry;
  readonly service: InferenceService;
  readonly control: ModelControl;
  readonly server: ServerMetadata;
  readonly limits: DecodeLimits;
  readonly logger: Logger;
  readonly isReady: () => boolean;
  readonly isDraining: () => boolean;
}

interface NameVersion {
  readonly name?: string;
  readonly version?: string;
}

/** A call's end (cancel, deadline, or done) as the scheduler's cancel signal. */
class CallEnded implements CancelSignal {
  private listener: (() => void) | undefined;
  constructor(
    private readonly call: { cancelled: boolean; once(event: 'cancelled', l: () => void): unknown },
  ) {}

  get aborted(): boolean {
    return this.call.cancelled;
  }

  addEventListener(_type: 'abort', listener: () => void): void {
    this.listener = listener;
    this.call.once('cancelled', () => this.listener?.());
  }

  removeEventListener(_type: 'abort', listener: () => void): void {
    if (this.listener === listener) this.listener = undefined;
  }
}

interface RepositoryModelRequest {
  readonly repository_name?: string;
  readonly model_name?: string;
  readonly parameters?: Readonly<Record<string, GrpcParameter>> | null;
}

/** ModelRepositoryParameter values: bytes (file contents) stay bytes, for a clear refusal. */
function repositoryParameters(request: RepositoryModelRequest): RepositoryParameters {
  const out: Record<string, string | number | boolean | Uint8Array> = {};
  for (const [key, parameter] of Object.entries(request.parameters ?? {})) {
    out[key] =
      parameter.bytes_param !== undefined &&
      parameter.bytes_param !== null &&
      parameter.parameter_choice === 'bytes_param'
        ? parameter.bytes_param
        : parameterValueOf(parameter, `parameters.${key}`);
  }
  return out;
}

function versionOf(version: string | undefined): string | undefined {
  return version === undefined || version === '' ? undefined : version;
}

function modelNameOf(name: string | undefined, field: string): string {
  if (name === undefined || name === '') {
    throw new BerthError('BERTH_ERR_PROTOCOL_INVALID_REQUEST', `${field} must be a non-empty string`);
  }
  return name;
}

/**
 * @example
 * server.addService(inferenceMethods() as ServiceDefinition, createGrpcHandlers(options));
 */
export function createGrpcHandlers(options: GrpcHandlerOptions): UntypedServiceImplementation {
  const { registry, service, limits, logger } = options;

  /** A unary handler from a function of the request; thrown errors become statuses. */
  const unary =
    <Req, Res>(method: string, handle: (request: Req) => Res | Promise<Res>) =>
    (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
      Promise.resolve()
        .then(() => handle(call.request))
        .then(
          (response) => callback(null, response),
          (error: unknown) => callback(toServiceError(error, logger, method)),
        );
    };

  const infer = (
    message: GrpcInferRequestMessage,
    call: {
      cancelled: boolean;
      once(event: 'cancelled', l: () => void): unknown;
      getDeadline(): Date | number;
    },
  ): Promise<InferResponse> => {
    if (options.isDraining()) {
      return Promise.reject(
        new BerthError('BERTH_ERR_SERVER_SHUTTING_DOWN', 'server is shutting down; retry on another replica'),
      );
    }
    const model = modelNameOf(message.model_name, 'model_name');
    const deadline = Number(call.getDeadline());
    return service.infer(
      model,
      versionOf(message.model_version),
      () => decodeGrpcInferRequest(message, limits),
      {
        signal: new CallEnded(call),
        ...(Number.isFinite(deadline) ? { deadlineMs: deadline - Date.now() } : {}),
      },
    );
  };

  return {
    ServerLive: unary('ServerLive', () => ({ live: !options.isDraining() })),
    ServerReady: unary('ServerReady', () => ({ ready: options.isReady() })),
    ModelReady: unary('ModelReady', (request: NameVersion) => ({
      ready: registry.isReady(modelNameOf(request.name, 'name'), versionOf(request.version)),
    })),
    ServerMetadata: unary('ServerMetadata', () => options.server),
    ModelMetadata: unary('ModelMetadata', (request: NameVersion) =>
      registry.metadata(modelNameOf(request.name, 'name'), versionOf(request.version)),
    ),
    ModelInfer: (
      call: ServerUnaryCall<GrpcInferRequestMessage, unknown>,
      callback: sendUnaryData<unknown>,
    ) => {
      Promise.resolve()
        .then(() => infer(call.request, call))
        .then(
          (response) => {
            if (!call.cancelled) callback(null, encodeGrpcInferResponse(response));
          },
          (error: unknown) => callback(toServiceError(error, logger, 'ModelInfer')),
        );
    },
    // Triton's streaming RPC: each request gets one response message, in completion order, and
    // a failed request is an error_message in its response, not the end of the stream.
    ModelStreamInfer: (call: ServerDuplexStream<GrpcInferRequestMessage, unknown>) => {
      let pending = 0;
      let ended = false;
      const finish = () => {
        if (ended && pending === 0 && !call.cancelled) call.end();
      };
      call.on('data', (message: GrpcInferRequestMessage) => {
        pending++;
        void Promise.resolve()
          .then(() => infer(message, call))
          .then(
            (response) => ({ error_message: '', infer_response: encodeGrpcInferResponse(response) }),
            (error: unknown) => {
              const status = toServiceError(error, logger, 'ModelStreamInfer');
              return {
                error_message: status.details ?? 'internal server error',
                infer_response: { model_name: message.model_name ?? '', id: message.id ?? '' },
              };
            },
          )
          .then((reply) => {
            if (!call.cancelled && call.writable) call.write(reply);
          })
          .finally(() => {
            pending--;
            finish();
          });
      });
      call.on('end', () => {
        ended = true;
        finish();
      });
      call.on('error', (error) => logger.debug({ err: error }, 'stream closed with an error'));
    },
    ModelConfig: unary('ModelConfig', (request: NameVersion) =>
      CONFIG_RESPONSE.fromObject({
        config: tritonModelConfig(
          registry.resolve(modelNameOf(request.name, 'name'), versionOf(request.version)),
        ),
      }),
    ),
    ModelStatistics: unary('ModelStatistics', (request: NameVersion) => ({
      model_stats: registry.stats(request.name, versionOf(request.version)),
    })),
    RepositoryModelLoad: unary('RepositoryModelLoad', async (request: RepositoryModelRequest) => {
      await loadModel(
        options.control,
        logger,
        modelNameOf(request.model_name, 'model_name'),
        repositoryParameters(request),
      );
      return {};
    }),
    RepositoryModelUnload: unary('RepositoryModelUnload', async (request: RepositoryModelRequest) => {
      await unloadModel(
        options.control,
        modelNameOf(request.model_name, 'model_name'),
        repositoryParameters(request),
      );
      return {};
    }),
    RepositoryIndex: unary(
      'RepositoryIndex',
      async (request: { repository_name?: string; ready?: boolean }) => ({
        models: await options.control.index(request.ready === true),
      }),
    ),
  };
}
