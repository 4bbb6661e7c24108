/**
 * REST inference responses (inference_rest.md "Inference Response JSON Object", plus the binary
 * tensor data extension): encoding on the server, decoding in the client.
 */
import { encodeBinaryData } from './binary-data.js';
import { encodeJsonData } from './json-data.js';
import { invalidRequest, readArray, readObject } from './rest-fields.js';
import type { OutputEncoding } from './rest-infer-request.js';
import { BinaryCursor, decodeRestTensor } from './rest-tensor.js';
import type { DecodeLimits, InferResponse, Parameters, Tensor } from '../ground/index.js';

export interface EncodedRestResponse {
  /** The JSON object. */
  readonly header: string;
  /** Binary output data, in output order, to send after the header. */
  readonly chunks: readonly Uint8Array[];
  /** Total bytes in `chunks`. */
  readonly binaryLength: number;
}

/**
 * Encodes an inference response; outputs that `encoding` marks binary go after the JSON header
 * as views over the output arrays (no copy for fixed-size datatypes).
 */
export function encodeRestInferResponse(
  response: InferResponse,
  encoding: OutputEncoding,
): EncodedRestResponse {
  const chunks: Uint8Array[] = [];
  let binaryLength = 0;
  const outputs = response.outputs.map((output) => {
    const head = `{"name":${JSON.stringify(output.name)},"datatype":"${output.datatype}","shape":${JSON.stringify(output.shape)}`;
    if (encoding.binary(output.name)) {
      const bytes = encodeBinaryData(output.datatype, output.data);
      chunks.push(bytes);
      binaryLength += bytes.byteLength;
      return `${head},"parameters":{"binary_data_size":${bytes.byteLength}}}`;
    }
    return `${head},"data":${encodeJsonData(output.datatype, output.data)}}`;
  });
  let header = `{"model_name":${JSON.stringify(response.modelName)},"model_version":${JSON.stringify(response.modelVersion)}`;
  if (response.id !== undefined) header += `,"id":${JSON.stringify(response.id)}`;
  if (response.parameters !== undefined) header += `,"parameters":${JSON.stringify(response.parameters)}`;
  header += `,"outputs":[${outputs.join(',')}]}`;
  return { header, chunks, binaryLength };
}

/** Decodes a REST inference response from its parsed JSON header and binary section. */
export function decodeRestInferResponse(
  header: unknown,
  binary: Uint8Array,
  limits: DecodeLimits,
): InferResponse {
  const object = readObject(header, 'response body');
  if (typeof object.model_name !== 'string') throw invalidRequest('response "model_name" must be a string');
  const cursor = new BinaryCursor(binary);
  const outputs: Tensor[] = readArray(object.outputs, 'response "outputs"').map((value, i) =>
    decodeRestTensor(value, `outputs[${i}]`, cursor, limits),
  );
  cursor.finish();
  return {
    modelName: object.model_name,
    modelVersion: typeof object.model_version === 'string' ? object.model_version : '',
    ...(typeof object.id === 'string' ? { id: object.id } : {}),
    ...(typeof object.parameters === 'object' && object.parameters !== null
      ? { parameters: object.parameters as Parameters }
      : {}),
    outputs,
  };
}
