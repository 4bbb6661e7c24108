/**
 * One onnxruntime-node session and the conversions between berth tensors and onnxruntime's.
 * onnxruntime-node runs a session synchronously on the calling thread: in a worker thread
 * (onnx-worker.ts), or on the event loop's thread for a model placed inline (onnx-inline.ts),
 * which never has FP16 tensors (runtime/placement.ts).
 */
import * as ort from 'onnxruntime-node';
import {
  BerthError,
  type BytesData,
  type Datatype,
  type ModelSignature,
  type NumericArray,
  type Tensor,
  type TensorSpec,
} from '../../../ground/index.js';
import type { ModelArtifact } from '../../../repository/index.js';
import type { LoadOptions } from '../../backend.js';
import { explainLoadFailure } from './onnx-load-error.js';
import { onnxSeverityNumber, type OnnxLogLevel } from './onnx-logging.js';
import { datatypeOfOrtType, ORT_TYPE_OF } from './onnx-types.js';

/**
 * The severity of onnxruntime's process-wide logger (device discovery, arenas, thread pools,
 * telemetry), read once, when the first session of the process creates its environment; each
 * session's own lines follow its options (OnnxSession.create).
 */
export function setOnnxEnvLogLevel(level: OnnxLogLevel): void {
  ort.env.logLevel = level;
}

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

function specOf(meta: ort.InferenceSession.ValueMetadata, what: string): TensorSpec {
  if (!meta.isTensor) {
    throw new BerthError(
      'BERTH_ERR_RUNTIME_LOAD_FAILED',
      `${what} "${meta.name}" is not a tensor; berth serves tensor inputs and outputs only`,
    );
  }
  const datatype = datatypeOfOrtType(meta.type);
  if (datatype === undefined) {
    throw new BerthError(
      'BERTH_ERR_RUNTIME_LOAD_FAILED',
      `${what} "${meta.name}" has element type ${meta.type}, which the protocol cannot carry`,
    );
  }
  const shape = meta.shape.map((dim) => (typeof dim === 'number' && dim >= 0 ? dim : -1));
  return { name: meta.name, datatype, shape };
}

function toOrtTensor(tensor: Tensor): ort.Tensor {
  if (tensor.datatype === 'BYTES') {
    return new ort.Tensor(
      'string',
      (tensor.data as BytesData).map((b) => utf8Decoder.decode(b)),
      tensor.shape,
    );
  }
  return new ort.Tensor(
    ORT_TYPE_OF[tensor.datatype],
    tensor.data as NumericArray as Float32Array,
    tensor.shape,
  );
}

function fromOrtTensor(name: string, value: ort.OnnxValue, declared: Datatype | undefined): Tensor {
  const datatype = datatypeOfOrtType(value.type) ?? declared;
  if (datatype === undefined) {
    throw new BerthError(
      'BERTH_ERR_RUNTIME_EXECUTION_FAILED',
      `output "${name}" has element type ${value.type}, which the protocol cannot carry`,
    );
  }
  const shape = value.dims.map(Number);
  if (datatype === 'BYTES')
    return { name, datatype, shape, data: (value.data as string[]).map((s) => utf8.encode(s)) };
  return { name, datatype, shape, data: value.data as NumericArray };
}

export class OnnxSession {
  readonly signature: ModelSignature;
  private readonly declared: Map<string, Datatype>;

  private constructor(private readonly session: ort.InferenceSession) {
    this.signature = {
      inputs: session.inputMetadata.map((m) => specOf(m, 'input')),
      outputs: session.outputMetadata.map((m) => specOf(m, 'output')),
    };
    this.declared = new Map(this.signature.outputs.map((s) => [s.name, s.datatype]));
  }

  static async create(
    artifact: ModelArtifact,
    options: LoadOptions,
    logLevel: OnnxLogLevel = 'fatal',
  ): Promise<OnnxSession> {
    const sessionOptions: ort.InferenceSession.SessionOptions = {
      // The session's own lines (graph transforms, kernel errors at run time) go to standard
      // error as text; a failed run also comes back as a status (onnx-logging.ts).
      logSeverityLevel: onnxSeverityNumber(logLevel),
      intraOpNumThreads: options.intraOpThreads,
      interOpNumThreads: options.interOpThreads,
      // KIND_GPU / execution: cuda asks for CUDA explicitly: onnxruntime-node fails the session when
      // its CUDA provider cannot start, rather than quietly running on the CPU (docs/gpu.md).
      executionProviders: options.execution === 'cuda' ? ['cuda', 'cpu'] : ['cpu'],
      graphOptimizationLevel: 'all',
      extra: {
        session: {
          intra_op: { allow_spinning: options.spinning ? '1' : '0' },
          inter_op: { allow_spinning: options.spinning ? '1' : '0' },
        },
      },
    };
    let session: ort.InferenceSession;
    try {
      session =
        artifact.kind === 'file'
          ? await ort.InferenceSession.create(artifact.path, sessionOptions)
          : await ort.InferenceSession.create(artifact.bytes, sessionOptions);
    } catch (error) {
      throw await explainLoadFailure(error, artifact, options);
    }
    try {
      return new OnnxSession(session);
    } catch (error) {
      await session.release();
      throw error;
    }
  }

  async run(inputs: readonly Tensor[], outputs: readonly string[]): Promise<Tensor[]> {
    const feeds: Record<string, ort.Tensor> = {};
    for (const input of inputs) feeds[input.name] = toOrtTensor(input);
    let results: ort.InferenceSession.ReturnType;
    try {
      results = await this.session.run(feeds, outputs as string[]);
    } catch (error) {
      throw new BerthError(
        'BERTH_ERR_RUNTIME_EXECUTION_FAILED',
        `model execution failed: ${error instanceof Error ? error.message : String(error)}`,
        {
          cause: error,
        },
      );
    }
    return outputs.map((name) => {
      const value = results[name];
      if (value === undefined)
        throw new BerthError(
          'BERTH_ERR_RUNTIME_EXECUTION_FAILED',
          `the runtime returned no output "${name}"`,
        );
      return fromOrtTensor(name, value, this.declared.get(name));
    });
  }

  release(): Promise<void> {
    return this.session.release();
  }
}
