/**
 * A typed Open Inference Protocol v2 REST client for berth and any other OIP server (Triton,
 * KServe, MLServer): health, metadata, and inference with JSON or binary tensors to and from
 * typed arrays.
 */
import {
  BerthError,
  decodeRestInferResponse,
  encodeRestInferRequest,
  ERROR_CODE_KEY,
  errorFromWire,
  INFERENCE_HEADER_CONTENT_LENGTH,
  isObject,
  parseHeaderLength,
  splitRestBody,
  type InferResponse,
  type ModelIndexEntry,
  type ModelMetadata,
  type ServerMetadata,
  type Tensor,
} from '../protocol/index.js';
import type { ModelStatsJson } from '../observability/index.js';
import { OipGrpcClient } from './grpc-client.js';
import type { InferInputInit, InferOptions, OipClient } from './oip-client.js';
import { toTensorData } from './tensor-input.js';
import { unreachable } from './unreachable.js';

export interface ClientOptions {
  /** Base URL of the server, e.g. http://127.0.0.1:8000, or grpc://127.0.0.1:8001 for gRPC. */
  readonly url: string;
  /** Per-request timeout in milliseconds (default 60 000). */
  readonly timeoutMs?: number;
  /** Headers added to every request (for example an API key). */
  readonly headers?: Readonly<Record<string, string>>;
}

const NO_LIMITS = { maxTensorElements: Number.MAX_SAFE_INTEGER };

export class OipRestClient implements OipClient {
  private readonly base: string;
  private readonly timeoutMs: number;
  private readonly headers: Readonly<Record<string, string>>;

  constructor(options: ClientOptions) {
    this.base = options.url.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.headers = options.headers ?? {};
  }

  private modelPath(model: string, version: string | undefined): string {
    const versionPart = version === undefined ? '' : `/versions/${encodeURIComponent(version)}`;
    return `/v2/models/${encodeURIComponent(model)}${versionPart}`;
  }

