/**
 * The one table of OIP operations: for each, the role that may call it, its REST routes with how
 * a request becomes the operation's input and its output becomes a response, and its gRPC method
 * with the same two translations. The HTTP adapter (fast path and fastify routes) and the gRPC
 * adapter are generated from it, so both transports answer every operation the same way, and a
 * new operation cannot be served on one and forgotten on the other (operations.test.ts).
 */
import {
  BerthError,
  decodeGrpcInferRequest,
  decodeRawInferRequest,
  decodeRestInferRequest,
  encodeGrpcInferResponse,
  encodeRestInferResponse,
  inferenceRoot,
  INFERENCE_HEADER_CONTENT_LENGTH,
  isObject,
  parameterValueOf,
  parseHeaderLength,
  splitRestBody,
  type DecodeLimits,
  type GrpcInferRequestMessage,
  type GrpcParameter,
  type InferRequest,
  type InputOf,
  type ModelSignature,
  type OutputEncoding,
  type OutputOf,
  type RepositoryParameters,
  type UnaryOperation,
  OPERATION_ADDRESSES,
  ROLES,
  type HttpRoute,
  type Role,
} from '../protocol/index.js';
import { readBody } from './http/http-body.js';

export { ROLES, type HttpRoute, type Role };

export type Limits = DecodeLimits & { readonly maxBodyBytes: number };

/** A REST request as an operation sees it. */
export interface HttpInput {
  readonly params: Readonly<Record<string, string | undefined>>;
  /** The raw body (undefined for GET). */
  readonly body: Buffer | undefined;
  readonly headers: { readonly [name: string]: string | string[] | undefined };
  readonly limits: Limits;
}

/** A REST response. */
export interface HttpAnswer {
  readonly status: number;
  readonly contentType: string | undefined;
  readonly headers?: Readonly<Record<string, string | number>>;
  readonly payload: Buffer | string | undefined;
}

/** A decoded REST request: the operation's input, and how its output is answered. */
export interface HttpCall<Op extends UnaryOperation> {
  readonly input: InputOf<Op>;
  readonly answer: (output: OutputOf<Op>) => HttpAnswer;
}

export interface OperationSpec<Op extends UnaryOperation> {
  readonly operation: Op;
  readonly role: Role;
  readonly http: {
    readonly routes: readonly HttpRoute[];
    readonly decode: (request: HttpInput) => HttpCall<Op> | Promise<HttpCall<Op>>;
  };
  readonly grpc: {
    /** The RPC of `inference.GRPCInferenceService`. */
    readonly method: string;
    readonly decode: (message: never, limits: DecodeLimits) => InputOf<Op>;
    readonly encode: (output: OutputOf<Op>) => unknown;
  };
}

/** As every other JSON response berth writes (docs/protocol.md). */
export const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

const json = (status: number, body: unknown): HttpAnswer => ({
  status,
  contentType: JSON_CONTENT_TYPE,
  payload: JSON.stringify(body),
});
const empty: HttpAnswer = { status: 200, contentType: undefined, payload: undefined };

const invalid = (message: string) => new BerthError('BERTH_ERR_PROTOCOL_INVALID_REQUEST', message);

function modelNameOf(name: string | undefined, field: string): string {
  if (name === undefined || name === '') throw invalid(`${field} must be a non-empty string`);
  return name;
}

// An empty version (gRPC's default for an unset field) means the model's default: the port's
// contract, which the engine keeps (oip-service.ts ModelRef).

const modelRefOfHttp = ({ params }: HttpInput) => ({
  name: params.model ?? '',
  version: params.version,
});

interface NameVersion {
  readonly name?: string;
  readonly version?: string;
}
const modelRefOfGrpc = (message: NameVersion) => ({
  name: modelNameOf(message.name, 'name'),
  version: message.version,
});

/** A repository request's JSON body (optional), inflated when compressed, checked to be an object. */
async function repositoryBody(request: HttpInput): Promise<Record<string, unknown>> {
  const encoding = request.headers['content-encoding'];
  const body = await readBody(
    request.body,
    typeof encoding === 'string' ? encoding : undefined,
    request.limits.maxBodyBytes,
  );
  if (body.byteLength === 0) return {};
  const parsed = splitRestBody(body, undefined).header;
  if (!isObject(parsed)) throw invalid('request body must be a JSON object');
  return parsed;
}

function restParameters(body: Record<string, unknown>): RepositoryParameters {
  if (body.parameters === undefined) return {};
  if (!isObject(body.parameters)) throw invalid('"parameters" must be a JSON object');
  for (const [key, value] of Object.entries(body.parameters)) {
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw invalid(`parameters.${key} must be a string, number or boolean`);
    }
  }
  return body.parameters as RepositoryParameters;
}

interface RepositoryModelRequest {
  readonly repository_name?: string;
  readonly model_name?: string;
  readonly parameters?: Readonly<Record<string, GrpcParameter>> | null;
}

