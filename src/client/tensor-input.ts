/** Turns what a caller has (typed arrays or plain arrays) into berth's tensor representation. */
import {
  allocateArray,
  BerthError,
  isArrayOf,
  numberToHalf,
  type Datatype,
  type TensorData,
} from '../ground/index.js';

export type TensorValues =
  TensorData | readonly number[] | readonly bigint[] | readonly boolean[] | readonly string[];

const utf8 = new TextEncoder();

function invalid(name: string, message: string): BerthError {
  return new BerthError('BERTH_ERR_PROTOCOL_INVALID_DATA', `input "${name}": ${message}`);
}

/**
 * Typed arrays of the datatype's own representation pass through without a copy; plain arrays
 * are converted once.
 */
export function toTensorData(name: string, datatype: Datatype, values: TensorValues): TensorData {
  if (datatype === 'BYTES') {
    return (values as readonly unknown[]).map((v, i) => {
      if (typeof v === 'string') return utf8.encode(v);
      if (v instanceof Uint8Array) return v;
      throw invalid(name, `BYTES element ${i} must be a string or Uint8Array`);
    });
  }
  if (isArrayOf(datatype, values as TensorData)) return values as TensorData;
  if (!Array.isArray(values))
    throw invalid(
      name,
      `a typed array of another type cannot hold ${datatype}; pass the matching typed array or a plain array`,
    );
  const out = allocateArray(datatype, values.length);
  const list = values as readonly unknown[];
  for (let i = 0; i < list.length; i++) {
    const v = list[i];
    if (datatype === 'BOOL') {
      (out as Uint8Array)[i] = v === true || v === 1 ? 1 : 0;
    } else if (datatype === 'INT64' || datatype === 'UINT64') {
      if (typeof v !== 'bigint' && typeof v !== 'number')
        throw invalid(name, `element ${i} must be a number or bigint`);
      (out as BigInt64Array)[i] = BigInt(v);
    } else if (typeof v !== 'number') {
      throw invalid(name, `element ${i} must be a number`);
    } else if (datatype === 'FP16') {
      (out as Uint16Array)[i] = numberToHalf(v);
    } else {
      (out as Float64Array)[i] = v;
    }
  }
  return out;
}
