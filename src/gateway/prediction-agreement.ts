/**
 * Whether two answers to the same request agree: what a canary or shadow rollout compares
 * between the stable version and the candidate, because the gateway parses OIP tensors. Two
 * modes, per output:
 *
 * - `argmax`: each row (the last dimension's vectors) must have its largest element at the same
 *   index. The right test for classifier scores, where a candidate may be recalibrated and still
 *   choose the same classes.
 * - `tolerance`: every element within `absolute + relative * |stable|` of the stable answer
 *   (numpy's isclose), for regressors and embeddings.
 *
 * BYTES outputs must be byte-for-byte equal. Outputs only one side has, or of different
 * datatype or shape, disagree. Pure and allocation-free over the data.
 */
import {
  halfToNumber,
  type BytesData,
  type InferResponse,
  type NumericArray,
  type Tensor,
} from '../ground/index.js';

export interface AgreementPolicy {
  readonly mode: 'argmax' | 'tolerance';
  /** For `tolerance`. */
  readonly absolute: number;
  readonly relative: number;
  /** Outputs to compare; undefined compares every output the stable answer has. */
  readonly outputs?: readonly string[];
}

export const DEFAULT_AGREEMENT: AgreementPolicy = { mode: 'argmax', absolute: 1e-5, relative: 1e-3 };

export interface Agreement {
  readonly agree: boolean;
  /** Why not, naming the output: for logs and `berth status`. */
  readonly reason?: string;
}

const AGREE: Agreement = { agree: true };

/**
 * @example
 * const { agree, reason } = compareAnswers(stableResponse, candidateResponse, DEFAULT_AGREEMENT);
 */
export function compareAnswers(
  stable: InferResponse,
  candidate: InferResponse,
  policy: AgreementPolicy = DEFAULT_AGREEMENT,
): Agreement {
  const names = policy.outputs ?? stable.outputs.map((o) => o.name);
  for (const name of names) {
    const a = stable.outputs.find((o) => o.name === name);
    const b = candidate.outputs.find((o) => o.name === name);
    if (a === undefined || b === undefined) {
      return {
        agree: false,
        reason: `output "${name}" is missing from the ${a === undefined ? 'stable' : 'candidate'} answer`,
      };
    }
    const outcome = compareTensors(a, b, policy);
    if (!outcome.agree) return outcome;
  }
  return AGREE;
}

export function compareTensors(a: Tensor, b: Tensor, policy: AgreementPolicy): Agreement {
  const what = `output "${a.name}"`;
  if (a.datatype !== b.datatype) {
    return { agree: false, reason: `${what}: datatype ${a.datatype} against ${b.datatype}` };
  }
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    return { agree: false, reason: `${what}: shape [${a.shape.join(',')}] against [${b.shape.join(',')}]` };
  }
  if (a.datatype === 'BYTES') return compareBytes(what, a.data as BytesData, b.data as BytesData);
  const x = a.data as NumericArray;
  const y = b.data as NumericArray;
  const read = a.datatype === 'FP16' ? (v: number | bigint) => halfToNumber(Number(v)) : Number;
  if (policy.mode === 'argmax') {
    const row = a.shape.length === 0 ? 1 : (a.shape[a.shape.length - 1] ?? 1);
    if (row === 0) return AGREE;
    for (let start = 0, r = 0; start < x.length; start += row, r++) {
      const i = argmax(x, start, row, read);
      const j = argmax(y, start, row, read);
      if (i !== j)
        return { agree: false, reason: `${what}: row ${r} chooses index ${j}, the stable version ${i}` };
    }
    return AGREE;
  }
  for (let i = 0; i < x.length; i++) {
    const expected = read(x[i] as number);
    const actual = read(y[i] as number);
    if (Number.isNaN(expected) && Number.isNaN(actual)) continue;
    if (!(Math.abs(actual - expected) <= policy.absolute + policy.relative * Math.abs(expected))) {
      return { agree: false, reason: `${what}: element ${i} is ${actual}, the stable version ${expected}` };
    }
  }
  return AGREE;
}

function argmax(
  data: NumericArray,
  start: number,
  length: number,
  read: (v: number | bigint) => number,
): number {
  let best = 0;
  let bestValue = -Infinity;
  for (let k = 0; k < length; k++) {
    const value = read(data[start + k] as number);
    // NaN never wins; the first of equal maxima does, as numpy's argmax.
    if (value > bestValue) {
      bestValue = value;
      best = k;
    }
  }
  return best;
}

function compareBytes(what: string, a: BytesData, b: BytesData): Agreement {
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as Uint8Array;
    const y = b[i] as Uint8Array;
    if (x.length !== y.length || x.some((v, k) => v !== y[k])) {
      return { agree: false, reason: `${what}: element ${i} differs` };
    }
  }
  return AGREE;
}
