/**
 * Warm-up: requests run on every instance of a version before it takes traffic, so that the
 * runtime's first-run costs (memory arenas, kernel selection) are not paid by a client. The
 * samples come from config `warmup` (Triton's model_warmup); without one, a single sample of
 * zeros in the declared shapes is run, and only logged if it fails.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  allocateArray,
  BerthError,
  decodeBinaryData,
  elementCount,
  toBerthError,
  type ModelSignature,
  type Tensor,
  type TensorData,
  type TensorSpec,
} from '../protocol/index.js';
import type { Logger } from '../observability/index.js';
import type { ModelConfig, WarmupSample } from '../repository/index.js';
import type { LoadedModel } from './backend.js';

export interface WarmUpOptions {
  readonly instances: readonly LoadedModel[];
  readonly signature: ModelSignature;
  readonly config: ModelConfig;
  /** The model folder, where `warmup/<dataFile>` files live. */
  readonly modelDir: string | undefined;
  readonly logger: Logger;
}

const DEFAULT_SAMPLE: WarmupSample = { name: 'zeros', batchSize: 1, count: 1, inputs: {} };
/** Warm-up data files are read whole; this bounds what a config can make berth read. */
const MAX_DATA_FILE_BYTES = 256 * 1024 * 1024;

function warmupError(sample: WarmupSample, message: string, cause?: unknown): BerthError {
  return new BerthError(
    'BERTH_ERR_RUNTIME_LOAD_FAILED',
    `warm-up sample "${sample.name ?? 'unnamed'}": ${message}`,
    cause === undefined ? undefined : { cause },
  );
}

function fill(spec: TensorSpec, count: number, random: boolean): TensorData {
  if (spec.datatype === 'BYTES') return Array.from({ length: count }, () => new Uint8Array(0));
  const data = allocateArray(spec.datatype, count);
  if (!random) return data;
  for (let i = 0; i < count; i++) {
    if (data instanceof Float32Array || data instanceof Float64Array) data[i] = Math.random();
    else if (data instanceof BigInt64Array || data instanceof BigUint64Array) data[i] = BigInt(i % 2);
    else data[i] = spec.datatype === 'FP16' ? 0x3c00 : i % 2;
  }
  return data;
}

async function sampleInputs(
  sample: WarmupSample,
  { signature, config, modelDir }: WarmUpOptions,
): Promise<Tensor[]> {
  for (const name of Object.keys(sample.inputs)) {
    if (!signature.inputs.some((i) => i.name === name)) {
      throw warmupError(sample, `input "${name}" is not an input of the model`);
    }
  }
  const batching = config.maxBatchSize > 0;
  return Promise.all(
    signature.inputs.map(async (spec) => {
      const input = sample.inputs[spec.name] ?? {};
      const declared = batching ? spec.shape.slice(1) : spec.shape;
      const dims = input.dims ?? declared.map((d) => (d < 0 ? 1 : d));
      if (
        dims.length !== declared.length ||
        dims.some((d, i) => (declared[i] ?? -1) >= 0 && d !== declared[i])
      ) {
        throw warmupError(
          sample,
          `input "${spec.name}": dims [${dims.join(',')}] do not fit [${declared.join(',')}]`,
        );
      }
      const shape = batching ? [sample.batchSize, ...dims] : dims;
      const count = elementCount(shape);
      let data: TensorData;
      if (input.dataFile !== undefined) {
        if (modelDir === undefined)
          throw warmupError(sample, 'dataFile needs a model in a repository folder');
        const path = join(modelDir, 'warmup', input.dataFile);
        let bytes: Buffer;
        try {
          bytes = await readFile(path);
        } catch (error) {
          throw warmupError(
            sample,
            `cannot read warmup/${input.dataFile} (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
          );
        }
        if (bytes.byteLength > MAX_DATA_FILE_BYTES)
          throw warmupError(sample, `warmup/${input.dataFile} is too large`);
        data = decodeBinaryData(spec.datatype, bytes, count, `warmup/${input.dataFile}`);
      } else {
        data = fill(spec, count, input.randomData === true);
      }
      return { name: spec.name, datatype: spec.datatype, shape, data };
    }),
  );
}

/**
 * Runs the warm-up samples on every instance.
 *
 * @throws BerthError (RUNTIME_LOAD_FAILED) when a configured sample cannot be built or run.
 */
export async function warmUp(options: WarmUpOptions): Promise<void> {
  const configured = options.config.warmup;
  const samples = configured ?? [DEFAULT_SAMPLE];
  if (samples.length === 0) return;
  const outputs = options.signature.outputs.map((o) => o.name);
  const started = performance.now();
  try {
    for (const sample of samples) {
      const inputs = await sampleInputs(sample, options);
      for (const instance of options.instances) {
        for (let i = 0; i < sample.count; i++) {
          try {
            await instance.run(inputs, outputs);
          } catch (error) {
            throw warmupError(sample, toBerthError(error).message, error);
          }
        }
      }
    }
  } catch (error) {
    if (configured !== undefined) throw error;
    options.logger.warn({ err: error }, 'default warm-up (one sample of zeros) failed; serving without it');
    return;
  }
  options.logger.debug({ ms: Math.round(performance.now() - started), samples: samples.length }, 'warmed up');
}
