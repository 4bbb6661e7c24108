/**
 * Two versions' REST answers to the same inference request, decoded (JSON or binary tensors) and
 * compared with the rollout's agreement policy (prediction-agreement.ts). The gateway forwards
 * answers without decoding them; only the requests a rollout compares pay for this, off the
 * caller's path.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import {
  decodeRestInferResponse,
  INFERENCE_HEADER_CONTENT_LENGTH,
  parseHeaderLength,
  splitRestBody,
  type InferResponse,
} from '../protocol/index.js';
import { compareAnswers, type Agreement, type AgreementPolicy } from './prediction-agreement.js';

const NO_LIMITS = { maxTensorElements: Number.MAX_SAFE_INTEGER };

export interface RawAnswer {
  readonly status: number;
  readonly headers: OutgoingHttpHeaders;
  readonly body: Buffer;
}

/** An inference answer's tensors; undefined when it is not a 200 inference answer that decodes. */
export function decodeAnswer(answer: RawAnswer): InferResponse | undefined {
  if (answer.status !== 200) return undefined;
  try {
    const given = answer.headers[INFERENCE_HEADER_CONTENT_LENGTH];
    const length = parseHeaderLength(typeof given === 'string' ? given : undefined, answer.body.byteLength);
    const { header, binary } = splitRestBody(answer.body, length);
    return decodeRestInferResponse(header, binary, NO_LIMITS);
  } catch {
    return undefined;
  }
}

/**
 * Whether the candidate's answer agrees with the stable one; undefined when they cannot be
 * compared (either is not a decodable 200 answer: the error counts already judge that).
 *
 * @example
 * const outcome = compareRaw(stableAnswer, candidateAnswer, policy);
 * if (outcome !== undefined) tracks.recordAgreement(outcome.agree, outcome.reason);
 */
export function compareRaw(
  stable: RawAnswer,
  candidate: RawAnswer,
  policy: AgreementPolicy,
): Agreement | undefined {
  const a = decodeAnswer(stable);
  const b = decodeAnswer(candidate);
  if (a === undefined || b === undefined) return undefined;
  return compareAnswers(a, b, policy);
}
