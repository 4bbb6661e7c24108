/**
 * The signature a model serves with: the file's own, narrowed by config.yaml. With
 * `maxBatchSize > 0` dimension 0 is the batch (shown as -1) and config `dims` describe the rest,
 * as in Triton. An override may fix a variable dimension, never contradict the file.
 */
import { BerthError, formatShape, type ModelSignature, type TensorSpec } from '../ground/index.js';
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
  if (override.reshape !== undefined) {
    // The model's shape is `reshape`; clients see `dims` (same elements, relabelled per request).
    const native = maxBatchSize > 0 ? shape.slice(1) : shape;
    if (override.dims === undefined) {
      throw configError(model, `${what} "${spec.name}": reshape needs dims (the shape clients send)`);
    }
    checkFits(model, what, spec.name, override.reshape, native, 'reshape');
    const known = (dims: readonly number[]) =>
      dims.every((d) => d >= 0) ? dims.reduce((a, b) => a * b, 1) : undefined;
    const inner = known(override.reshape);
    const outer = known(override.dims);
    if (inner !== undefined && outer !== undefined && inner !== outer) {
      throw configError(
        model,
        `${what} "${spec.name}": dims ${formatShape(override.dims)} hold ${outer} elements, reshape ${formatShape(override.reshape)} holds ${inner}`,
      );
    }
    return { ...spec, shape: maxBatchSize > 0 ? [-1, ...override.dims] : [...override.dims] };
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

/** Refuses config dims that contradict a fixed dimension of the model. */
function checkFits(
  model: string,
  what: string,
  name: string,
  dims: readonly number[],
  native: readonly number[],
  key: string,
): void {
  if (dims.length !== native.length) {
    throw configError(
      model,
      `${what} "${name}": config ${key} ${formatShape(dims)} has rank ${dims.length}, the model's shape ${formatShape(native)} has rank ${native.length}`,
    );
  }
  dims.forEach((want, i) => {
    const dim = native[i] ?? -1;
    if (dim >= 0 && want >= 0 && want !== dim) {
      throw configError(
        model,
        `${what} "${name}": config ${key} ${formatShape(dims)} contradict the model's shape ${formatShape(native)} at index ${i}`,
      );
    }
  });
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
 * Tensors whose shape is relabelled between what clients see and what the model takes (config
 * `reshape`): name to [client dims, model dims], both without the batch dimension.
 */
export interface ReshapePlan {
  readonly inputs: ReadonlyMap<string, readonly [readonly number[], readonly number[]]>;
  readonly outputs: ReadonlyMap<string, readonly [readonly number[], readonly number[]]>;
}

export function reshapePlanOf(config: ModelConfig): ReshapePlan | undefined {
  const plan = (list: readonly TensorOverride[] | undefined) =>
    new Map(
      (list ?? []).flatMap((o) =>
        o.reshape !== undefined && o.dims !== undefined
          ? [[o.name, [o.dims, o.reshape] as const] as const]
          : [],
      ),
    );
  const inputs = plan(config.inputs);
  const outputs = plan(config.outputs);
  return inputs.size === 0 && outputs.size === 0 ? undefined : { inputs, outputs };
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

/**
 * The shape of a tensor relabelled to `target` (without the batch dimension, -1 filled in from the
 * element count), keeping dimension 0 when the model batches.
 *
 * @throws BerthError (INVALID_ARGUMENT) when the elements do not fit the target shape.
 */
export function relabelShape(
  name: string,
  shape: readonly number[],
  target: readonly number[],
  batched: boolean,
): number[] {
  const head = batched ? shape.slice(0, 1) : [];
  const rest = (batched ? shape.slice(1) : shape).reduce((a, b) => a * b, 1);
  const known = target.filter((d) => d >= 0).reduce((a, b) => a * b, 1);
  const free = target.filter((d) => d < 0).length;
  const fill = free === 0 ? known : known === 0 ? 0 : rest / known;
  if ((free === 0 && known !== rest) || free > 1 || !Number.isInteger(fill)) {
    throw new BerthError(
      'BERTH_ERR_INFER_SHAPE_MISMATCH',
      `tensor "${name}": ${rest} elements per item do not fit the reshape ${formatShape(target)}`,
    );
  }
  return [...head, ...target.map((d) => (d < 0 ? fill : d))];
}
