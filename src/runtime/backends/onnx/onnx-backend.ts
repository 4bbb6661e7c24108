/**
 * ONNX models on onnxruntime-node, each loaded model in its own worker thread. onnxruntime-node
 * executes synchronously on the calling thread; running it in a worker keeps the server's event
 * loop free to accept, decode and answer other requests (and health probes) during inference.
 * Requests to one model run one at a time, in arrival order, like one Triton model instance.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import {
  allocateArray,
  BerthError,
  isArrayOf,
  toBerthError,
  type ModelSignature,
  type NumericArray,
  type Tensor,
} from '../../../ground/index.js';
import type { Logger } from '../../../observability/index.js';
import type { ModelArtifact } from '../../../repository/index.js';
import type {
  Backend,
  LoadedModel,
  LoadOptions,
  RunOptions,
  RunResult,
  TensorAllocator,
} from '../../backend.js';
import { ArenaPool } from './input-arena.js';
import { loadInline } from './onnx-inline.js';
import { checkStringElements } from './string-elements.js';
import { disableOnnxTelemetry, onnxLogLevelFor, type OnnxLogLevel } from './onnx-logging.js';
import type { FromWorker, ToWorker, WireTensor, WorkerInit } from './onnx-worker-protocol.js';

export const ONNX_PLATFORM = 'onnxruntime_onnx';

/** The compiled worker script. Under a TypeScript test runner the module is .ts: use the build. */
function workerUrl(): URL {
  const beside = new URL('./onnx-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(beside))) return beside;
  return new URL('../../../../dist/runtime/backends/onnx/onnx-worker.js', import.meta.url);
}

function ownsWholeBuffer(data: ArrayBufferView): boolean {
  return (
    data.buffer instanceof ArrayBuffer && data.byteOffset === 0 && data.byteLength === data.buffer.byteLength
  );
}

/**
 * Inputs travel to the worker by transfer, never by structured clone, and come back with the
 * result for reuse. Arrays from this model's input allocator, and arrays the caller consumes
 * that span a whole buffer, go as they are; any other fixed-size input (a view into a request's
 * body, which must never be detached) is copied once into a pooled arena first.
 */
function toWire(
  inputs: readonly Tensor[],
  consume: boolean,
  isArena: (buffer: ArrayBufferLike) => boolean,
  arenas: ArenaPool,
): { tensors: WireTensor[]; transfer: ArrayBuffer[] } {
  const transfer = new Set<ArrayBuffer>();
  const goesAsIs = (data: NumericArray) =>
    consume && data.buffer instanceof ArrayBuffer && (isArena(data.buffer) || ownsWholeBuffer(data));
  let copyBytes = 0;
  let copyTensors = 0;
  for (const t of inputs) {
    if (t.datatype === 'BYTES' || !isArrayOf(t.datatype, t.data) || goesAsIs(t.data)) continue;
    copyBytes += t.data.byteLength;
    copyTensors++;
  }
  const arena = copyTensors > 0 ? arenas.take(copyBytes, copyTensors) : undefined;
  const tensors = inputs.map((t) => {
    if (t.datatype === 'BYTES') checkStringElements(t);
    if (t.datatype === 'BYTES' || !isArrayOf(t.datatype, t.data))
      return { name: t.name, datatype: t.datatype, shape: t.shape, data: t.data };
    let data = t.data;
    if (!goesAsIs(data)) {
      const copy = arena?.allocate(t.datatype, data.length) ?? data.slice();
      (copy as Float32Array).set(data as Float32Array);
      data = copy;
    }
    transfer.add(data.buffer as ArrayBuffer);
    return { name: t.name, datatype: t.datatype, shape: t.shape, data };
  });
  return { tensors, transfer: [...transfer] };
}

interface Pending {
  resolve: (result: RunResult) => void;
  reject: (error: Error) => void;
}

class OnnxWorkerModel implements LoadedModel {
  readonly platform = ONNX_PLATFORM;
  readonly placement = 'worker';
  private readonly pending = new Map<number, Pending>();
  private readonly arenas = new ArenaPool();
  private readonly arenaBuffers = new WeakSet<ArrayBufferLike>();
  private nextId = 1;
  private failure: Error | undefined;
  private closed = false;

  constructor(
    private readonly worker: Worker,
    readonly signature: ModelSignature,
  ) {
    worker.on('message', (message: FromWorker) => {
      if (message.type === 'result' || message.type === 'run-failed') {
        for (const buffer of message.inputBuffers) this.arenas.give(buffer);
      }
      if (message.type === 'result')
        this.settle(message.id)?.resolve({
          outputs: message.outputs as Tensor[],
          computeSeconds: message.computeSeconds,
        });
      else if (message.type === 'run-failed') {
        this.settle(message.id)?.reject(
          new BerthError('BERTH_ERR_RUNTIME_EXECUTION_FAILED', message.message),
        );
      }
    });
    worker.on('error', (error) => this.fail(error));
    worker.on('exit', (code) => this.fail(new Error(`model worker exited with code ${code}`)));
  }

  private settle(id: number): Pending | undefined {
    const pending = this.pending.get(id);
    this.pending.delete(id);
    return pending;
  }

  private fail(error: Error): void {
    this.failure ??= new BerthError(
      'BERTH_ERR_RUNTIME_EXECUTION_FAILED',
      `model worker stopped: ${error.message}`,
      { cause: error },
    );
    for (const pending of this.pending.values()) pending.reject(this.failure);
    this.pending.clear();
  }

  run(inputs: readonly Tensor[], outputs: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new BerthError('BERTH_ERR_MODEL_NOT_READY', 'model is unloading'));
    const id = this.nextId++;
    let wire: ReturnType<typeof toWire>;
    try {
      wire = toWire(inputs, options.consumeInputs === true, (b) => this.arenaBuffers.has(b), this.arenas);
    } catch (error) {
      return Promise.reject(toBerthError(error));
    }
    const { tensors, transfer } = wire;
    return new Promise<RunResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      const message: ToWorker = { type: 'run', id, inputs: tensors, outputs };
      this.worker.postMessage(message, transfer);
    });
  }

  inputAllocator(bytes: number, tensors: number): TensorAllocator {
    const arena = this.arenas.take(bytes, tensors);
    this.arenaBuffers.add(arena.buffer);
    return (datatype, length) => arena.allocate(datatype, length) ?? allocateArray(datatype, length);
  }

  /**
   * Waits for runs already in the worker, then releases the session and ends the thread.
   * onnxruntime cannot be interrupted mid-run, and terminating a worker inside a run aborts the
   * whole process, so a dispose never cuts a run short.
   */
  async dispose(): Promise<void> {
    this.closed = true;
    while (this.pending.size > 0 && this.failure === undefined) {
      await new Promise<void>((resolve) => this.worker.once('message', () => resolve()));
    }
    if (this.failure === undefined) {
      const disposed = new Promise<void>((resolve) => {
        const onMessage = (message: FromWorker) => {
          if (message.type !== 'disposed') return;
          this.worker.off('message', onMessage);
          resolve();
        };
        this.worker.on('message', onMessage);
        this.worker.once('exit', () => resolve());
      });
      this.worker.postMessage({ type: 'dispose' } satisfies ToWorker);
      await disposed;
    }
    this.failure ??= new BerthError('BERTH_ERR_MODEL_NOT_READY', 'model was unloaded');
    await this.worker.terminate();
  }
}