/** ModelRepositoryParameter values: bytes (file contents) stay bytes, for a clear refusal. */
function grpcParameters(request: RepositoryModelRequest): RepositoryParameters {
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

const repositoryCallOfHttp = async (request: HttpInput) => ({
  name: request.params.model ?? '',
  parameters: restParameters(await repositoryBody(request)),
});
const repositoryCallOfGrpc = (message: RepositoryModelRequest) => ({
  name: modelNameOf(message.model_name, 'model_name'),
  parameters: grpcParameters(message),
});

/** Converts Triton's JSON names of enums (TYPE_FP32, KIND_CPU) to the numbers the wire needs. */
const CONFIG_RESPONSE = inferenceRoot.lookupType('inference.ModelConfigResponse');

/**
 * One REST inference request: the body is decoded inside the call (so a body that fails to
 * decode counts against the model), and the response is encoded as the request asked, JSON or
 * binary tensors.
 */
function inferOfHttp(request: HttpInput): HttpCall<'infer'> {
  let encoding: OutputEncoding = { binary: () => false };
  const { headers, limits } = request;
  const decode = (signature: ModelSignature, bytes: Uint8Array): InferRequest => {
    const headerLength = parseHeaderLength(
      headers[INFERENCE_HEADER_CONTENT_LENGTH] as string | undefined,
      bytes.byteLength,
    );
    if (headerLength === 0) {
      const [input] = signature.inputs;
      if (input === undefined || signature.inputs.length !== 1) {
        throw new BerthError(
          'BERTH_ERR_PROTOCOL_INVALID_BINARY',
          `a raw binary request (Inference-Header-Content-Length: 0) needs a model with exactly one input; "${request.params.model ?? ''}" has ${signature.inputs.length}`,
        );
      }
      const decoded = decodeRawInferRequest(input, bytes, limits);
      encoding = decoded.encoding;
      return decoded.request;
    }
    const { header, binary } = splitRestBody(bytes, headerLength);
    const decoded = decodeRestInferRequest(header, binary, limits);
    encoding = decoded.encoding;
    return decoded.request;
  };
  return {
    input: {
      name: request.params.model ?? '',
      version: request.params.version,
      // Synchronous unless the body must be inflated first: a plain body costs no extra turn.
      request: (signature) => {
        const coding = headers['content-encoding'] as string | undefined;
        if (coding === undefined && Buffer.isBuffer(request.body)) return decode(signature, request.body);
        return readBody(request.body, coding, limits.maxBodyBytes).then((bytes) => decode(signature, bytes));
      },
    },
    answer: (response) => {
      const encoded = encodeRestInferResponse(response, encoding);
      if (encoded.chunks.length === 0) {
        return { status: 200, contentType: JSON_CONTENT_TYPE, payload: Buffer.from(encoded.header, 'utf8') };
      }
      const head = Buffer.from(encoded.header, 'utf8');
      return {
        status: 200,
        contentType: 'application/octet-stream',
        headers: { [INFERENCE_HEADER_CONTENT_LENGTH]: head.byteLength },
        payload: Buffer.concat([head, ...encoded.chunks], head.byteLength + encoded.binaryLength),
      };
    },
  };
}

const spec = <Op extends UnaryOperation>(s: OperationSpec<Op>): OperationSpec<Op> => s;

export const INFER_OPERATION = {
  operation: 'infer',
  role: OPERATION_ADDRESSES.infer.role,
  http: { routes: OPERATION_ADDRESSES.infer.routes, decode: inferOfHttp },
  grpc: {
    method: OPERATION_ADDRESSES.infer.grpcMethod,
    decode: (message: GrpcInferRequestMessage, limits) => ({
      name: modelNameOf(message.model_name, 'model_name'),
      version: message.model_version,
      request: () => decodeGrpcInferRequest(message, limits),
    }),
    encode: encodeGrpcInferResponse,
  },
} as const satisfies OperationSpec<'infer'>;

/** Every unary operation; the stream (gRPC ModelStreamInfer) is `infer`, once per message. */
export const OPERATIONS = [
  spec({
    operation: 'serverLive',
    role: OPERATION_ADDRESSES.serverLive.role,
    http: {
      routes: OPERATION_ADDRESSES.serverLive.routes,
      decode: () => ({ input: {}, answer: ({ live }) => json(live ? 200 : 503, { live }) }),
    },
    grpc: {
      method: OPERATION_ADDRESSES.serverLive.grpcMethod,
      decode: () => ({}),
      encode: (output) => output,
    },
  }),
  spec({
    operation: 'serverReady',
    role: OPERATION_ADDRESSES.serverReady.role,
    http: {
      routes: OPERATION_ADDRESSES.serverReady.routes,
      decode: () => ({ input: {}, answer: ({ ready }) => json(ready ? 200 : 503, { ready }) }),
    },
    grpc: {
      method: OPERATION_ADDRESSES.serverReady.grpcMethod,
      decode: () => ({}),
      encode: (output) => output,
    },
  }),
  spec({
    operation: 'serverMetadata',
    role: OPERATION_ADDRESSES.serverMetadata.role,
    http: {
      routes: OPERATION_ADDRESSES.serverMetadata.routes,
      decode: () => ({ input: {}, answer: (metadata) => json(200, metadata) }),
    },
    grpc: {
      method: OPERATION_ADDRESSES.serverMetadata.grpcMethod,
      decode: () => ({}),
      encode: (output) => output,
    },
  }),
  spec({
    operation: 'modelReady',
    role: OPERATION_ADDRESSES.modelReady.role,
    http: {
      routes: OPERATION_ADDRESSES.modelReady.routes,
      decode: (request) => ({
        input: modelRefOfHttp(request),
        answer: (output) => json(output.ready ? 200 : 503, output),
      }),
    },
    grpc: {
      method: OPERATION_ADDRESSES.modelReady.grpcMethod,
      decode: modelRefOfGrpc,
      encode: ({ ready }) => ({ ready }),
    },
  }),
  spec({
    operation: 'modelMetadata',
    role: OPERATION_ADDRESSES.modelMetadata.role,
    http: {
      routes: OPERATION_ADDRESSES.modelMetadata.routes,
      decode: (request) => ({ input: modelRefOfHttp(request), answer: (metadata) => json(200, metadata) }),
    },
    grpc: {
      method: OPERATION_ADDRESSES.modelMetadata.grpcMethod,
      decode: modelRefOfGrpc,
      encode: (output) => output,
    },
  }),
  spec({
    operation: 'modelConfig',
    role: OPERATION_ADDRESSES.modelConfig.role,
    http: {
      routes: OPERATION_ADDRESSES.modelConfig.routes,
      decode: (request) => ({ input: modelRefOfHttp(request), answer: (config) => json(200, config) }),
    },
    grpc: {
      method: OPERATION_ADDRESSES.modelConfig.grpcMethod,
      decode: modelRefOfGrpc,
      encode: (config) => CONFIG_RESPONSE.fromObject({ config }),
    },
  }),
  spec({
    operation: 'modelStatistics',
    role: OPERATION_ADDRESSES.modelStatistics.role,
    http: {
      routes: OPERATION_ADDRESSES.modelStatistics.routes,
      decode: (request) => ({
        input: { name: request.params.model, version: request.params.version },
        answer: (stats) => json(200, { model_stats: stats }),
      }),
    },
    grpc: {
      method: OPERATION_ADDRESSES.modelStatistics.grpcMethod,
      decode: (message: NameVersion) => ({ name: message.name, version: message.version }),
      encode: (stats) => ({ model_stats: stats }),
    },
  }),
  spec({
    operation: 'repositoryIndex',
    role: OPERATION_ADDRESSES.repositoryIndex.role,
    http: {
      routes: OPERATION_ADDRESSES.repositoryIndex.routes,
      decode: async (request) => {
        const body = await repositoryBody(request);
        if (body.ready !== undefined && typeof body.ready !== 'boolean') {
          throw invalid('"ready" must be true or false');
        }
        return { input: { ready: body.ready === true }, answer: (index) => json(200, index) };
      },
    },
    grpc: {
      method: OPERATION_ADDRESSES.repositoryIndex.grpcMethod,
      decode: (message: { ready?: boolean }) => ({ ready: message.ready === true }),
      encode: (models) => ({ models }),
    },
  }),
  spec({
    operation: 'repositoryLoad',
    role: OPERATION_ADDRESSES.repositoryLoad.role,
    http: {
      routes: OPERATION_ADDRESSES.repositoryLoad.routes,
      decode: async (request) => ({ input: await repositoryCallOfHttp(request), answer: () => empty }),
    },
    grpc: {
      method: OPERATION_ADDRESSES.repositoryLoad.grpcMethod,
      decode: repositoryCallOfGrpc,
      encode: () => ({}),
    },
  }),
  spec({
    operation: 'repositoryUnload',
    role: OPERATION_ADDRESSES.repositoryUnload.role,
    http: {
      routes: OPERATION_ADDRESSES.repositoryUnload.routes,
      decode: async (request) => ({ input: await repositoryCallOfHttp(request), answer: () => empty }),
    },
    grpc: {
      method: OPERATION_ADDRESSES.repositoryUnload.grpcMethod,
      decode: repositoryCallOfGrpc,
      encode: () => ({}),
    },
  }),
  INFER_OPERATION,
] as const;

/** The gRPC streaming RPC: each message is an `infer` call (INFER_OPERATION's gRPC decode). */
export const STREAM_INFER_METHOD = 'ModelStreamInfer';

export type AnyOperationSpec = (typeof OPERATIONS)[number];

const ROLE_OF = new Map<UnaryOperation, Role>(OPERATIONS.map((spec) => [spec.operation, spec.role]));

/** The role an operation needs, from the table (the access-control interceptor asks). */
export function roleOf(operation: UnaryOperation): Role {
  const role = ROLE_OF.get(operation);
  if (role === undefined) throw new Error(`no operation ${operation} in the table`);
  return role;
}
