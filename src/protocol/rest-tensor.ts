/**
 * One tensor object of the REST protocol (`$request_input` / `$response_output`), whose data is
 * either JSON (`data`) or a slice of the binary section (`parameters.binary_data_size`).
 */
import {
  BerthError,
  parseShape,
  readDatatype,
  type Datatype,
  type DecodeLimits,
  type Parameters,
  type TensorData,
} from '../ground/index.js';
import { decodeBinaryData } from './binary-data.js';
import { decodeJsonData } from './json-data.js';
import { invalidRequest, readObject, readParameters, readString } from './rest-fields.js';

/** The binary section after the JSON header, consumed in tensor order. */
export class BinaryCursor {
  private offset = 0;
  constructor(private readonly bytes: Uint8Array) {}

  take(size: number, what: string): Uint8Array {
    const remaining = this.bytes.byteLength - this.offset;
    if (size > remaining) {
      throw new BerthError(
        'BERTH_ERR_PROTOCOL_INVALID_BINARY',
        `${what}: binary_data_size is ${size} but only ${remaining} bytes of binary data remain`,
      );
    }
    const slice = this.bytes.subarray(this.offset, this.offset + size);
    this.offset += size;
    return slice;
  }

  /** Refuses bytes that no tensor claimed: they mean the client and server disagree on layout. */
  finish(): void {
    const remaining = this.bytes.byteLength - this.offset;
    if (remaining !== 0) {
      throw new BerthError(
        'BERTH_ERR_PROTOCOL_INVALID_BINARY',
        `${remaining} bytes of binary data follow the JSON header but no tensor claims them (check binary_data_size)`,
      );
    }
  }
}

export interface DecodedTensor {
  readonly name: string;
  readonly datatype: Datatype;
  readonly shape: number[];
  readonly data: TensorData;
  readonly parameters?: Parameters;
}

const UNSUPPORTED_PARAMETERS = ['shared_memory_region', 'shared_memory_byte_size', 'shared_memory_offset'];

export function decodeRestTensor(
  value: unknown,
  what: string,
  binary: BinaryCursor,
  limits: DecodeLimits,
): DecodedTensor {
  const object = readObject(value, what);
  const name = readString(object.name, `${what}.name`);
  const label = `${what} "${name}"`;
  const datatype = readDatatype(object.datatype, label);
  const { shape, count } = parseShape(object.shape, label, limits);
  const parameters = readParameters(object.parameters, `${label}.parameters`);
  for (const key of UNSUPPORTED_PARAMETERS) {
    if (parameters?.[key] !== undefined) {
      throw invalidRequest(`${label}: parameter "${key}" (shared memory) is not supported by berth`);
    }
  }
  const binarySize = parameters?.binary_data_size;
  let data: TensorData;
  if (binarySize !== undefined) {
    if (typeof binarySize !== 'number' || !Number.isSafeInteger(binarySize) || binarySize < 0) {
      throw invalidRequest(`${label}: parameters.binary_data_size must be a non-negative integer`);
    }
    if (object.data !== undefined) {
      throw invalidRequest(`${label}: has both "data" and parameters.binary_data_size; send one`);
    }
    data = decodeBinaryData(datatype, binary.take(binarySize, label), count, label);
  } else {
    if (object.data === undefined) {
      throw invalidRequest(`${label}: "data" is required unless parameters.binary_data_size is given`);
    }
    data = decodeJsonData(datatype, object.data, count, label);
  }
  return parameters === undefined
    ? { name, datatype, shape, data }
    : { name, datatype, shape, data, parameters };
}
