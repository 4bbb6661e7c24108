/**
 * The tensors every request carries, made once before the run: seeded random values (the same
 * bytes on every run, so that two runs measure the same work) or zeros. Random values stay in
 * ranges any model takes: [0, 1) for floating point, 0 to 99 for integers (safe as indices into
 * a small embedding), 0 or 1 for BOOL, 16 lower-case letters for BYTES.
 */
import {
  allocateArray,
  BerthError,
  DEFAULT_DECODE_LIMITS,
  elementCount,
  formatShape,
  numberToHalf,
  type InferInput,
  type TensorData,
  type TensorSpec,
} from '../ground/index.js';

/** The seed of the random data: "berth" in ASCII. */
export const DATA_SEED = 0x62657274;

/** mulberry32: a small, fast 32-bit PRNG; values in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const BYTES_LENGTH = 16;

function fill(spec: TensorSpec, count: number, next: (() => number) | undefined): TensorData {
  const { datatype } = spec;
  if (datatype === 'BYTES') {
    return Array.from({ length: count }, () => {
      const bytes = new Uint8Array(next === undefined ? 0 : BYTES_LENGTH);
      for (let i = 0; i < bytes.length; i++) bytes[i] = 97 + Math.floor((next?.() ?? 0) * 26);
      return bytes;
    });
  }
  const out = allocateArray(datatype, count);
  if (next === undefined) return out;
  for (let i = 0; i < count; i++) {
    const r = next();
    switch (datatype) {
      case 'FP32':
      case 'FP64':
        (out as Float64Array)[i] = r;
        break;
      case 'FP16':
        (out as Uint16Array)[i] = numberToHalf(r);
        break;
      case 'BOOL':
        (out as Uint8Array)[i] = r < 0.5 ? 0 : 1;
        break;
      case 'INT64':
      case 'UINT64':
        (out as BigInt64Array)[i] = BigInt(Math.floor(r * 100));
        break;
      case 'INT8':
      case 'INT16':
      case 'INT32':
      case 'UINT8':
      case 'UINT16':
      case 'UINT32':
        (out as Int32Array)[i] = Math.floor(r * 100);
        break;
    }
  }
  return out;
}

/**
 * One tensor per input of `specs`, random (seeded with {@link DATA_SEED}) or zero.
 *
 * @example
 * syntheticInputs([{ name: 'x', datatype: 'FP32', shape: [1, 4] }], 'random')[0]?.data; // Float32Array(4)
 */
export function syntheticInputs(specs: readonly TensorSpec[], kind: 'random' | 'zero'): InferInput[] {
  const next = kind === 'random' ? seededRandom(DATA_SEED) : undefined;
  return specs.map((spec) => {
    const count = elementCount(spec.shape);
    if (count > DEFAULT_DECODE_LIMITS.maxTensorElements)
      throw new BerthError(
        'BERTH_ERR_CLI_INVALID_OPTION',
        `input "${spec.name}": shape ${formatShape(spec.shape)} has ${count} elements; at most ${DEFAULT_DECODE_LIMITS.maxTensorElements} per input`,
      );
    return {
      name: spec.name,
      datatype: spec.datatype,
      shape: [...spec.shape],
      data: fill(spec, count, next),
    };
  });
}
