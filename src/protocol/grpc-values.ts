/**
 * Values of the gRPC protocol (open_inference_grpc.proto) as a protobuf decoder hands them over:
 * 64-bit integers as numbers, decimal strings or Long-style `{ low, high, unsigned }` objects,
 * parameters as `InferParameter` oneofs, typed tensor contents as plain lists. Everything here
 * checks what it reads and names the field, like the REST readers in rest-fields.ts.
 */
import {
  BerthError,
  INTEGER_RANGE,
  allocateArray,
  showValue,
  type Datatype,
  type ParameterValue,
  type Parameters,
  type TensorData,
} from '../ground/index.js';

/** A protobuf int64/uint64 as decoders produce it. */
export type Int64Value = number | string | bigint | { low: number; high: number; unsigned?: boolean };

/** `InferParameter` (and Triton's `ModelRepositoryParameter`, which adds bytes_param). */
export interface GrpcParameter {
  readonly bool_param?: boolean | null;
  readonly int64_param?: Int64Value | null;
  readonly string_param?: string | null;
  readonly double_param?: number | null;
  readonly uint64_param?: Int64Value | null;
  readonly bytes_param?: Uint8Array | null;
  /** The oneof's set member, when the decoder provides it (protobufjs does). */
  readonly parameter_choice?: string;
}

/** `InferTensorContents`: the typed alternative to raw bytes. */
export interface GrpcTensorContents {
  readonly bool_contents?: readonly boolean[];
  readonly int_contents?: readonly number[];
  readonly int64_contents?: readonly Int64Value[];
  readonly uint_contents?: readonly number[];
  readonly uint64_contents?: readonly Int64Value[];
  readonly fp32_contents?: readonly number[];
  readonly fp64_contents?: readonly number[];
  readonly bytes_contents?: readonly Uint8Array[];
}

function invalid(message: string): BerthError {
  return new BerthError('BERTH_ERR_PROTOCOL_INVALID_REQUEST', message);
}

/** The exact value of a 64-bit integer field. */
export function bigIntOf(value: Int64Value, what: string): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw invalid(`${what} must be an integer, got ${showValue(value)}`);
    return BigInt(value);
  }
  if (typeof value === 'string') {
    if (!/^-?[0-9]{1,20}$/.test(value)) throw invalid(`${what} must be an integer, got ${showValue(value)}`);
    return BigInt(value);
  }
  const bits = (BigInt(value.high >>> 0) << 32n) | BigInt(value.low >>> 0);
  return value.unsigned === true ? bits : BigInt.asIntN(64, bits);
}

/** A 64-bit integer field that must fit a JavaScript number exactly. */
export function safeIntegerOf(value: Int64Value, what: string): number {
  const big = bigIntOf(value, what);
  if (big > BigInt(Number.MAX_SAFE_INTEGER) || big < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw invalid(`${what} is ${big}, beyond the 2^53 berth accepts`);
  }
  return Number(big);
}

const CHOICES = [
  'bool_param',
  'int64_param',
  'string_param',
  'double_param',
  'uint64_param',
  'bytes_param',
] as const;
type Choice = (typeof CHOICES)[number];

/** Which member of a parameter oneof is set, or undefined for an empty parameter. */
function choiceOf(parameter: GrpcParameter): Choice | undefined {
  const named = parameter.parameter_choice;
  if (typeof named === 'string') return CHOICES.find((c) => c === named);
  return CHOICES.find((key) => parameter[key] !== undefined && parameter[key] !== null);
}

/** One parameter's value; bytes are refused here (only the repository API takes them). */
export function parameterValueOf(parameter: GrpcParameter, what: string): ParameterValue {
  const choice = choiceOf(parameter);
  switch (choice) {
    case 'bool_param':
      return parameter.bool_param === true;
    case 'string_param':
      return parameter.string_param ?? '';
    case 'double_param':
      return parameter.double_param ?? 0;
    case 'int64_param':
      return safeIntegerOf(parameter.int64_param ?? 0, what);
    case 'uint64_param':
      return safeIntegerOf(parameter.uint64_param ?? 0, what);
    case 'bytes_param':
      throw invalid(`${what} is bytes; expected a bool, integer, double or string`);
    case undefined:
      throw invalid(`${what} has no value set`);
  }
}

