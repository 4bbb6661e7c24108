/**
 * The signature a model serves with: the file's own, narrowed by config.yaml. With
 * `maxBatchSize > 0` dimension 0 is the batch (shown as -1) and config `dims` describe the rest,
 * as in Triton. An override may fix a variable dimension, never contradict the file.
 */
import { BerthError, formatShape, type ModelSignature, type TensorSpec } from '../protocol/index.js';
import type { ModelConfig, TensorOverride } from '../repository/index.js';

function configError(model: string, message: string): BerthError {
  return new BerthError('BERTH_ERR_REPOSITORY_INVALID_CONFIG', `model "${model}": ${message}`);
}

function applyTensor(
  model: string,
  what: string,
  spec: TensorSpec,
  override: TensorOverride | undefined,
  maxBatchSize: number,
): TensorSpec {
  let shape = [...spec.shape];
  if (maxBatchSize > 0) {
    if (shape.length === 0 || (shape[0] ?? 0) >= 0) {
      throw configError(
        model,
        `maxBatchSize is ${maxBatchSize} but ${what} "${spec.name}" has shape ${formatShape(spec.shape)} without a variable first (batch) dimension`,
      );
    }
  }
  if (override === undefined) return { ...spec, shape };
  if (override.datatype !== undefined && override.datatype !== spec.datatype) {
    throw configError(
      model,
      `${what} "${spec.name}": config datatype ${override.datatype} differs from the model's ${spec.datatype}`,
    );
  }
  if (override.dims !== undefined) {
    const native = maxBatchSize > 0 ? shape.slice(1) : shape;
    if (override.dims.length !== native.length) {
      throw configError(
        model,
        `${what} "${spec.name}": config dims ${formatShape(override.dims)} have rank ${override.dims.length}, the model's ${maxBatchSize > 0 ? 'non-batch ' : ''}shape ${formatShape(native)} has rank ${native.length}`,
      );
    }
    const merged = native.map((dim, i) => {
      const want = override.dims?.[i] ?? -1;
      if (dim >= 0 && want !== dim) {
        throw configError(
          model,
          `${what} "${spec.name}": config dims ${formatShape(override.dims ?? [])} contradict the model's shape ${formatShape(native)} at index ${i}`,
        );
      }
      return dim >= 0 ? dim : want;
    });
    shape = maxBatchSize > 0 ? [-1, ...merged] : merged;
  }
  return { ...spec, shape };
}

function applyList(
  model: string,
  what: string,
  specs: readonly TensorSpec[],
  overrides: readonly TensorOverride[] | undefined,
  maxBatchSize: number,
): TensorSpec[] {
  const byName = new Map((overrides ?? []).map((o) => [o.name, o]));
  for (const name of byName.keys()) {
    if (!specs.some((s) => s.name === name)) {
      throw configError(
        model,
        `config names ${what} "${name}", but the model's ${what}s are ${specs.map((s) => `"${s.name}"`).join(', ')}`,
      );
    }
  }
  return specs.map((spec) => applyTensor(model, what, spec, byName.get(spec.name), maxBatchSize));
}

/**
 * @example
 * const served = effectiveSignature('iris', loaded.signature, config);
 */
export function effectiveSignature(
  model: string,
  native: ModelSignature,
  config: ModelConfig,
): ModelSignature {
  return {
    inputs: applyList(model, 'input', native.inputs, config.inputs, config.maxBatchSize),
    outputs: applyList(model, 'output', native.outputs, config.outputs, config.maxBatchSize),
  };
}
