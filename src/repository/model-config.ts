/**
 * A model's `config.yaml` in a repository folder (docs/repository.md). Validated strictly: an
 * unknown or misspelt key is an error naming it, never silently ignored.
 */
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { BerthError, DATATYPES } from '../ground/index.js';

const tensorOverride = z
  .object({
    name: z.string().min(1),
    datatype: z.enum(DATATYPES).optional(),
    /** Full shape without the batch dimension when maxBatchSize > 0 (as in Triton); -1 is variable. */
    dims: z.array(z.number().int().min(-1)).optional(),
    /**
     * The shape the model itself has (without the batch dimension), when clients see `dims`
     * instead: Triton's reshape. Same element count; the tensor is only relabelled.
     */
    reshape: z.array(z.number().int().min(-1)).optional(),
  })
  .strict();

/** The dynamic batcher and request queue (src/scheduler); Triton's dynamic_batching. */
const batching = z
  .object({
    /** Longest wait of the oldest queued request for others to join its batch, in ms (fractional). */
    maxQueueDelayMs: z.number().min(0).max(60_000).default(0),
    preferredBatchSizes: z.array(z.number().int().min(1)).default([]),
    maxQueueSize: z.number().int().min(1).max(1_000_000).default(1024),
    /** Queue timeout in ms; 0 for none. A request may shorten it with parameter `timeout` (µs). */
    timeoutMs: z.number().min(0).max(3_600_000).default(0),
    priorityLevels: z.number().int().min(0).max(100).default(0),
    defaultPriority: z.number().int().min(1).max(100).default(1),
  })
  .strict();

/** One input of a warm-up sample: its data, and its dims when the declared ones vary. */
const warmupInput = z
  .object({
    /** Shape without the batch dimension (when maxBatchSize > 0); default: declared, -1 as 1. */
    dims: z.array(z.number().int().min(0)).optional(),
    zeroData: z.literal(true).optional(),
    randomData: z.literal(true).optional(),
    /** Raw little-endian data (binary tensor layout) in the model's warmup/ folder. */
    dataFile: z
      .string()
      .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, 'must be a plain file name inside the warmup/ folder')
      .optional(),
  })
  .strict()
  .refine(
    (input) => [input.zeroData, input.randomData, input.dataFile].filter((x) => x !== undefined).length <= 1,
    'set at most one of zeroData, randomData, dataFile',
  );

/** A request run on every instance before a version takes traffic (Triton's model_warmup). */
const warmupSample = z
  .object({
    name: z.string().max(128).optional(),
    /** Rows of the sample when maxBatchSize > 0. */
    batchSize: z
      .number()
      .int()
      .min(1)
      .max(1 << 20)
      .default(1),
    count: z.number().int().min(1).max(1000).default(1),
    /** Inputs not listed get zeros of their declared shape. */
    inputs: z.record(z.string(), warmupInput).default({}),
  })
  .strict();

const versionPolicy = z.discriminatedUnion('policy', [
  z.object({ policy: z.literal('latest'), count: z.number().int().min(1).default(1) }).strict(),
  z.object({ policy: z.literal('all') }).strict(),
  z.object({ policy: z.literal('specific'), versions: z.array(z.number().int().min(1)).min(1) }).strict(),
]);

