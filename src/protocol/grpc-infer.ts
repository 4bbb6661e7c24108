/**
 * gRPC inference messages (open_inference_grpc.proto `ModelInferRequest` / `ModelInferResponse`)
 * to and from berth's transport-free types. Messages are plain objects with the .proto's field
 * names, as a protobuf decoder (protobufjs with keepCase) produces and its encoder takes.
 *
 * Tensor data travels raw (`raw_input_contents` / `raw_output_contents`: little-endian,
 * row-major; BYTES elements each a 4-byte length and the bytes), as Triton's clients send and
 * read it, or as typed `contents` lists. Responses are always raw: tritonclient reads only raw
 * outputs, and KServe's client reads both.
 */
import { decodeBinaryData, encodeBinaryData } from './binary-data.js';
import {
  BerthError,
  parseShape,
  readDatatype,
  type Datatype,
  type DecodeLimits,
  type InferInput,
  type InferRequest,
  type InferResponse,
  type RequestedOutput,
  type Tensor,
  type TensorData,
} from '../ground/index.js';
import {
  decodeTensorContents,
  grpcParametersOf,
  parametersOf,
  safeIntegerOf,
  type GrpcParameter,
  type GrpcTensorContents,
  type Int64Value,
} from './grpc-values.js';

type ParameterMap = Readonly<Record<string, GrpcParameter>>;

export interface GrpcTensorMessage {
  readonly name?: string;
  readonly datatype?: string;
  readonly shape?: readonly Int64Value[];
  readonly parameters?: ParameterMap | null;
  readonly contents?: GrpcTensorContents | null;
}

export interface GrpcInferRequestMessage {
  readonly model_name?: string;
  readonly model_version?: string;
  readonly id?: string;
  readonly parameters?: ParameterMap | null;
  readonly inputs?: readonly GrpcTensorMessage[];
  readonly outputs?: readonly { readonly name?: string; readonly parameters?: ParameterMap | null }[];
  readonly raw_input_contents?: readonly Uint8Array[];
}

export interface GrpcInferResponseMessage {
  readonly model_name?: string;
  readonly model_version?: string;
  readonly id?: string;
  readonly parameters?: ParameterMap | null;
  readonly outputs?: readonly GrpcTensorMessage[];
  readonly raw_output_contents?: readonly Uint8Array[];
}

const SHARED_MEMORY = ['shared_memory_region', 'shared_memory_byte_size', 'shared_memory_offset'];

function invalid(message: string): BerthError {
  return new BerthError('BERTH_ERR_PROTOCOL_INVALID_REQUEST', message);
}

function hasContents(contents: GrpcTensorContents | null | undefined): contents is GrpcTensorContents {
  if (contents === null || contents === undefined) return false;
  return Object.values(contents).some((list) => Array.isArray(list) && list.length > 0);
}

/** Name, datatype, shape and element count of one tensor message, checked. */
function tensorHead(
  tensor: GrpcTensorMessage,
  what: string,
  limits: DecodeLimits,
): { name: string; label: string; datatype: Datatype; shape: number[]; count: number } {
  const name = tensor.name ?? '';
  if (name === '') throw invalid(`${what}.name must be a non-empty string`);
  const label = `${what} "${name}"`;
  const datatype = readDatatype(tensor.datatype, label);
  const dims = (tensor.shape ?? []).map((d, i) => safeIntegerOf(d, `${label}: shape[${i}]`));
  const { shape, count } = parseShape(dims, label, limits);
  return { name, label, datatype, shape, count };
}

/**
 * Decodes a ModelInferRequest. Raw entries are matched, in order, to the inputs that carry no
 * typed contents (so a request may mix the two, as KServe's client does); each input needs
 * exactly one of them.
 *
 * @example
 * const request = decodeGrpcInferRequest(message, { maxTensorElements: 1 << 24 });
 */
