/**
 * Where a model runs: in a worker thread of its own, or inline, on the event loop's thread.
 *
 * A worker keeps the event loop free while a model computes, but every run pays a round trip:
 * two postMessage calls and two thread wake-ups, about 130 µs of CPU on a 2-vCPU VM
 * (docs/adr/0005-where-a-model-runs.md). A model that computes in less than that is faster run
 * inline, as a hand-written node:http + onnxruntime server runs it: the loop is blocked for no
 * longer than the hop would have cost. `auto` measures the model before it serves and decides.
 */
import type { ModelSignature } from '../ground/index.js';
import type { Placement } from './backend.js';

/** The longest run (the fastest of a few, on one item of zeros) that `auto` runs inline. */
export const INLINE_MAX_COMPUTE_MS = 0.25;

/** The longest run of a full batch (maxBatchSize rows) that `auto` runs inline. */
export const INLINE_MAX_BATCH_MS = 1;

/** The largest model file `auto` tries inline (a larger one is never that fast). */
export const INLINE_MAX_MODEL_BYTES = 2 * 1024 * 1024;

export interface PlacementFacts {
  readonly requested: Placement;
  readonly execution: 'cpu' | 'cuda';
  readonly modelBytes: number;
}

/**
 * Whether to try the model inline before it is measured: `inline` always (when it can), `auto`
 * for a small CPU model, `worker` never.
 */
export function mayRunInline(facts: PlacementFacts): boolean {
  if (facts.requested === 'worker' || facts.execution !== 'cpu') return false;
  return facts.requested === 'inline' || facts.modelBytes <= INLINE_MAX_MODEL_BYTES;
}

/**
 * Why a loaded model cannot run inline, or undefined when it can:
 * - FP16 tensors: Node 24's Float16Array makes onnxruntime-common hand the native binding an
 *   array it cannot read, and it is hidden only in worker threads (onnx-worker.ts);
 * - an input whose size a request chooses: a variable dimension past the first, or a variable
 *   first dimension of a model that does not batch (a batching model's batches are at most
 *   `maxBatchSize` rows, and are measured so). A run measured on a small input would say nothing
 *   of the run of a large one, which inline would block the event loop for.
 */
export function inlineObstacle(signature: ModelSignature, maxBatchSize: number): string | undefined {
  const fp16 = [...signature.inputs, ...signature.outputs].find((t) => t.datatype === 'FP16');
  if (fp16 !== undefined) return `tensor "${fp16.name}" is FP16`;
  for (const input of signature.inputs) {
    if (input.shape.slice(1).some((d) => d < 0))
      return `input "${input.name}" has a variable dimension past the first`;
    if (maxBatchSize === 0 && (input.shape[0] ?? 0) < 0)
      return `input "${input.name}" has a variable first dimension and the model does not batch`;
  }
  return undefined;
}

/** How a model that may run inline ran on zeros: the fastest of a few runs of each size. */
export interface Measured {
  /** One item (variable first dimensions 1). */
  readonly itemMs: number;
  /** A full batch (`maxBatchSize` rows), for a batching model. */
  readonly batchMs?: number;
}

/**
 * The placement of a model that may run inline, once measured; `measured` is undefined when the
 * runs could not be made (zeros are not a valid input, say).
 */
export function placementOf(requested: Placement, measured: Measured | undefined): 'inline' | 'worker' {
  if (requested === 'inline') return 'inline';
  if (requested === 'worker' || measured === undefined) return 'worker';
  if (measured.itemMs > INLINE_MAX_COMPUTE_MS) return 'worker';
  return (measured.batchMs ?? 0) <= INLINE_MAX_BATCH_MS ? 'inline' : 'worker';
}