export const modelConfigSchema = z
  .object({
    name: z.string().optional(),
    platform: z.literal('onnxruntime_onnx').default('onnxruntime_onnx'),
    maxBatchSize: z
      .number()
      .int()
      .min(0)
      .max(1 << 20)
      .default(0),
    versions: versionPolicy.default({ policy: 'latest', count: 1 }),
    batching: batching.default(batching.parse({})),
    /**
     * Model instances (one runtime session each) running batches concurrently. Absent: chosen
     * for the machine (runtime/tuning.ts): one per core for a CPU model, one for a GPU model.
     */
    instances: z.number().int().min(1).max(64).optional(),
    inputs: z.array(tensorOverride).optional(),
    outputs: z.array(tensorOverride).optional(),
    threads: z
      .object({
        intraOp: z.number().int().min(0).max(1024).optional(),
        interOp: z.number().int().min(0).max(1024).optional(),
        /** Let idle runtime threads busy-wait (lower latency alone, less CPU for serving). */
        spinning: z.boolean().optional(),
      })
      .strict()
      .optional(),
    execution: z.enum(['cpu', 'cuda']).default('cpu'),
    /**
     * Where the model runs: in a worker thread of its own (`worker`), on the event loop's thread
     * (`inline`, for models that compute in less time than a thread hop takes), or `auto`: inline
     * when a measured run is that short (docs/adr/0005-where-a-model-runs.md).
     */
    placement: z.enum(['auto', 'worker', 'inline']).default('auto'),
    /**
     * Warm-up samples, run before a version is READY; a failing one fails the load. Absent: one
     * sample of zeros whose failure is only logged. `[]`: none.
     */
    warmup: z.array(warmupSample).max(64).optional(),
    defaultModelFilename: z
      .string()
      .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/, 'must be a plain file name')
      .default('model.onnx'),
  })
  .strict()
  .refine(
    (config) =>
      config.placement !== 'inline' || ((config.instances ?? 1) === 1 && config.execution === 'cpu'),
    {
      message:
        'placement: inline runs the model on the event loop thread: it needs instances: 1 and execution: cpu',
      path: ['placement'],
    },
  );

export type ModelConfig = z.output<typeof modelConfigSchema>;
export type VersionPolicy = ModelConfig['versions'];
export type TensorOverride = z.output<typeof tensorOverride>;
export type BatchingConfig = z.output<typeof batching>;
export type WarmupSample = z.output<typeof warmupSample>;

export const DEFAULT_MODEL_CONFIG: ModelConfig = modelConfigSchema.parse({});

/** zod's issues as `path: message; ...`, the form every berth config error takes. */
export function formatIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const path = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
      return `${path}: ${issue.message}`;
    })
    .join('; ');
}

/**
 * Parses and validates config.yaml text.
 *
 * @example
 * parseModelConfig('maxBatchSize: 8\nversions: { policy: all }\n', 'models/fraud/config.yaml');
 */
export function parseModelConfig(text: string, where: string): ModelConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text, { maxAliasCount: 100 }) ?? {};
  } catch (error) {
    throw new BerthError(
      'BERTH_ERR_REPOSITORY_INVALID_CONFIG',
      `${where}: not valid YAML: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  return toModelConfig(raw, where);
}

/** Validates config keys (from config.yaml, a mapped config.pbtxt, or an API override). */
export function toModelConfig(raw: unknown, where: string): ModelConfig {
  const result = modelConfigSchema.safeParse(raw);
  if (!result.success) {
    throw new BerthError('BERTH_ERR_REPOSITORY_INVALID_CONFIG', `${where}: ${formatIssues(result.error)}`);
  }
  const config = result.data;
  const tooBig = config.batching.preferredBatchSizes.filter((size) => size > config.maxBatchSize);
  if (tooBig.length > 0) {
    throw new BerthError(
      'BERTH_ERR_REPOSITORY_INVALID_CONFIG',
      `${where}: batching.preferredBatchSizes ${JSON.stringify(tooBig)} exceed maxBatchSize ${config.maxBatchSize}`,
    );
  }
  const { priorityLevels, defaultPriority } = config.batching;
  if (priorityLevels > 0 && defaultPriority > priorityLevels) {
    throw new BerthError(
      'BERTH_ERR_REPOSITORY_INVALID_CONFIG',
      `${where}: batching.defaultPriority ${defaultPriority} exceeds priorityLevels ${priorityLevels}`,
    );
  }
  return config;
}

/** The versions a policy selects from those present, highest first. */
export function selectVersions(available: readonly number[], policy: VersionPolicy): number[] {
  const sorted = [...available].sort((a, b) => b - a);
  switch (policy.policy) {
    case 'latest':
      return sorted.slice(0, policy.count);
    case 'all':
      return sorted;
    case 'specific':
      return sorted.filter((v) => policy.versions.includes(v));
  }
}
