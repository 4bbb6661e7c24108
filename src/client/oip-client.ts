/**
 * What every berth client offers, whatever the transport (REST or gRPC): health, metadata, the
 * repository index and inference, with the same arguments and results.
 */
import type {
  Datatype,
  InferResponse,
  ModelIndexEntry,
  ModelMetadata,
  Parameters,
  ServerMetadata,
} from '../ground/index.js';
import type { ModelStatsJson } from '../observability/index.js';
import type { TensorValues } from './tensor-input.js';

export interface InferInputInit {
  readonly name: string;
  readonly datatype: Datatype;
  readonly shape: readonly number[];
  readonly data: TensorValues;
  readonly parameters?: Parameters;
}

export interface InferOptions {
  readonly version?: string;
  readonly id?: string;
  /** Outputs to return (default: all). */
  readonly outputs?: readonly string[];
  /** REST only: send inputs as binary tensors (default true). gRPC always sends raw bytes. */
  readonly binaryInputs?: boolean;
  /** REST only: ask for outputs as binary tensors (default true). gRPC outputs are always raw. */
  readonly binaryOutputs?: boolean;
  readonly parameters?: Parameters;
  readonly signal?: AbortSignal;
}

export interface OipClient {
  /** Whether the server is live. */
  live(): Promise<boolean>;
  /** Whether the server is ready. */
  ready(): Promise<boolean>;
  /** Whether a model (version) is ready; an unknown model is an error (NOT_FOUND). */
  modelReady(model: string, version?: string): Promise<boolean>;
  serverMetadata(): Promise<ServerMetadata>;
  modelMetadata(model: string, version?: string): Promise<ModelMetadata>;
  /** Triton's repository index: every model version with its state and reason. */
  repositoryIndex(options?: { readyOnly?: boolean }): Promise<ModelIndexEntry[]>;
  infer(model: string, inputs: readonly InferInputInit[], options?: InferOptions): Promise<InferResponse>;
  /**
   * Loads or reloads a model (a server in explicit model control mode), optionally with a config
   * (JSON text: Triton's ModelConfig JSON or berth's config.yaml keys) replacing its config file.
   */
  loadModel(model: string, options?: { config?: string }): Promise<void>;
  /** Unloads a model once its accepted requests have finished (explicit model control mode). */
  unloadModel(model: string): Promise<void>;
  /** Triton statistics of every model, one model, or one version. */
  modelStatistics(model?: string, version?: string): Promise<ModelStatsJson[]>;
  /** Releases connections (a no-op for REST). */
  close(): void;
}
