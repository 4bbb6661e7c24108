/**
 * The contract between berth and an inference runtime. A backend turns a model artifact into a
 * LoadedModel that runs tensors in berth's representation (typed arrays), so transports and the
 * scheduler never see a runtime's own types. Every backend passes the shared backend suite.
 */
import type { FixedDatatype, ModelSignature, NumericArray, Tensor } from '../ground/index.js';
import type { ModelArtifact } from '../repository/index.js';

export interface LoadOptions {
  /** Threads inside one operator; 0 lets the runtime choose. */
  readonly intraOpThreads: number;
  /** Threads across independent operators; 0 lets the runtime choose. */
  readonly interOpThreads: number;
  /**
   * Whether idle runtime threads busy-wait for the next operator. Off by default: spinning
   * threads take the cores the server's event loop needs (per request, about twice the CPU on
   * a small model; docs/adr/0003).
   */
  readonly spinning: boolean;
  readonly execution: 'cpu' | 'cuda';
  /** Where the model runs (placement.ts); absent: in a worker thread. */
  readonly placement?: Placement;
  /** The most rows a batch of this model has (config `maxBatchSize`; 0: it does not batch). */
  readonly maxBatchSize?: number;
}

export type Placement = 'auto' | 'worker' | 'inline';

export interface RunOptions {
  /**
   * The caller owns the input arrays and will not touch them again (a merged batch), so the
   * backend may take their buffers instead of copying them.
   */
  readonly consumeInputs?: boolean;
}

/** Where a batch's merged inputs are written (see LoadedModel.inputAllocator). */
export type TensorAllocator = (datatype: FixedDatatype, length: number) => NumericArray;

export interface RunResult {
  readonly outputs: Tensor[];
  /** Time the runtime itself computed, excluding any wait for the model to be free. */
  readonly computeSeconds: number;
}

export interface LoadedModel {
  /** OIP platform string, e.g. `onnxruntime_onnx`. */
  readonly platform: string;
  /** The signature the model file declares (before config overrides). */
  readonly signature: ModelSignature;
  /** Where it runs, when the backend chose (placement.ts). */
  readonly placement?: 'inline' | 'worker';
  /** Runs the model; `outputs` names the outputs to compute, in the order to return them. */
  run(inputs: readonly Tensor[], outputs: readonly string[], options?: RunOptions): Promise<RunResult>;
  /**
   * Optional: arrays for the inputs of one coming run (`bytes` in all, over `tensors` tensors)
   * that the runtime can take without a copy, from buffers it reuses. Pass them to `run` with
   * `consumeInputs`.
   */
  inputAllocator?(bytes: number, tensors: number): TensorAllocator;
  /** Frees native resources; the model cannot run afterwards. */
  dispose(): Promise<void>;
}

export interface Backend {
  readonly platform: string;
  load(artifact: ModelArtifact, options: LoadOptions): Promise<LoadedModel>;
}
