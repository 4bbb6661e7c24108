/** Worker thread entry: owns one ONNX Runtime session and runs requests from the main thread in order. */
import { parentPort, workerData } from 'node:worker_threads';
import { BerthError, type NumericArray, type Tensor } from '../../../ground/index.js';
import type { FromWorker, ToWorker, WorkerInit } from './onnx-worker-protocol.js';
import { OnnxSession, setOnnxEnvLogLevel } from './onnx-session.js';

const port = parentPort;

// FP16 is carried as its bit patterns in a Uint16Array. Where the platform has Float16Array
// (Node 24), onnxruntime-common turns float16 tensor data into one, and onnxruntime-node's native
// binding, reading it through N-API (which has no float16 typed array), sees no bytes at all
// ("not enough space: expected 6, got 0"). onnxruntime-common looks for Float16Array once, at the
// first tensor, so hiding it here, in the worker's own thread, before any session exists, changes
// nothing else, and FP16 goes in and out as Uint16Array on every supported Node.
Reflect.deleteProperty(globalThis, 'Float16Array');

if (port === null) throw new Error('onnx-worker must run in a worker thread');

const onnxLogLevel = (workerData as WorkerInit | undefined)?.onnxLogLevel ?? 'fatal';
setOnnxEnvLogLevel(onnxLogLevel);

let session: OnnxSession | undefined;

function reply(message: FromWorker, transfer: ArrayBuffer[] = []): void {
  port?.postMessage(message, transfer);
}

/**
 * The transferable buffers behind fixed-size tensors, each once. Outputs are handed over this way
 * rather than copied; a run's input buffers go back to the main thread for reuse.
 */
function arrayBuffersOf(tensors: readonly Tensor[]): ArrayBuffer[] {
  const buffers = new Set<ArrayBuffer>();
  for (const t of tensors) {
    if (t.datatype === 'BYTES') continue;
    const buffer = (t.data as NumericArray).buffer;
    if (buffer instanceof ArrayBuffer) buffers.add(buffer);
  }
  return [...buffers];
}

port.on('message', (message: ToWorker) => {
  void handle(message);
});

async function handle(message: ToWorker): Promise<void> {
  switch (message.type) {
    case 'load':
      try {
        session = await OnnxSession.create(message.artifact, message.options, onnxLogLevel);
        reply({ type: 'loaded', signature: session.signature });
      } catch (error) {
        reply({
          type: 'load-failed',
          // The code travels with the message: a file that is not ONNX is the user's, not berth's.
          code: error instanceof BerthError ? error.code : 'BERTH_ERR_RUNTIME_LOAD_FAILED',
          message: error instanceof Error ? error.message : String(error),
        });
      }
      return;
    case 'run': {
      const inputBuffers = arrayBuffersOf(message.inputs);
      try {
        if (session === undefined) throw new Error('model not loaded');
        const started = performance.now();
        const outputs = await session.run(message.inputs, message.outputs);
        const computeSeconds = (performance.now() - started) / 1000;
        const result: FromWorker = { type: 'result', id: message.id, outputs, computeSeconds, inputBuffers };
        const outputBuffers = arrayBuffersOf(outputs).filter((b) => !inputBuffers.includes(b));
        try {
          reply(result, [...outputBuffers, ...inputBuffers]);
        } catch {
          reply({ ...result, inputBuffers: [] });
        }
      } catch (error) {
        reply(
          {
            type: 'run-failed',
            id: message.id,
            message: error instanceof Error ? error.message : String(error),
            inputBuffers,
          },
          inputBuffers,
        );
      }
      return;
    }
    case 'dispose':
      await session?.release();
      session = undefined;
      reply({ type: 'disposed' });
      return;
  }
}
