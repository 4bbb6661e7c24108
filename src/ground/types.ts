/**
 * Decoded Open Inference Protocol v2 messages, independent of the transport
 * (kserve/open-inference-protocol, specification/protocol/inference_rest.md and
 * open_inference_grpc.proto). Tensor data is always a typed array (or a list of byte strings
 * for BYTES), so the REST JSON, REST binary and gRPC paths share one representation.
 */
import type { Datatype, TensorData } from './datatypes.js';

export type ParameterValue = string | number | boolean;
export type Parameters = Readonly<Record<string, ParameterValue>>;

export interface Tensor {
  readonly name: string;
  readonly datatype: Datatype;
  readonly shape: readonly number[];
  readonly data: TensorData;
}

export interface InferInput extends Tensor {
  readonly parameters?: Parameters;
}

export interface RequestedOutput {
  readonly name: string;
  readonly parameters?: Parameters;
}

export interface InferRequest {
  readonly id?: string;
  readonly parameters?: Parameters;
  readonly inputs: readonly InferInput[];
  /** Absent: every output the model produces. */
  readonly outputs?: readonly RequestedOutput[];
}

export interface InferResponse {
  readonly modelName: string;
  readonly modelVersion: string;
  readonly id?: string;
  readonly parameters?: Parameters;
  readonly outputs: readonly Tensor[];
}

/** A tensor as a model declares it; -1 marks a variable-size dimension. */
export interface TensorSpec {
  readonly name: string;
  readonly datatype: Datatype;
  readonly shape: readonly number[];
}

export interface ModelSignature {
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
}

export interface ServerMetadata {
  readonly name: string;
  readonly version: string;
  readonly extensions: readonly string[];
}

export interface ModelMetadata {
  readonly name: string;
  readonly versions: readonly string[];
  readonly platform: string;
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  readonly parameters?: Parameters;
}

/** Model states as Triton's repository index reports them. */
export const MODEL_STATES = ['LOADING', 'READY', 'UNLOADING', 'UNAVAILABLE'] as const;
export type ModelState = (typeof MODEL_STATES)[number];

export interface ModelIndexEntry {
  readonly name: string;
  readonly version: string;
  readonly state: ModelState;
  readonly reason: string;
}

/** The request phases Triton's statistics extension counts. */
export const INFER_STAT_NAMES = [
  'success',
  'fail',
  'queue',
  'compute_input',
  'compute_infer',
  'compute_output',
  'cache_hit',
  'cache_miss',
] as const;
export type InferStat = (typeof INFER_STAT_NAMES)[number];

/** Triton's `$duration_stat`: how many, and their total time in nanoseconds. */
export interface DurationStat {
  count: number;
  ns: number;
}

export interface BatchStat {
  readonly batch_size: number;
  readonly compute_input: DurationStat;
  readonly compute_infer: DurationStat;
  readonly compute_output: DurationStat;
}

/** Triton's `$model_stat` JSON object. */
export interface ModelStatsJson {
  readonly name: string;
  readonly version: string;
  readonly last_inference: number;
  readonly inference_count: number;
  readonly execution_count: number;
  readonly inference_stats: Readonly<Record<InferStat, DurationStat>>;
  readonly batch_stats: readonly BatchStat[];
  readonly memory_usage: readonly never[];
}

/**
 * What a queued request watches to be dropped when its caller goes away: a subset of AbortSignal,
 * so an AbortSignal fits, and a transport can offer a cheaper one.
 */
export interface CancelSignal {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}