/** A parameters map; undefined when empty, as a REST request without "parameters". */
export function parametersOf(
  map: Readonly<Record<string, GrpcParameter>> | null | undefined,
  what: string,
): Parameters | undefined {
  if (map === null || map === undefined) return undefined;
  const keys = Object.keys(map);
  if (keys.length === 0) return undefined;
  const out: Record<string, ParameterValue> = {};
  for (const key of keys) {
    const parameter = map[key];
    if (parameter !== undefined) out[key] = parameterValueOf(parameter, `${what}.${key}`);
  }
  return out;
}

/** The InferParameter for a value: integers as int64, other numbers as double. */
export function grpcParameterOf(value: ParameterValue): GrpcParameter {
  if (typeof value === 'boolean') return { bool_param: value };
  if (typeof value === 'string') return { string_param: value };
  return Number.isSafeInteger(value) ? { int64_param: value } : { double_param: value };
}

/** Parameters as an InferParameter map. */
export function grpcParametersOf(parameters: Parameters | undefined): Record<string, GrpcParameter> {
  const out: Record<string, GrpcParameter> = {};
  if (parameters !== undefined) for (const [k, v] of Object.entries(parameters)) out[k] = grpcParameterOf(v);
  return out;
}

/** The contents field a datatype travels in (FP16 and BF16 only travel raw). */
export const CONTENTS_FIELD: Record<Datatype, keyof GrpcTensorContents | undefined> = {
  BOOL: 'bool_contents',
  INT8: 'int_contents',
  INT16: 'int_contents',
  INT32: 'int_contents',
  INT64: 'int64_contents',
  UINT8: 'uint_contents',
  UINT16: 'uint_contents',
  UINT32: 'uint_contents',
  UINT64: 'uint64_contents',
  FP16: undefined,
  FP32: 'fp32_contents',
  FP64: 'fp64_contents',
  BYTES: 'bytes_contents',
};

/**
 * Tensor data from typed contents: the list for the datatype must hold exactly `count` elements,
 * each in the datatype's range, and no other list may be set.
 */
export function decodeTensorContents(
  datatype: Datatype,
  contents: GrpcTensorContents,
  count: number,
  what: string,
): TensorData {
  const field = CONTENTS_FIELD[datatype];
  for (const [key, list] of Object.entries(contents)) {
    if (key !== field && Array.isArray(list) && list.length > 0) {
      throw new BerthError(
        'BERTH_ERR_PROTOCOL_INVALID_DATA',
        `${what}: contents.${key} does not match datatype ${datatype}${field === undefined ? ' (FP16 data must be sent in raw_input_contents)' : ` (expected contents.${field})`}`,
      );
    }
  }
  if (field === undefined) {
    throw new BerthError(
      'BERTH_ERR_PROTOCOL_INVALID_DATA',
      `${what}: ${datatype} data must be sent in raw_input_contents; it has no typed contents field`,
    );
  }
  const list = (contents[field] ?? []) as readonly unknown[];
  if (list.length !== count) {
    throw new BerthError(
      'BERTH_ERR_PROTOCOL_INVALID_DATA',
      `${what}: contents.${field} has ${list.length} elements but the shape declares ${count}`,
    );
  }
  if (datatype === 'BYTES') return [...(list as Uint8Array[])];
  const out = allocateArray(datatype, count);
  const range = (INTEGER_RANGE as Partial<Record<Datatype, readonly [number, number]>>)[datatype];
  if (range !== undefined) {
    const [min, max] = range;
    for (let i = 0; i < count; i++) {
      const v = list[i] as number;
      if (v < min || v > max) {
        throw new BerthError(
          'BERTH_ERR_PROTOCOL_INVALID_DATA',
          `${what}: element ${i} is ${v}, outside [${min}, ${max}] (${datatype})`,
        );
      }
      out[i] = v;
    }
  } else if (datatype === 'INT64' || datatype === 'UINT64') {
    const big = out as BigInt64Array | BigUint64Array;
    for (let i = 0; i < count; i++) big[i] = bigIntOf(list[i] as Int64Value, `${what}: element ${i}`);
  } else if (datatype === 'BOOL') {
    for (let i = 0; i < count; i++) out[i] = list[i] === true ? 1 : 0;
  } else {
    (out as Float32Array | Float64Array).set(list as number[]);
  }
  return out;
}
