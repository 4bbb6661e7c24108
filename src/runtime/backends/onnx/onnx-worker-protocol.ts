/** Messages between the main thread and an ONNX Runtime worker thread (one session per worker). */
import type { Datatype, ErrorCode, ModelSignature, TensorData } from '../../../ground/index.js';
import type { ModelArtifact } from '../../../repository/index.js';
import type { LoadOptions } from '../../backend.js';
import type { OnnxLogLevel } from './onnx-logging.js';

/** What a worker starts with (its `workerData`), before any message. */
export interface WorkerInit {
  /** The severity from which onnxruntime writes its own lines to standard error. */
  readonly onnxLogLevel: OnnxLogLevel;
}

export interface WireTensor {
  readonly name: string;
  readonly datatype: Datatype;
  readonly shape: readonly number[];
  readonly data: TensorData;
}

export type ToWorker =
  | { readonly type: 'load'; readonly artifact: ModelArtifact; readonly options: LoadOptions }
  | {
      readonly type: 'run';
      readonly id: number;
      readonly inputs: readonly WireTensor[];
      readonly outputs: readonly string[];
    }
  | { readonly type: 'dispose' };

export type FromWorker =
  | { readonly type: 'loaded'; readonly signature: ModelSignature }
  | { readonly type: 'load-failed'; readonly code: ErrorCode; readonly message: string }
  | {
      readonly type: 'result';
      readonly id: number;
      readonly outputs: readonly WireTensor[];
      readonly computeSeconds: number;
      /** The run's input buffers, transferred back for reuse. */
      readonly inputBuffers: readonly ArrayBuffer[];
    }
  | {
      readonly type: 'run-failed';
      readonly id: number;
      readonly message: string;
      readonly inputBuffers: readonly ArrayBuffer[];
    }
  | { readonly type: 'disposed' };
