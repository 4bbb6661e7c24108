/**
 * Tensor datatypes of the Open Inference Protocol v2
 * (kserve/open-inference-protocol, specification/protocol/inference_rest.md, "Tensor Data Types")
 * and their in-memory representation in berth: one typed array per tensor, never per-element
 * objects. BOOL is stored as one byte per element (0 or 1), FP16 as its IEEE 754 half-precision
 * bit patterns in a Uint16Array, BYTES as a list of byte strings.
 */
import { BerthError } from './errors.js';
import { showValue } from './show-value.js';

export const DATATYPES = [
  'BOOL',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'FP16',
  'FP32',
  'FP64',
  'BYTES',
] as const;
export type Datatype = (typeof DATATYPES)[number];
export type FixedDatatype = Exclude<Datatype, 'BYTES'>;

/** BYTES tensor data: one byte string per element. */
export type BytesData = readonly Uint8Array[];

export type NumericArray =
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Float32Array
  | Float64Array;

export type TensorData = NumericArray | BytesData;

interface TypedArrayConstructorLike {
  readonly BYTES_PER_ELEMENT: number;
  new (length: number): NumericArray;
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): NumericArray;
}

const ARRAY_OF: Record<FixedDatatype, TypedArrayConstructorLike> = {
  BOOL: Uint8Array,
  UINT8: Uint8Array,
  UINT16: Uint16Array,
  UINT32: Uint32Array,
  UINT64: BigUint64Array,
  INT8: Int8Array,
  INT16: Int16Array,
  INT32: Int32Array,
  INT64: BigInt64Array,
  FP16: Uint16Array,
  FP32: Float32Array,
  FP64: Float64Array,
};

const DATATYPE_SET: ReadonlySet<string> = new Set(DATATYPES);

/** The value range of the integer datatypes up to 32 bits (64-bit ones are bigints). */
export const INTEGER_RANGE = {
  INT8: [-128, 127],
  INT16: [-32768, 32767],
  INT32: [-2147483648, 2147483647],
  UINT8: [0, 255],
  UINT16: [0, 65535],
  UINT32: [0, 4294967295],
} as const satisfies Partial<Record<Datatype, readonly [number, number]>>;

const DATATYPE_LIST = DATATYPES.join(', ');

/**
 * A datatype field of a request, checked.
 *
 * @throws BerthError (INVALID_DATATYPE) naming `what` and the datatypes there are.
 */
export function readDatatype(value: unknown, what: string): Datatype {
  if (isDatatype(value)) return value;
  throw new BerthError(
    'BERTH_ERR_PROTOCOL_INVALID_DATATYPE',
    `${what}: datatype must be one of ${DATATYPE_LIST}; got ${showValue(value)}`,
  );
}

export function isDatatype(value: unknown): value is Datatype {
  return typeof value === 'string' && DATATYPE_SET.has(value);
}

/** Bytes per element in the binary wire format; 0 for BYTES, whose elements vary in size. */
export function elementSize(datatype: Datatype): number {
  return datatype === 'BYTES' ? 0 : ARRAY_OF[datatype].BYTES_PER_ELEMENT;
}

/** A zero-filled typed array of `length` elements for a fixed-size datatype. */
export function allocateArray(datatype: FixedDatatype, length: number): NumericArray {
  return new ARRAY_OF[datatype](length);
}

/** A typed array of `length` elements over `buffer` from `byteOffset` (which must be aligned). */
export function arrayOver(
  datatype: FixedDatatype,
  buffer: ArrayBuffer,
  byteOffset: number,
  length: number,
): NumericArray {
  return new ARRAY_OF[datatype](buffer, byteOffset, length);
}

/**
 * A typed-array view over little-endian wire bytes without copying when the offset is aligned;
 * an aligned copy otherwise (typed arrays cannot start at an unaligned offset).
 */
export function viewArray(datatype: FixedDatatype, bytes: Uint8Array): NumericArray {
  const ctor = ARRAY_OF[datatype];
  const size = ctor.BYTES_PER_ELEMENT;
  const length = bytes.byteLength / size;
  if (bytes.byteOffset % size === 0) return new ctor(bytes.buffer, bytes.byteOffset, length);
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new ctor(copy.buffer, 0, length);
}

/** The little-endian wire bytes of a typed array, as a view (no copy). */
export function bytesOfArray(data: NumericArray): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Whether a typed array is the representation berth uses for `datatype`. */
export function isArrayOf(datatype: FixedDatatype, data: TensorData): data is NumericArray {
  return data instanceof ARRAY_OF[datatype];
}

// The wire format is little-endian; berth stores tensors in host order and relies on it matching.
const IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
if (!IS_LITTLE_ENDIAN) throw new Error('berth requires a little-endian host');
