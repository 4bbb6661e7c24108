/**
 * A model placed inline: its onnxruntime session lives on the event loop's thread, and a run is
 * a call, not a round trip to a worker (runtime/placement.ts). `loadInline` loads the session,
 * measures it on zeros when the placement is `auto`, and keeps it only when it is that fast.
 */
import {
  allocateArray,
  BerthError,
  type ModelSignature,
  type Tensor,
} from '../../../ground/index.js';
import type { ModelArtifact } from '../../../repository/index.js';
import type { LoadedModel, LoadOptions, RunResult } from '../../backend.js';
import { artifactBytes } from '../../artifact-bytes.js';
import {
  INLINE_MAX_COMPUTE_MS,
  inlineObstacle,
  mayRunInline,
  placementOf,
  type Measured,
} from '../../placement.js';
import { disableOnnxTelemetry, type OnnxLogLevel } from './onnx-logging.js';
import { OnnxSession, setOnnxEnvLogLevel } from './onnx-session.js';
import { checkStringElements } from './string-elements.js';

/**
 * Runs measured. The fastest counts: the server loads its transports while models load, on the
 * same thread, so a run can wait behind that work; the fastest run is the one that did not.
 */
const MEASURED_RUNS = 15;

class InlineOnnxModel implements LoadedModel {
  readonly placement = 'inline';
  readonly signature: ModelSignature;
  private running = 0;
  private idle: (() => void) | undefined;
  private closed = false;

  constructor(
    readonly platform: string,
    private readonly session: OnnxSession,
  ) {
    this.signature = session.signature;
  }

  async run(inputs: readonly Tensor[], outputs: readonly string[]): Promise<RunResult> {
    if (this.closed) throw new BerthError('BERTH_ERR_MODEL_NOT_READY', 'model is unloading');
    for (const input of inputs) if (input.datatype === 'BYTES') checkStringElements(input);
    this.running++;
    const started = performance.now();
    try {
      const produced = await this.session.run(inputs, outputs);
      return { outputs: produced, computeSeconds: (performance.now() - started) / 1000 };
    } finally {
      this.running--;
      if (this.running === 0) this.idle?.();
    }
  }

  /** Waits for runs already started (a run cannot be interrupted), then frees the session. */
  async dispose(): Promise<void> {
    this.closed = true;
    if (this.running > 0) await new Promise<void>((resolve) => (this.idle = resolve));
    await this.session.release();
  }
}

/** Zeros for each input, `rows` along a variable first dimension (the others are fixed). */
function zeros(signature: ModelSignature, rows: number): Tensor[] | undefined {
  const out: Tensor[] = [];
  for (const spec of signature.inputs) {
    if (spec.datatype === 'BYTES') return undefined;
    const shape = spec.shape.map((d) => (d < 0 ? rows : d));
    const count = shape.reduce((a, b) => a * b, 1);
    if (count > 1 << 24) return undefined;
    out.push({
      name: spec.name,
      datatype: spec.datatype,
      shape,
      data: allocateArray(spec.datatype, count),
    });
  }
  return out;
}

/** The fastest of a few runs on zeros, after one unmeasured; undefined when they fail. */
async function fastestComputeMs(model: LoadedModel, rows: number, runs: number): Promise<number | undefined> {
  const inputs = zeros(model.signature, rows);
  if (inputs === undefined) return undefined;
  const outputs = model.signature.outputs.map((o) => o.name);
  const times: number[] = [];
  try {
    for (let i = 0; i <= runs; i++) {
      const { computeSeconds } = await model.run(inputs, outputs);
      if (i > 0) times.push(computeSeconds * 1000);
      // Three runs far over the limit: this model is not one to run inline.
      if (times.length >= 3 && Math.min(...times) > 4 * INLINE_MAX_COMPUTE_MS) break;
    }
  } catch {
    return undefined;
  }
  return Math.min(...times);
}

/** One item, then (a batching model) a full batch; undefined when zeros cannot be run. */
async function measure(model: LoadedModel, maxBatchSize: number): Promise<Measured | undefined> {
  const itemMs = await fastestComputeMs(model, 1, MEASURED_RUNS);
  if (itemMs === undefined || itemMs > INLINE_MAX_COMPUTE_MS || maxBatchSize <= 1) {
    return itemMs === undefined ? undefined : { itemMs };
  }
  const batchMs = await fastestComputeMs(model, maxBatchSize, 3);
  return batchMs === undefined ? undefined : { itemMs, batchMs };
}

export interface InlineLoad {
  /** The inline model, or undefined: load it in a worker. */
  readonly model: LoadedModel | undefined;
  /** Why, for the log. */
  readonly reason: string;
}

/**
 * @example
 * const { model } = await loadInline(ONNX_PLATFORM, artifact, options, 'fatal');
 * return model ?? loadInWorker(artifact, options);
 */
export async function loadInline(
  platform: string,
  artifact: ModelArtifact,
  options: LoadOptions,
  logLevel: OnnxLogLevel,
): Promise<InlineLoad> {
  const requested = options.placement ?? 'worker';
  if (!mayRunInline({ requested, execution: options.execution, modelBytes: artifactBytes(artifact) })) {
    return { model: undefined, reason: `placement ${requested}` };
  }
  // Before the first session of the main thread: onnxruntime reads both when it starts.
  disableOnnxTelemetry();
  setOnnxEnvLogLevel(logLevel);
  // One thread: a model that runs inline is too small to gain from a pool, and a pool's threads
  // would compete with the event loop for the cores.
  const session = await OnnxSession.create(
    artifact,
    { ...options, intraOpThreads: 1, interOpThreads: 1 },
    logLevel,
  );
  const model = new InlineOnnxModel(platform, session);
  const maxBatchSize = options.maxBatchSize ?? 0;
  const obstacle = inlineObstacle(session.signature, maxBatchSize);
  if (obstacle !== undefined) {
    await model.dispose();
    return { model: undefined, reason: obstacle };
  }
  const measured = requested === 'inline' ? undefined : await measure(model, maxBatchSize);
  const reason =
    measured === undefined
      ? `placement ${requested}`
      : `a run takes ${measured.itemMs.toFixed(3)} ms` +
        (measured.batchMs === undefined
          ? ''
          : `, ${measured.batchMs.toFixed(3)} ms for ${maxBatchSize} rows`);
  if (placementOf(requested, measured) === 'inline') return { model, reason };
  await model.dispose();
  return { model: undefined, reason: measured === undefined ? 'zeros are not a valid input' : reason };
}