function loadInWorker(
  artifact: ModelArtifact,
  options: LoadOptions,
  onnxLogLevel: OnnxLogLevel,
): Promise<LoadedModel> {
  // Before the worker exists: onnxruntime reads the variable when the first session is created.
  disableOnnxTelemetry();
  const worker = new Worker(workerUrl(), { workerData: { onnxLogLevel } satisfies WorkerInit });
  return new Promise<LoadedModel>((resolve, reject) => {
    const onExit = (code: number) =>
      reject(
        new BerthError(
          'BERTH_ERR_RUNTIME_LOAD_FAILED',
          `model worker exited with code ${code} while loading`,
        ),
      );
    const onError = (error: Error) =>
      reject(
        new BerthError('BERTH_ERR_RUNTIME_LOAD_FAILED', `model worker failed: ${error.message}`, {
          cause: error,
        }),
      );
    const onMessage = (message: FromWorker) => {
      worker.off('exit', onExit).off('error', onError).off('message', onMessage);
      if (message.type === 'loaded') {
        resolve(new OnnxWorkerModel(worker, message.signature));
      } else {
        void worker.terminate();
        reject(
          message.type === 'load-failed'
            ? new BerthError(message.code, message.message)
            : new BerthError('BERTH_ERR_RUNTIME_LOAD_FAILED', `unexpected ${message.type} from model worker`),
        );
      }
    };
    worker.on('message', onMessage).on('exit', onExit).on('error', onError);
    worker.postMessage({ type: 'load', artifact, options } satisfies ToWorker);
  });
}

export interface OnnxBackendOptions {
  /**
   * berth's logger. Its level decides what onnxruntime writes of its own to standard error, as
   * text that is not JSON: nothing by default, its info lines and above at debug, everything at
   * trace (onnx-logging.ts). Without it, onnxruntime stays quiet.
   */
  readonly logger?: Logger;
}

/**
 * ONNX models, each in a worker thread of its own or, when it computes faster than a thread hop,
 * on the event loop's thread (runtime/placement.ts). Turns onnxruntime's telemetry off for the process unless
 * ORT_DISABLE_TELEMETRY is set (docs/cli.md, "onnxruntime's own output").
 *
 * @example
 * const model = await createOnnxBackend({ logger }).load({ kind: 'file', path: 'model.onnx' }, options);
 * const { outputs: [y] } = await model.run([x], ['OUTPUT0']);
 */
export function createOnnxBackend(backendOptions: OnnxBackendOptions = {}): Backend {
  const { logger } = backendOptions;
  let said = false;
  return {
    platform: ONNX_PLATFORM,
    load: async (artifact, options) => {
      // Read at each load: the level of a logger can change while the server runs.
      const onnxLogLevel = onnxLogLevelFor(logger?.level ?? 'info');
      if (!said && onnxLogLevel !== 'fatal') {
        said = true;
        logger?.debug(
          { onnxLogLevel },
          `onnxruntime writes its own ${onnxLogLevel} lines and above to standard error, as text`,
        );
      }
      const inline = await loadInline(ONNX_PLATFORM, artifact, options, onnxLogLevel);
      logger?.debug(
        { placement: inline.model === undefined ? 'worker' : 'inline', why: inline.reason },
        'model placement',
      );
      return inline.model ?? (await loadInWorker(artifact, options, onnxLogLevel));
    },
  };
}
