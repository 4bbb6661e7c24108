/**
 * Merging requests along dimension 0 into one batch, and splitting a batch's outputs back.
 * Each input is copied once into a preallocated typed array; outputs are split into subarray
 * views, never copied.
 */
import {
  allocateArray,
  BerthError,
  elementCount,
  type BytesData,
  type Datatype,
  type FixedDatatype,
  type NumericArray,
  type Tensor,
} from '../ground/index.js';

/**
 * The key under which requests may share a batch: same input names, datatypes and non-batch
 * dimensions. Requests whose keys differ are never merged.
 */
export function batchKey(inputs: readonly Tensor[]): string {
  const ordered =
    inputs.length < 2 ? inputs : [...inputs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  let key = '';
  for (const t of ordered) {
    key += `${t.name}\u0000${t.datatype}\u0000`;
    for (let d = 1; d < t.shape.length; d++) key += d === 1 ? `${t.shape[d]}` : `,${t.shape[d]}`;
    key += '\u0001';
  }
  return key;
}

/** The batch size a request carries: dimension 0 of its first input. */
export function batchSizeOf(inputs: readonly Tensor[]): number {
  return inputs[0]?.shape[0] ?? 1;
}

/** Where merged inputs are written: a new array by default, or one a runtime can take as is. */
export type Allocate = (datatype: FixedDatatype, length: number) => NumericArray;

function mergeOne(
  name: string,
  datatype: Datatype,
  parts: readonly Tensor[],
  total: number,
  allocate: Allocate,
): Tensor {
  const first = parts[0];
  if (first === undefined) throw new BerthError('BERTH_ERR_INTERNAL', 'empty batch');
  const shape = [total, ...first.shape.slice(1)];
  if (datatype === 'BYTES') {
    const data: Uint8Array[] = [];
    for (const p of parts) for (const e of p.data as BytesData) data.push(e);
    return { name, datatype, shape, data };
  }
  const out = allocate(datatype, elementCount(shape));
  let offset = 0;
  for (const p of parts) {
    const data = p.data as NumericArray;
    (out as Float32Array).set(data as Float32Array, offset);
    offset += data.length;
  }
  return { name, datatype, shape, data: out };
}

/**
 * Concatenates the inputs of several requests (which share a batchKey) along dimension 0.
 *
 * @example
 * const { inputs, sizes } = mergeBatch([requestA.inputs, requestB.inputs]);
 */
export function mergeBatch(
  requests: readonly (readonly Tensor[])[],
  allocate: Allocate = allocateArray,
): { inputs: Tensor[]; sizes: number[] } {
  const sizes = requests.map(batchSizeOf);
  const first = requests[0];
  if (first === undefined) throw new BerthError('BERTH_ERR_INTERNAL', 'empty batch');
  if (requests.length === 1) return { inputs: [...first], sizes };
  const total = sizes.reduce((a, b) => a + b, 0);
  const inputs = first.map((tensor) =>
    mergeOne(
      tensor.name,
      tensor.datatype,
      requests.map((r) => r.find((t) => t.name === tensor.name) ?? tensor),
      total,
      allocate,
    ),
  );
  return { inputs, sizes };
}

/** Splits batch outputs back into one output list per request, as views over the batch arrays. */
export function splitBatch(outputs: readonly Tensor[], sizes: readonly number[]): Tensor[][] {
  if (sizes.length === 1) return [[...outputs]];
  const total = sizes.reduce((a, b) => a + b, 0);
  const perRequest: Tensor[][] = sizes.map(() => []);
  for (const output of outputs) {
    if (output.shape[0] !== total) {
      throw new BerthError(
        'BERTH_ERR_RUNTIME_EXECUTION_FAILED',
        `output "${output.name}" has batch dimension ${output.shape[0] ?? 'none'}, expected ${total}: the model does not batch along dimension 0`,
      );
    }
    const rowElements = total === 0 ? 0 : (output.data as ArrayLike<unknown>).length / total;
    let row = 0;
    sizes.forEach((size, i) => {
      const start = row * rowElements;
      const end = (row + size) * rowElements;
      const data =
        output.datatype === 'BYTES'
          ? (output.data as BytesData).slice(start, end)
          : (output.data as NumericArray).subarray(start, end);
      perRequest[i]?.push({
        name: output.name,
        datatype: output.datatype,
        shape: [size, ...output.shape.slice(1)],
        data,
      });
      row += size;
    });
  }
  return perRequest;
}
