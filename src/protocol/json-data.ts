/**
 * Tensor data in JSON (inference_rest.md, "Tensor Data"): row-major, nested or flat. Decoding
 * writes straight into one typed array while it validates every element against the datatype's
 * range; encoding builds the JSON text of an array without per-element objects.
 */
import {
  BerthError,
  HALF_MAX,
  INTEGER_RANGE,
  allocateArray,
  halfToNumber,
  numberToHalf,
  showValue,
  type BytesData,
  type Datatype,
  type NumericArray,
  type TensorData,
} from '../ground/index.js';

const FP32_MAX = 3.4028234663852886e38;

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

type Store = (value: unknown, index: number) => void;

function invalid(what: string, index: number, expected: string, value: unknown): BerthError {
  const shown = showValue(value);
  return new BerthError(
    'BERTH_ERR_PROTOCOL_INVALID_DATA',
    `${what}: data element ${index} must be ${expected}, got ${shown}`,
  );
}

function storeFor(datatype: Datatype, out: TensorData, what: string): Store {
  switch (datatype) {
    case 'BOOL': {
      const a = out as Uint8Array;
      return (v, i) => {
        if (typeof v !== 'boolean') throw invalid(what, i, 'true or false', v);
        a[i] = v ? 1 : 0;
      };
    }
    case 'INT8':
    case 'INT16':
    case 'INT32':
    case 'UINT8':
    case 'UINT16':
    case 'UINT32': {
      const a = out as NumericArray as Int32Array;
      const [min, max] = INTEGER_RANGE[datatype];
      return (v, i) => {
        if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
          throw invalid(what, i, `an integer in [${min}, ${max}] (${datatype})`, v);
        }
        a[i] = v;
      };
    }
    case 'INT64':
    case 'UINT64': {
      const a = out as BigInt64Array;
      const min = datatype === 'UINT64' ? 0 : Number.MIN_SAFE_INTEGER;
      return (v, i) => {
        if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
          throw invalid(
            what,
            i,
            `an integer in [${min}, ${Number.MAX_SAFE_INTEGER}] (${datatype} in JSON is limited to 2^53; send binary data for the full range)`,
            v,
          );
        }
        a[i] = BigInt(v);
      };
    }
    case 'FP16': {
      const a = out as Uint16Array;
      return (v, i) => {
        if (typeof v !== 'number' || Math.abs(v) > HALF_MAX + 15) {
          throw invalid(what, i, `a number within ±${HALF_MAX} (FP16)`, v);
        }
        a[i] = numberToHalf(v);
      };
    }
    case 'FP32': {
      const a = out as Float32Array;
      return (v, i) => {
        if (typeof v !== 'number' || Math.abs(v) > FP32_MAX) {
          throw invalid(what, i, `a number within ±${FP32_MAX} (FP32)`, v);
        }
        a[i] = v;
      };
    }
    case 'FP64': {
      const a = out as Float64Array;
      return (v, i) => {
        if (typeof v !== 'number') throw invalid(what, i, 'a number (FP64)', v);
        a[i] = v;
      };
    }
    case 'BYTES': {
      const a = out as Uint8Array[];
      return (v, i) => {
        if (typeof v !== 'string') throw invalid(what, i, 'a string (BYTES)', v);
        a[i] = utf8.encode(v);
      };
    }
  }
}

/**
 * Decodes the JSON `data` of a tensor with `count` elements into its typed representation.
 *
 * @example
 * decodeJsonData('INT32', [[1, 2], [3, 4]], 4, 'input "x"'); // Int32Array [1, 2, 3, 4]
 */
export function decodeJsonData(datatype: Datatype, data: unknown, count: number, what: string): TensorData {
  if (!Array.isArray(data)) {
    // A scalar is accepted for a one-element tensor, as Triton does.
    if (count === 1 && data !== null && typeof data !== 'object') data = [data];
    else throw new BerthError('BERTH_ERR_PROTOCOL_INVALID_DATA', `${what}: "data" must be an array`);
  }
  const out: TensorData =
    datatype === 'BYTES' ? new Array<Uint8Array>(count) : allocateArray(datatype, count);
  const store = storeFor(datatype, out, what);
  let index = 0;
  const tooMany = () =>
    new BerthError(
      'BERTH_ERR_PROTOCOL_INVALID_DATA',
      `${what}: "data" has more than the ${count} elements its shape declares`,
    );
  // Iterative walk so deeply nested input cannot overflow the stack.
  const stack: { list: unknown[]; at: number }[] = [{ list: data as unknown[], at: 0 }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    if (top === undefined) break;
    if (top.at >= top.list.length) {
      stack.pop();
      continue;
    }
    const value = top.list[top.at++];
    if (Array.isArray(value)) {
      if (stack.length >= 64) {
        throw new BerthError(
          'BERTH_ERR_PROTOCOL_INVALID_DATA',
          `${what}: "data" is nested deeper than 64 levels`,
        );
      }
      stack.push({ list: value, at: 0 });
      continue;
    }
    if (index >= count) throw tooMany();
    store(value, index++);
  }
  if (index !== count) {
    throw new BerthError(
      'BERTH_ERR_PROTOCOL_INVALID_DATA',
      `${what}: "data" has ${index} elements but its shape declares ${count}`,
    );
  }
  return out;
}

function joinFloats(data: Float32Array | Float64Array): string {
  for (const v of data) {
    // JSON has no NaN or Infinity; they become null (binary output keeps them exactly).
    if (!Number.isFinite(v)) return JSON.stringify(Array.from(data, (x) => (Number.isFinite(x) ? x : null)));
  }
  return `[${data.join(',')}]`;
}

/** The JSON text of a tensor's data, flat and row-major. */
export function encodeJsonData(datatype: Datatype, data: TensorData): string {
  switch (datatype) {
    case 'BOOL':
      return JSON.stringify(Array.from(data as Uint8Array, (v) => v !== 0));
    case 'FP16':
      return JSON.stringify(
        Array.from(data as Uint16Array, (bits) => {
          const v = halfToNumber(bits);
          return Number.isFinite(v) ? v : null;
        }),
      );
    case 'FP32':
    case 'FP64':
      return joinFloats(data as Float32Array | Float64Array);
    case 'BYTES':
      return JSON.stringify((data as BytesData).map((b) => utf8Decoder.decode(b)));
    case 'UINT8':
    case 'UINT16':
    case 'UINT32':
    case 'UINT64':
    case 'INT8':
    case 'INT16':
    case 'INT32':
    case 'INT64':
      // Typed-array join prints BigInt elements exactly, so 64-bit integers keep every digit.
      return `[${(data as NumericArray).join(',')}]`;
  }
}
