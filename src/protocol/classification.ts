/**
 * Triton's classification extension (triton-inference-server/server
 * docs/protocol/extension_classification.md): an output requested with parameter
 * `classification: N` is answered with its N highest values as BYTES strings "value:index",
 * per batch item when the model batches, over the whole tensor otherwise.
 */
import {
  BerthError,
  halfToNumber,
  type NumericArray,
  type RequestedOutput,
  type Tensor,
} from '../ground/index.js';

const utf8 = new TextEncoder();

/** The class count an output asks for, or undefined; a bad value is a 400 naming the output. */
export function classificationCount(output: RequestedOutput): number | undefined {
  const value = output.parameters?.classification;
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new BerthError(
      'BERTH_ERR_PROTOCOL_INVALID_REQUEST',
      `output "${output.name}": parameters.classification must be a positive integer`,
    );
  }
  return value;
}

function valueAt(tensor: Tensor, i: number): number {
  const data = tensor.data as NumericArray;
  const v = data[i] ?? 0;
  if (tensor.datatype === 'FP16') return halfToNumber(v as number);
  return Number(v);
}

function format(tensor: Tensor, value: number): string {
  // Triton prints with std::to_string: six decimals for floating point, digits for integers.
  return tensor.datatype.startsWith('FP') ? value.toFixed(6) : String(value);
}

/**
 * Replaces a numeric output by its top-`count` classes.
 *
 * @example
 * classify(probabilities, 1, true); // BYTES [batch, 1]: ["0.999977:0", ...]
 */
export function classify(tensor: Tensor, count: number, batched: boolean): Tensor {
  if (tensor.datatype === 'BYTES' || tensor.datatype === 'BOOL') {
    throw new BerthError(
      'BERTH_ERR_PROTOCOL_INVALID_REQUEST',
      `output "${tensor.name}": classification needs a numeric output, it is ${tensor.datatype}`,
    );
  }
  const total = (tensor.data as NumericArray).length;
  const batch = batched ? (tensor.shape[0] ?? 1) : 1;
  const classes = batch === 0 ? 0 : total / batch;
  const k = Math.min(count, classes);
  const out: Uint8Array[] = [];
  const order = Array.from({ length: classes }, (_, i) => i);
  for (let b = 0; b < batch; b++) {
    const base = b * classes;
    const sorted = order
      .slice()
      .sort((x, y) => valueAt(tensor, base + y) - valueAt(tensor, base + x) || x - y);
    for (let j = 0; j < k; j++) {
      const index = sorted[j] ?? 0;
      out.push(utf8.encode(`${format(tensor, valueAt(tensor, base + index))}:${index}`));
    }
  }
  return { name: tensor.name, datatype: 'BYTES', shape: batched ? [batch, k] : [k], data: out };
}
