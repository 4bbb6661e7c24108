/**
 * Prepares the bench models under bench/models/ (git-ignored, made again when missing): the tiny
 * MLP from TypeScript, mobilenet_v2 and resnet18 exported with random weights by
 * python/export_models.py; a one-model berth repository per model and berth variant (batching, no
 * batching, tuned); and the request bodies every target is sent.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { BENCH_DIR, PYTHON } from './paths.js';
import { MLP_INPUT, buildTinyMlp, seededFloats } from './tiny-mlp.js';

export type ModelName = 'mlp' | 'mobilenet_v2' | 'resnet18';
export type Format = 'json' | 'binary';
/** berth's model configs: batching (the default target), no batching, and tuned (`--tuned-config`). */
export type BerthVariant = 'batching' | 'no-batching' | 'tuned';

/** A config.yaml as an object (written as JSON, which YAML reads). */
export type ConfigObject = { readonly [key: string]: unknown };

export interface RequestBody {
  readonly path: string;
  readonly contentType: string;
  /** Inference-Header-Content-Length for binary bodies. */
  readonly headerLength?: number;
}

export interface BenchModel {
  readonly name: ModelName;
  /** The model's folder: 1/model.onnx, and torch_state.pt for the torchvision models. */
  readonly dir: string;
  readonly onnxPath: string;
  /** One request's input shape without the batch dimension. */
  readonly itemShape: readonly number[];
  readonly maxBatchSize: number;
  readonly bodies: Readonly<Record<Format, RequestBody>>;
  /** A one-model berth repository per berth variant. */
  readonly repos: Readonly<Record<BerthVariant, string>>;
}

export const MODEL_NAMES: readonly ModelName[] = ['mlp', 'mobilenet_v2', 'resnet18'];

const MODELS_DIR = join(BENCH_DIR, 'models');

const SPECS: Record<ModelName, { itemShape: number[]; maxBatchSize: number }> = {
  mlp: { itemShape: [MLP_INPUT], maxBatchSize: 64 },
  mobilenet_v2: { itemShape: [3, 224, 224], maxBatchSize: 32 },
  resnet18: { itemShape: [3, 224, 224], maxBatchSize: 32 },
};

function exportTorchvision(name: ModelName): void {
  console.error(`bench: exporting ${name} with random weights (python3-torch, one time)`);
  execFileSync(PYTHON, [join(BENCH_DIR, 'python', 'export_models.py'), MODELS_DIR, name], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

function writeBodies(name: ModelName, itemShape: readonly number[]): Record<Format, RequestBody> {
  const dir = join(MODELS_DIR, 'bodies');
  mkdirSync(dir, { recursive: true });
  const shape = [1, ...itemShape];
  const data = seededFloats(
    shape.reduce((a, b) => a * b, 1),
    7,
  );
  const json = JSON.stringify({
    inputs: [{ name: 'input', shape, datatype: 'FP32', data: Array.from(data) }],
  });
  const header = Buffer.from(
    JSON.stringify({
      inputs: [{ name: 'input', shape, datatype: 'FP32', parameters: { binary_data_size: data.byteLength } }],
      parameters: { binary_data_output: true },
    }),
  );
  const jsonPath = join(dir, `${name}.json`);
  const binaryPath = join(dir, `${name}.bin`);
  writeFileSync(jsonPath, json);
  writeFileSync(binaryPath, Buffer.concat([header, Buffer.from(data.buffer)]));
  return {
    json: { path: jsonPath, contentType: 'application/json' },
    binary: { path: binaryPath, contentType: 'application/octet-stream', headerLength: header.length },
  };
}

function isObject(value: unknown): value is ConfigObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `over` merged into `base`, objects key by key; anything else in `over` replaces. */
export function mergeConfig(base: ConfigObject, over: ConfigObject): ConfigObject {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = out[key];
    out[key] = isObject(current) && isObject(value) ? mergeConfig(current, value) : value;
  }
  return out;
}

const VARIANT_COMMENTS: Record<BerthVariant, string> = {
  batching: 'Dynamic batching: whatever queued while the instance was busy runs as one batch.',
  'no-batching': 'No batch dimension: one request per execution.',
  tuned: "The batching config with the bench's --tuned-config merged in.",
};

function writeRepo(name: ModelName, variant: BerthVariant, onnxPath: string, config: ConfigObject): string {
  const repo = join(MODELS_DIR, 'repos', `${name}.${variant}`);
  rmSync(repo, { recursive: true, force: true });
  mkdirSync(join(repo, name, '1'), { recursive: true });
  linkSync(onnxPath, join(repo, name, '1', 'model.onnx'));
  writeFileSync(
    join(repo, name, 'config.yaml'),
    `# ${VARIANT_COMMENTS[variant]}\n${JSON.stringify(config, null, 2)}\n`,
  );
  return repo;
}

/** The default berth config of a bench model: dynamic batching on, no queue delay. */
export function batchingConfig(maxBatchSize: number): ConfigObject {
  return { maxBatchSize, batching: { maxQueueDelayMs: 0, maxQueueSize: 4096 } };
}

/**
 * Makes (or reuses) the named models and everything the targets need to serve them; `tuned` is
 * merged into the batching config for the tuned variant.
 */
export function prepareModels(names: readonly ModelName[], tuned: ConfigObject = {}): BenchModel[] {
  return names.map((name) => {
    const { itemShape, maxBatchSize } = SPECS[name];
    const dir = join(MODELS_DIR, name);
    const onnxPath = join(dir, '1', 'model.onnx');
    if (name === 'mlp') {
      mkdirSync(join(dir, '1'), { recursive: true });
      writeFileSync(onnxPath, buildTinyMlp());
    } else if (!existsSync(onnxPath) || !existsSync(join(dir, 'torch_state.pt'))) {
      exportTorchvision(name);
    }
    return {
      name,
      dir,
      onnxPath,
      itemShape,
      maxBatchSize,
      bodies: writeBodies(name, itemShape),
      repos: {
        batching: writeRepo(name, 'batching', onnxPath, batchingConfig(maxBatchSize)),
        'no-batching': writeRepo(name, 'no-batching', onnxPath, { maxBatchSize: 0 }),
        tuned: writeRepo(name, 'tuned', onnxPath, mergeConfig(batchingConfig(maxBatchSize), tuned)),
      },
    };
  });
}
