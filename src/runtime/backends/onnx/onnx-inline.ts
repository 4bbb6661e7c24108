/**
 * A model placed inline: its onnxruntime session lives on the event loop's thread, and a run is
 * a call, not a round trip to a worker (runtime/placement.ts). `loadInline` loads the session,
 * measures it on zeros when the placement is `auto`, and keeps it only when it is that fast.
 */
import {
  allocateArray,
  BerthError,
  elementCount,
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

/** Runs per measured burst, and bursts; the fastest burst counts. */
const BURST_RUNS = 16;
const BURSTS = 3;

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
    const count = elementCount(shape);
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

/**
 * The time of one run on zeros, `rows` along a variable first dimension; undefined when zeros
 * cannot be run. The transports load on this thread while models load, so a run awaited alone
 * would also time whatever the event loop did before its turn. The runs of a burst are started
 * together instead: onnxruntime-node queues each for the same turn of the loop, where they run
 * back to back, after a first callback that marks the start. The fastest of a few bursts counts.
 */
async function computeMs(model: LoadedModel, rows: number, bursts: number): Promise<number | undefined> {
  const inputs = zeros(model.signature, rows);
  if (inputs === undefined) return undefined;
  const outputs = model.signature.outputs.map((o) => o.name);
  let best = Infinity;
  try {
    await model.run(inputs, outputs);
    for (let burst = 0; burst < bursts; burst++) {
      const started = new Promise<number>((resolve) => setImmediate(() => resolve(performance.now())));
      const runs = Array.from({ length: BURST_RUNS }, () => model.run(inputs, outputs));
      const start = await started;
      await Promise.all(runs);
      best = Math.min(best, (performance.now() - start) / BURST_RUNS);
      // Far over the limit: this model is not one to run inline.
      if (best > 4 * INLINE_MAX_COMPUTE_MS) break;
    }
  } catch {
    return undefined;
  }
  return best;
}

/** One item, then (a batching model) a full batch; undefined when zeros cannot be run. */
async function measure(model: LoadedModel, maxBatchSize: number): Promise<Measured | undefined> {
  const itemMs = await computeMs(model, 1, BURSTS);
  if (itemMs === undefined || itemMs > INLINE_MAX_COMPUTE_MS || maxBatchSize <= 1) {
    return itemMs === undefined ? undefined : { itemMs };
  }
  const batchMs = await computeMs(model, maxBatchSize, 2);
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
