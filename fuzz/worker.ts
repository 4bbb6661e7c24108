/**
 * The worker thread one target is fuzzed in (main.ts starts it): the engine's loop, with the
 * input being run written to shared memory first, so that the main thread can tell which input
 * hung or ran out of memory when it has to stop this thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { fuzzLoop } from './engine.ts';
import { loadTarget } from './targets/index.ts';

export interface WorkerInput {
  readonly target: string;
  readonly seeds: readonly Uint8Array[];
  readonly timeMs: number;
  readonly maxExecs: number;
  readonly seed: number;
  readonly maxAllocBytes: number;
  /** Int32: [running (0/1), input length]; Float64: [when the run started, Date.now()]; the input's bytes. */
  readonly state: SharedArrayBuffer;
  readonly clock: SharedArrayBuffer;
  readonly input: SharedArrayBuffer;
}

const data = workerData as WorkerInput;
const state = new Int32Array(data.state);
const clock = new Float64Array(data.clock);
const current = new Uint8Array(data.input);
const port = parentPort;
if (port === null) throw new Error('fuzz/worker.ts runs as a worker thread of fuzz/main.ts');

const target = await loadTarget(data.target);
const result = await fuzzLoop(target, data.seeds, {
  timeMs: data.timeMs,
  maxExecs: data.maxExecs,
  seed: data.seed,
  maxAllocBytes: data.maxAllocBytes,
  started: (input) => {
    current.set(input.subarray(0, current.byteLength));
    Atomics.store(state, 1, Math.min(input.byteLength, current.byteLength));
    clock[0] = Date.now();
    Atomics.store(state, 0, 1);
  },
  ended: () => Atomics.store(state, 0, 0),
  onProgress: (stats) => port.postMessage({ type: 'progress', stats }),
  onKept: (input) => port.postMessage({ type: 'kept', input }),
});
port.postMessage({ type: 'done', ...result });
