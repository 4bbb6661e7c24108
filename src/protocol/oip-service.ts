/**
 * The Open Inference Protocol as one transport-free port: every operation of the REST and gRPC
 * protocols (with Triton's model configuration, statistics and repository extensions), taking a
 * protocol-level request and a call context, answering a protocol-level result. The local engine
 * (src/engine) implements it; the HTTP and gRPC adapters (src/server) serve any implementation,
 * so a gateway over remote replicas is served by the same adapters. Interceptors (auth, limits,
 * metrics, logs) wrap it (oip-intercept.ts).
 */
import type {
  BerthError,
  CancelSignal,
  InferRequest,
  InferResponse,
  ModelIndexEntry,
  ModelMetadata,
  ModelSignature,
  ModelStatsJson,
  ServerMetadata,
} from '../ground/index.js';

/** Who is calling, once an authentication interceptor has decided it. */
export interface Principal {
  /** A stable id for logs and limits: a key's id, a token's subject, a certificate's subject. */
  readonly id: string;
  readonly roles: readonly string[];
  /** Model-name patterns (`*` any run of characters) it is limited to; absent for every model. */
  readonly models?: readonly string[];
}

/**
 * What the caller presented to prove who it is, as the transport received it. Only the access
 * control interceptor reads it: it is never logged, echoed or counted.
 */
export interface Credentials {
  /**
   * An API key or bearer token (`Authorization: Bearer …` or `x-api-key`, header or metadata);
   * for a client certificate, the subject's common name.
   */
  readonly token: string;
  /** Absent for a bearer token; `certificate` for a client certificate the TLS layer verified (mTLS). */
  readonly kind?: 'certificate';
}

/** W3C trace context, as the caller sent it. */
export interface TraceContext {
  readonly traceparent: string;
  readonly tracestate?: string;
}

/**
 * Where an interceptor adds fields to the answer of an admitted call (HTTP response fields, gRPC
 * trailing metadata): the RateLimit fields that tell a caller how much of its quota is left.
 * Names are lower case; a set replaces an earlier value of the same name.
 */
export interface AnswerFields {
  set(name: string, value: string): void;
}

export const TRANSPORTS = ['http', 'grpc', 'local'] as const;
export type Transport = (typeof TRANSPORTS)[number];

/** What a call carries besides its request. */
export interface CallContext {
  /** Ties the call's answer (`x-request-id`) to its log lines. */
  readonly requestId: string;
  readonly transport: Transport;
  /** When the caller stops waiting, in milliseconds since the epoch (a gRPC deadline). */
  readonly deadline?: number;
  /** Fires when the caller goes away; a queued request is then dropped rather than run. */
  readonly signal?: CancelSignal;
  /** What the caller sent to authenticate; absent when it sent nothing. */
  readonly credentials?: Credentials;
  /** Set by an authentication interceptor; absent for an anonymous call. */
  readonly principal?: Principal;
  readonly trace?: TraceContext;
  /** The caller's address, for logs and audit. */
  readonly peer?: string;
  /** Where interceptors add fields to the answer; absent where the transport has no place for them (a stream's messages, an in-process call). */
  readonly answerFields?: AnswerFields;
}

export interface ModelRef {
  readonly name: string;
  /** Absent (or empty) for the version the model's policy serves by default. */
  readonly version?: string | undefined;
}

/** Models to report on: every model when `name` is absent, every version when `version` is. */
export interface ModelFilter {
  readonly name?: string | undefined;
  readonly version?: string | undefined;
}

/**
 * A request, or a decoder of one: a decoder runs inside the call, after the model is resolved,
 * with its signature (a raw binary body needs the model's only input), so a body that fails to
 * decode counts against the model like any other failed request.
 */
export type InferPayload =
  InferRequest | ((signature: ModelSignature) => InferRequest | Promise<InferRequest>);

export interface InferCall extends ModelRef {
  readonly request: InferPayload;
}

/** Repository load and unload parameters; bytes (model files) stay bytes for a clear refusal. */
export type RepositoryParameters = Readonly<Record<string, string | number | boolean | Uint8Array>>;

export interface RepositoryCall {
  readonly name: string;
  readonly parameters: RepositoryParameters;
}

/** One answer on an inference stream: a response, or the error of that one request. */
export type StreamOutcome =
  | { readonly response: InferResponse; readonly error?: undefined }
  | { readonly response?: undefined; readonly error: BerthError; readonly call: InferCall };

/** A model version's configuration in Triton's ModelConfig shape (model_config.proto as JSON). */
export type TritonModelConfig = Readonly<Record<string, unknown>>;

/** Nothing: the input of operations about the whole server. */
export type NoInput = Readonly<Record<string, never>>;

/**
 * Every operation takes `(input, context)`, so that one interceptor chain can wrap them all.
 *
 * @example
 * const { ready } = await service.serverReady({}, context);
 * const response = await service.infer({ name: 'iris', request }, context);
 */
export interface OipService {
  serverLive(input: NoInput, context: CallContext): Promise<{ live: boolean }>;
  serverReady(input: NoInput, context: CallContext): Promise<{ ready: boolean }>;
  serverMetadata(input: NoInput, context: CallContext): Promise<ServerMetadata>;
  modelReady(input: ModelRef, context: CallContext): Promise<{ name: string; ready: boolean }>;
  modelMetadata(input: ModelRef, context: CallContext): Promise<ModelMetadata>;
  modelConfig(input: ModelRef, context: CallContext): Promise<TritonModelConfig>;
  /** Every model's statistics when `name` is absent. */
  modelStatistics(input: ModelFilter, context: CallContext): Promise<ModelStatsJson[]>;
  repositoryIndex(input: { readonly ready: boolean }, context: CallContext): Promise<ModelIndexEntry[]>;
  repositoryLoad(input: RepositoryCall, context: CallContext): Promise<void>;
  repositoryUnload(input: RepositoryCall, context: CallContext): Promise<void>;
  infer(input: InferCall, context: CallContext): Promise<InferResponse>;
  /**
   * Triton's streaming inference: one outcome per request, in completion order; a failed request
   * is an outcome, not the end of the stream.
   */
  inferStream(input: AsyncIterable<InferCall>, context: CallContext): AsyncIterable<StreamOutcome>;
}

/** The operations that answer one result: all but the stream. */
export type UnaryOperation = Exclude<keyof OipService, 'inferStream'>;
export type OperationName = keyof OipService;

export type InputOf<Op extends UnaryOperation> = Parameters<OipService[Op]>[0];
export type OutputOf<Op extends UnaryOperation> = Awaited<ReturnType<OipService[Op]>>;
