/**
 * Two versions' gRPC answers to the same ModelInfer call, decoded and compared with the rollout's
 * agreement policy (prediction-agreement.ts). The gateway forwards messages as bytes; only the
 * calls a rollout compares are decoded, off the caller's path. The REST twin is answer-compare.ts.
 */
import {
  decodeGrpcInferResponse,
  GRPC_STATUS,
  inferenceMethods,
  type GrpcInferResponseMessage,
  type InferResponse,
} from '../protocol/index.js';
import { compareAnswers, type Agreement, type AgreementPolicy } from './prediction-agreement.js';

const NO_LIMITS = { maxTensorElements: Number.MAX_SAFE_INTEGER };

interface GrpcAnswer {
  readonly status: { readonly code: number };
  readonly message: Buffer | undefined;
}

/** A ModelInfer answer's tensors; undefined when it is not an OK answer that decodes. */
export function decodeGrpcAnswer(answer: GrpcAnswer): InferResponse | undefined {
  if (answer.status.code !== GRPC_STATUS.OK || answer.message === undefined) return undefined;
  try {
    const method = inferenceMethods().ModelInfer;
    if (method === undefined) return undefined;
    const message = method.responseDeserialize(answer.message) as GrpcInferResponseMessage;
    return decodeGrpcInferResponse(message, NO_LIMITS);
  } catch {
    return undefined;
  }
}

/**
 * Whether the candidate's answer agrees with the stable one; undefined when they cannot be
 * compared (either is not an OK answer that decodes: the error counts already judge that).
 *
 * @example
 * const outcome = compareGrpcAnswers(stableAnswer, candidateAnswer, policy);
 * if (outcome !== undefined) tracks.recordAgreement(outcome.agree, outcome.reason);
 */
export function compareGrpcAnswers(
  stable: GrpcAnswer,
  candidate: GrpcAnswer,
  policy: AgreementPolicy,
): Agreement | undefined {
  const a = decodeGrpcAnswer(stable);
  const b = decodeGrpcAnswer(candidate);
  if (a === undefined || b === undefined) return undefined;
  return compareAnswers(a, b, policy);
}