export function decodeGrpcInferRequest(message: GrpcInferRequestMessage, limits: DecodeLimits): InferRequest {
  const raw = message.raw_input_contents ?? [];
  let nextRaw = 0;
  const inputs: InferInput[] = (message.inputs ?? []).map((tensor, i) => {
    const { name, label, datatype, shape, count } = tensorHead(tensor, `inputs[${i}]`, limits);
    const parameters = parametersOf(tensor.parameters, `${label}.parameters`);
    for (const key of SHARED_MEMORY) {
      if (parameters?.[key] !== undefined) {
        throw invalid(`${label}: parameter "${key}" (shared memory) is not supported by berth`);
      }
    }
    let data: TensorData;
    if (hasContents(tensor.contents)) {
      data = decodeTensorContents(datatype, tensor.contents, count, label);
    } else {
      const bytes = raw[nextRaw++];
      if (bytes === undefined) {
        throw new BerthError(
          'BERTH_ERR_PROTOCOL_INVALID_DATA',
          `${label}: no data; set its contents or one raw_input_contents entry per input`,
        );
      }
      data = decodeBinaryData(datatype, bytes, count, label);
    }
    return parameters === undefined
      ? { name, datatype, shape, data }
      : { name, datatype, shape, data, parameters };
  });
  if (nextRaw !== raw.length) {
    throw new BerthError(
      'BERTH_ERR_PROTOCOL_INVALID_BINARY',
      `raw_input_contents has ${raw.length} entries but only ${nextRaw} inputs take raw data`,
    );
  }
  let outputs: RequestedOutput[] | undefined;
  if (message.outputs !== undefined && message.outputs.length > 0) {
    outputs = message.outputs.map((output, i) => {
      const name = output.name ?? '';
      if (name === '') throw invalid(`outputs[${i}].name must be a non-empty string`);
      const parameters = parametersOf(output.parameters, `outputs[${i}] "${name}".parameters`);
      if (parameters?.shared_memory_region !== undefined) {
        throw invalid(
          `outputs[${i}] "${name}": parameter "shared_memory_region" (shared memory) is not supported by berth`,
        );
      }
      return parameters === undefined ? { name } : { name, parameters };
    });
  }
  const parameters = parametersOf(message.parameters, 'parameters');
  const id = message.id ?? '';
  return {
    ...(id === '' ? {} : { id }),
    ...(parameters === undefined ? {} : { parameters }),
    inputs,
    ...(outputs === undefined ? {} : { outputs }),
  };
}

/** Encodes a ModelInferRequest with every input raw (the client side). */
export function encodeGrpcInferRequest(
  model: string,
  version: string | undefined,
  request: InferRequest,
): GrpcInferRequestMessage {
  return {
    model_name: model,
    model_version: version ?? '',
    id: request.id ?? '',
    parameters: grpcParametersOf(request.parameters),
    inputs: request.inputs.map((input) => ({
      name: input.name,
      datatype: input.datatype,
      shape: input.shape,
      parameters: grpcParametersOf(input.parameters),
    })),
    outputs: (request.outputs ?? []).map((output) => ({
      name: output.name,
      parameters: grpcParametersOf(output.parameters),
    })),
    raw_input_contents: request.inputs.map((input) => encodeBinaryData(input.datatype, input.data)),
  };
}

/** Encodes a ModelInferResponse with every output raw (views, no copy, for fixed-size data). */
export function encodeGrpcInferResponse(response: InferResponse): GrpcInferResponseMessage {
  return {
    model_name: response.modelName,
    model_version: response.modelVersion,
    id: response.id ?? '',
    parameters: grpcParametersOf(response.parameters),
    outputs: response.outputs.map((output) => ({
      name: output.name,
      datatype: output.datatype,
      shape: output.shape,
    })),
    raw_output_contents: response.outputs.map((output) => encodeBinaryData(output.datatype, output.data)),
  };
}

/** Decodes a ModelInferResponse, raw or typed (the client side). */
export function decodeGrpcInferResponse(
  message: GrpcInferResponseMessage,
  limits: DecodeLimits,
): InferResponse {
  const raw = message.raw_output_contents ?? [];
  const outputs: Tensor[] = (message.outputs ?? []).map((tensor, i) => {
    const { name, label, datatype, shape, count } = tensorHead(tensor, `outputs[${i}]`, limits);
    const bytes = raw[i];
    const data =
      bytes !== undefined
        ? decodeBinaryData(datatype, bytes, count, label)
        : decodeTensorContents(datatype, tensor.contents ?? {}, count, label);
    return { name, datatype, shape, data };
  });
  const parameters = parametersOf(message.parameters, 'response parameters');
  const id = message.id ?? '';
  return {
    modelName: message.model_name ?? '',
    modelVersion: message.model_version ?? '',
    ...(id === '' ? {} : { id }),
    ...(parameters === undefined ? {} : { parameters }),
    outputs,
  };
}