  private async send(
    path: string,
    init: RequestInit & { signal?: AbortSignal | null } = {},
  ): Promise<Response> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    try {
      return await fetch(this.base + path, {
        ...init,
        headers: { ...this.headers, ...(init.headers as Record<string, string>) },
        signal,
      });
    } catch (error) {
      if (init.signal?.aborted === true) {
        throw new BerthError(
          'BERTH_ERR_CLIENT_REQUEST_FAILED',
          `${init.method ?? 'GET'} ${this.base}${path}: cancelled`,
          {
            cause: error,
          },
        );
      }
      throw unreachable(this.base, error, this.timeoutMs);
    }
  }

  private async fail(response: Response, path: string): Promise<never> {
    const text = await response.text().catch(() => '');
    let message = text;
    try {
      const body: unknown = JSON.parse(text);
      if (isObject(body) && typeof body.error === 'string') message = body.error;
    } catch {
      // not JSON: keep the text
    }
    throw errorFromWire(
      response.headers.get(ERROR_CODE_KEY),
      'BERTH_ERR_CLIENT_REQUEST_FAILED',
      `HTTP ${response.status} from ${path}: ${message}`,
    );
  }

  private async getJson<T>(path: string, init: RequestInit = {}): Promise<T> {
    const response = await this.send(path, init);
    if (!response.ok) return this.fail(response, path);
    return (await response.json()) as T;
  }

  /** Whether the server is live (GET /v2/health/live answers 200). */
  async live(): Promise<boolean> {
    return (await this.send('/v2/health/live')).ok;
  }

  /** Whether the server is ready (GET /v2/health/ready answers 200). */
  async ready(): Promise<boolean> {
    return (await this.send('/v2/health/ready')).ok;
  }

  async modelReady(model: string, version?: string): Promise<boolean> {
    const path = `${this.modelPath(model, version)}/ready`;
    const response = await this.send(path);
    if (response.status === 404) return this.fail(response, path);
    return response.ok;
  }

  serverMetadata(): Promise<ServerMetadata> {
    return this.getJson('/v2');
  }

  modelMetadata(model: string, version?: string): Promise<ModelMetadata> {
    return this.getJson(this.modelPath(model, version));
  }

  /** Triton's repository index: every model version with its state and reason. */
  repositoryIndex(options: { readyOnly?: boolean } = {}): Promise<ModelIndexEntry[]> {
    return this.getJson('/v2/repository/index', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(options.readyOnly === true ? { ready: true } : {}),
    });
  }

  /**
   * Runs an inference. Inputs may be typed arrays (sent without copying) or plain arrays.
   *
   * @example
   * const client = createClient({ url: 'http://127.0.0.1:8000' });
   * const result = await client.infer('iris', [
   *   { name: 'features', datatype: 'FP32', shape: [1, 4], data: new Float32Array([5.1, 3.5, 1.4, 0.2]) },
   * ]);
   * result.outputs[0]?.data; // Float32Array of class probabilities
   */
  async infer(
    model: string,
    inputs: readonly InferInputInit[],
    options: InferOptions = {},
  ): Promise<InferResponse> {
    const tensors = inputs.map((input) => ({
      name: input.name,
      datatype: input.datatype,
      shape: input.shape,
      data: toTensorData(input.name, input.datatype, input.data),
      ...(input.parameters === undefined ? {} : { parameters: input.parameters }),
    }));
    const binaryOutputs = options.binaryOutputs ?? true;
    const { header, chunks } = encodeRestInferRequest(
      {
        ...(options.id === undefined ? {} : { id: options.id }),
        ...(options.parameters === undefined ? {} : { parameters: options.parameters }),
        inputs: tensors,
        ...(options.outputs === undefined ? {} : { outputs: options.outputs.map((name) => ({ name })) }),
      },
      { binaryInputs: options.binaryInputs ?? true, binaryOutputs },
    );
    const head = new TextEncoder().encode(header);
    const headers: Record<string, string> = {};
    let body: Uint8Array;
    if (chunks.length > 0) {
      body = new Uint8Array(Buffer.concat([head, ...chunks]));
      headers['content-type'] = 'application/octet-stream';
      headers[INFERENCE_HEADER_CONTENT_LENGTH] = String(head.byteLength);
    } else {
      body = head;
      headers['content-type'] = 'application/json';
    }
    const path = `${this.modelPath(model, options.version)}/infer`;
    const response = await this.send(path, { method: 'POST', headers, body, signal: options.signal ?? null });
    if (!response.ok) return this.fail(response, path);
    const bytes = new Uint8Array(await response.arrayBuffer());
    const headerLength = parseHeaderLength(
      response.headers.get(INFERENCE_HEADER_CONTENT_LENGTH) ?? undefined,
      bytes.byteLength,
    );
    const { header: parsed, binary } = splitRestBody(bytes, headerLength);
    const decoded = decodeRestInferResponse(parsed, binary, NO_LIMITS);
    // The same result as over gRPC: an output's parameters on the wire (binary_data_size) say how
    // it was sent, which is the transport's business, not the caller's.
    return {
      ...decoded,
      outputs: decoded.outputs.map(({ name, datatype, shape, data }) => ({ name, datatype, shape, data })),
    };
  }

  async loadModel(model: string, options: { config?: string } = {}): Promise<void> {
    const path = `/v2/repository/models/${encodeURIComponent(model)}/load`;
    const body = options.config === undefined ? {} : { parameters: { config: options.config } };
    const response = await this.send(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!response.ok) return this.fail(response, path);
    await response.arrayBuffer();
  }

  async unloadModel(model: string): Promise<void> {
    const path = `/v2/repository/models/${encodeURIComponent(model)}/unload`;
    const response = await this.send(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    if (!response.ok) return this.fail(response, path);
    await response.arrayBuffer();
  }

  async modelStatistics(model?: string, version?: string): Promise<ModelStatsJson[]> {
    const path = model === undefined ? '/v2/models/stats' : `${this.modelPath(model, version)}/stats`;
    return (await this.getJson<{ model_stats: ModelStatsJson[] }>(path)).model_stats;
  }

  close(): void {
    // fetch keeps no connection of ours open.
  }
}

/** The output of a response by name; throws when the response lacks it. */
export function outputOf(response: InferResponse, name: string): Tensor {
  const output = response.outputs.find((o) => o.name === name);
  if (output === undefined) {
    throw new BerthError(
      'BERTH_ERR_INFER_UNKNOWN_OUTPUT',
      `response has no output "${name}"; it has ${response.outputs.map((o) => `"${o.name}"`).join(', ')}`,
    );
  }
  return output;
}

/**
 * A REST client for http(s):// URLs, a gRPC client for grpc:// ones; both have the same methods.
 *
 * @example
 * const client = createClient({ url: 'http://127.0.0.1:8000' });
 * await client.ready();
 * const grpc = createClient({ url: 'grpc://127.0.0.1:8001' });
 */
export function createClient(options: ClientOptions): OipClient {
  if (options.url.startsWith('grpc://')) {
    return new OipGrpcClient({
      address: options.url,
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      ...(options.headers === undefined ? {} : { headers: options.headers }),
    });
  }
  return new OipRestClient(options);
}
