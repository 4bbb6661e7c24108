/**
 * The Open Inference Protocol v2 over gRPC (`inference.GRPCInferenceService`), with the same
 * methods and results as the REST client, for berth, Triton and KServe servers. Tensors travel as
 * raw bytes both ways, as Triton's own clients send them.
 */
import { Client, credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import type { BerthError } from '../protocol/index.js';
import {
  decodeGrpcInferResponse,
  encodeGrpcInferRequest,
  ERROR_CODE_KEY,
  errorFromWire,
  isErrorCode,
  inferenceMethods,
  inferenceRoot,
  type GrpcInferResponseMessage,
  type GrpcMethod,
  type InferResponse,
  type ModelIndexEntry,
  type ModelMetadata,
  type ModelState,
  type ServerMetadata,
} from '../protocol/index.js';
import type { ModelStatsJson } from '../observability/index.js';
import type { InferInputInit, InferOptions, OipClient } from './oip-client.js';
import { toTensorData } from './tensor-input.js';
import { isGrpcUnreachable, unreachable } from './unreachable.js';

export interface GrpcClientOptions {
  /** host:port of the server, e.g. 127.0.0.1:8001 (a grpc:// prefix is accepted). */
  readonly address: string;
  /** Per-call deadline in milliseconds (default 60 000). */
  readonly timeoutMs?: number;
  /** Metadata added to every call (for example an API key). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Largest response message accepted (default 2 GiB - 1, as Triton's clients). */
  readonly maxMessageBytes?: number;
}

const NO_LIMITS = { maxTensorElements: Number.MAX_SAFE_INTEGER };
const STATS_TYPE = inferenceRoot.lookupType('inference.ModelStatistics');

/** A failed call as a BerthError: berth's own code when the server sent one. */
function fromServiceError(error: ServiceError, what: string, url: string): BerthError {
  const [code] = error.metadata.get(ERROR_CODE_KEY);
  if (!isErrorCode(code) && isGrpcUnreachable(error)) return unreachable(url, error);
  return errorFromWire(
    code,
    'BERTH_ERR_CLIENT_REQUEST_FAILED',
    `gRPC ${what}: ${error.details || error.message} (status ${error.code})`,
    { cause: error },
  );
}

interface NamedVersion {
  readonly name: string;
  readonly version: string;
}

export class OipGrpcClient implements OipClient {
  private readonly client: Client;
  private readonly methods = inferenceMethods();
  private readonly timeoutMs: number;
  private readonly headers: Readonly<Record<string, string>>;
  private readonly url: string;

  constructor(options: GrpcClientOptions) {
    const address = options.address.replace(/^grpc:\/\//, '').replace(/\/+$/, '');
    this.url = `grpc://${address}`;
    const max = options.maxMessageBytes ?? 2 ** 31 - 1;
    this.client = new Client(address, credentials.createInsecure(), {
      'grpc.max_receive_message_length': max,
      'grpc.max_send_message_length': max,
    });
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.headers = options.headers ?? {};
  }

  private call<T>(name: string, request: unknown, signal?: AbortSignal): Promise<T> {
    const method = this.methods[name] as GrpcMethod;
    const metadata = new Metadata();
    for (const [key, value] of Object.entries(this.headers)) metadata.set(key, value);
    return new Promise<T>((resolve, reject) => {
      const call = this.client.makeUnaryRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        request,
        metadata,
        { deadline: Date.now() + this.timeoutMs },
        (error, response) => {
          signal?.removeEventListener('abort', cancel);
          if (error !== null) reject(fromServiceError(error, name, this.url));
          else resolve(response as T);
        },
      );
      const cancel = () => call.cancel();
      signal?.addEventListener('abort', cancel, { once: true });
    });
  }

  async live(): Promise<boolean> {
    return (await this.call<{ live: boolean }>('ServerLive', {})).live;
  }

  async ready(): Promise<boolean> {
    return (await this.call<{ ready: boolean }>('ServerReady', {})).ready;
  }

  async modelReady(model: string, version?: string): Promise<boolean> {
    return (await this.call<{ ready: boolean }>('ModelReady', { name: model, version: version ?? '' })).ready;
  }

  async serverMetadata(): Promise<ServerMetadata> {
    const m = await this.call<ServerMetadata>('ServerMetadata', {});
    return { name: m.name, version: m.version, extensions: [...m.extensions] };
  }

  async modelMetadata(model: string, version?: string): Promise<ModelMetadata> {
    type Spec = { name: string; datatype: string; shape: unknown[] };
    const m = await this.call<{
      name: string;
      versions: string[];
      platform: string;
      inputs: Spec[];
      outputs: Spec[];
    }>('ModelMetadata', { name: model, version: version ?? '' });
    const spec = (t: Spec) => ({ name: t.name, datatype: t.datatype, shape: t.shape.map(Number) });
    return {
      name: m.name,
      versions: [...m.versions],
      platform: m.platform,
      inputs: m.inputs.map(spec),
      outputs: m.outputs.map(spec),
    } as ModelMetadata;
  }

  async repositoryIndex(options: { readyOnly?: boolean } = {}): Promise<ModelIndexEntry[]> {
    const index = await this.call<{ models: (NamedVersion & { state: string; reason: string })[] }>(
      'RepositoryIndex',
      { repository_name: '', ready: options.readyOnly === true },
    );
    return index.models.map((m) => ({
      name: m.name,
      version: m.version,
      state: m.state as ModelState,
      reason: m.reason,
    }));
  }

  /** Runs an inference; inputs may be typed arrays (sent without copying) or plain arrays. */
  async infer(
    model: string,
    inputs: readonly InferInputInit[],
    options: InferOptions = {},
  ): Promise<InferResponse> {
    const message = encodeGrpcInferRequest(model, options.version, {
      ...(options.id === undefined ? {} : { id: options.id }),
      ...(options.parameters === undefined ? {} : { parameters: options.parameters }),
      inputs: inputs.map((input) => ({
        name: input.name,
        datatype: input.datatype,
        shape: input.shape,
        data: toTensorData(input.name, input.datatype, input.data),
        ...(input.parameters === undefined ? {} : { parameters: input.parameters }),
      })),
      ...(options.outputs === undefined ? {} : { outputs: options.outputs.map((name) => ({ name })) }),
    });
    const response = await this.call<GrpcInferResponseMessage>('ModelInfer', message, options.signal);
    return decodeGrpcInferResponse(response, NO_LIMITS);
  }

  async loadModel(model: string, options: { config?: string } = {}): Promise<void> {
    await this.call('RepositoryModelLoad', {
      repository_name: '',
      model_name: model,
      parameters: options.config === undefined ? {} : { config: { string_param: options.config } },
    });
  }

  async unloadModel(model: string): Promise<void> {
    await this.call('RepositoryModelUnload', { repository_name: '', model_name: model, parameters: {} });
  }

  async modelStatistics(model?: string, version?: string): Promise<ModelStatsJson[]> {
    const response = await this.call<{ model_stats: unknown[] }>('ModelStatistics', {
      name: model ?? '',
      version: version ?? '',
    });
    // uint64 fields arrive as Long objects; the REST shape has plain numbers.
    return response.model_stats.map(
      (stats) =>
        STATS_TYPE.toObject(stats as never, {
          longs: Number,
          defaults: true,
          arrays: true,
        }) as ModelStatsJson,
    );
  }

  /** Closes the channel. */
  close(): void {
    this.client.close();
  }
}
