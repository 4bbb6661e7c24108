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
