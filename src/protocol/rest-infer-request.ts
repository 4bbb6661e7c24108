/**
 * REST inference requests (inference_rest.md "Inference Request JSON Object", plus the binary
 * tensor data extension): decoding on the server, encoding in the client.
 */
import { decodeBinaryData, encodeBinaryData } from './binary-data.js';
import {
  BerthError,
  elementCount,
  elementSize,
  type DecodeLimits,
  type InferInput,
  type InferRequest,
  type Parameters,
  type RequestedOutput,
  type TensorSpec,
} from '../ground/index.js';
import { encodeJsonData } from './json-data.js';
import {
  invalidRequest,
  readArray,
  readBooleanParameter,
  readObject,
  readParameters,
  readString,
} from './rest-fields.js';
import { BinaryCursor, decodeRestTensor } from './rest-tensor.js';

/** How the response should carry each output: JSON or binary. */
export interface OutputEncoding {
  binary(name: string): boolean;
}

const ALL_BINARY: OutputEncoding = { binary: () => true };
const ALL_JSON: OutputEncoding = { binary: () => false };

export interface DecodedRestRequest {
  readonly request: InferRequest;
  readonly encoding: OutputEncoding;
}

/**
 * Decodes a REST inference request from its parsed JSON header and binary section.
 *
 * @example
 * const { request, encoding } = decodeRestInferRequest(JSON.parse(text), new Uint8Array(), limits);
 */
export function decodeRestInferRequest(
  header: unknown,
  binary: Uint8Array,
  limits: DecodeLimits,
): DecodedRestRequest {
  const object = readObject(header, 'request body');
  let id: string | undefined;
  if (object.id !== undefined) {
    if (typeof object.id !== 'string') throw invalidRequest('"id" must be a string');
    id = object.id;
  }
  const parameters = readParameters(object.parameters, 'parameters');
  const defaultBinary = readBooleanParameter(parameters, 'binary_data_output', 'parameters') ?? false;

  const cursor = new BinaryCursor(binary);
  const inputs: InferInput[] = readArray(object.inputs, '"inputs"').map((value, i) =>
    decodeRestTensor(value, `inputs[${i}]`, cursor, limits),
  );
  cursor.finish();

  let outputs: RequestedOutput[] | undefined;
  let perOutput: Map<string, boolean> | undefined;
  if (object.outputs !== undefined) {
    outputs = readArray(object.outputs, '"outputs"').map((value, i) => {
      const what = `outputs[${i}]`;
      const output = readObject(value, what);
      const name = readString(output.name, `${what}.name`);
      const outputParameters = readParameters(output.parameters, `${what}.parameters`);
      const binaryFlag = readBooleanParameter(outputParameters, 'binary_data', `${what}.parameters`);
      if (binaryFlag !== undefined) (perOutput ??= new Map()).set(name, binaryFlag);
      if (outputParameters?.shared_memory_region !== undefined) {
        throw invalidRequest(
          `${what} "${name}": parameter "shared_memory_region" (shared memory) is not supported by berth`,
        );
      }
      return outputParameters === undefined ? { name } : { name, parameters: outputParameters };
    });
  }

  const request: InferRequest = {
    ...(id === undefined ? {} : { id }),
    ...(parameters === undefined ? {} : { parameters }),
    inputs,
    // `"outputs": []` asks for no output in particular: every output, as when it is absent (the
    // protocol's gRPC form cannot tell an empty list from none, and Triton answers both alike).
    ...(outputs === undefined || outputs.length === 0 ? {} : { outputs }),
  };
  const flags = perOutput;
  const encoding: OutputEncoding =
    flags === undefined
      ? defaultBinary
        ? ALL_BINARY
        : ALL_JSON
      : { binary: (name) => flags.get(name) ?? defaultBinary };
  return { request, encoding };
}

/**
 * Triton's raw binary request (`Inference-Header-Content-Length: 0`): the whole body is the data
 * of the model's only input, and every output comes back binary. The shape is the input's declared
 * shape; one variable dimension is inferred from the byte count of a fixed-size datatype.
 */
export function decodeRawInferRequest(
  spec: TensorSpec,
  body: Uint8Array,
  limits: DecodeLimits,
): DecodedRestRequest {
  const what = `raw request for input "${spec.name}"`;
  const variable = spec.shape.filter((d) => d < 0).length;
  let shape = [...spec.shape];
  if (variable > 0) {
    const size = elementSize(spec.datatype);
    if (variable > 1 || size === 0) {
      throw new BerthError(
        'BERTH_ERR_PROTOCOL_INVALID_BINARY',
        `${what}: input shape ${JSON.stringify(spec.shape)} (${spec.datatype}) cannot be inferred from a raw body; send a JSON header`,
      );
    }
    const fixed = elementCount(spec.shape.filter((d) => d >= 0));
    const elements = body.byteLength / size;
    const dim = fixed === 0 ? 0 : elements / fixed;
    if (!Number.isInteger(dim)) {
      throw new BerthError(
        'BERTH_ERR_PROTOCOL_INVALID_BINARY',
        `${what}: ${body.byteLength} bytes is not a whole number of ${JSON.stringify(spec.shape)} ${spec.datatype} tensors`,
      );
    }
    shape = spec.shape.map((d) => (d < 0 ? dim : d));
  }
  const count = elementCount(shape);
  if (count > limits.maxTensorElements) {
    throw new BerthError(
      'BERTH_ERR_PROTOCOL_TENSOR_TOO_LARGE',
      `${what}: ${count} elements exceed the limit of ${limits.maxTensorElements} (--max-tensor-elements)`,
    );
  }
  const data = decodeBinaryData(spec.datatype, body, count, what);
  return {
    request: { inputs: [{ name: spec.name, datatype: spec.datatype, shape, data }] },
    encoding: { binary: () => true },
  };
}

export interface EncodeRequestOptions {
  /** Send input data as binary (default true: faster, exact for every datatype). */
  readonly binaryInputs?: boolean;
  /** Ask for every output as binary unless an output overrides it (default true). */
  readonly binaryOutputs?: boolean;
}

/** Encodes a REST inference request: the JSON header text and the binary chunks that follow it. */
export function encodeRestInferRequest(
  request: InferRequest,
  options: EncodeRequestOptions = {},
): { header: string; chunks: Uint8Array[] } {
  const binaryInputs = options.binaryInputs ?? true;
  const chunks: Uint8Array[] = [];
  const inputs = request.inputs.map((input) => {
    let parameters: Parameters | undefined = input.parameters;
    let data = '';
    if (binaryInputs) {
      const bytes = encodeBinaryData(input.datatype, input.data);
      chunks.push(bytes);
      parameters = { ...parameters, binary_data_size: bytes.byteLength };
    } else {
      data = `,"data":${encodeJsonData(input.datatype, input.data)}`;
    }
    const params = parameters === undefined ? '' : `,"parameters":${JSON.stringify(parameters)}`;
    return `{"name":${JSON.stringify(input.name)},"datatype":"${input.datatype}","shape":${JSON.stringify(input.shape)}${params}${data}}`;
  });
  const parameters: Record<string, unknown> = { ...request.parameters };
  if (options.binaryOutputs ?? true) parameters.binary_data_output = true;
  let header = '{';
  if (request.id !== undefined) header += `"id":${JSON.stringify(request.id)},`;
  if (Object.keys(parameters).length > 0) header += `"parameters":${JSON.stringify(parameters)},`;
  header += `"inputs":[${inputs.join(',')}]`;
  if (request.outputs !== undefined) header += `,"outputs":${JSON.stringify(request.outputs)}`;
  header += '}';
  return { header, chunks };
}
