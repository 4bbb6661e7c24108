/**
 * Checks a decoded inference request against a model's signature before it reaches a runtime,
 * so every mismatch is a 400 naming the tensor, what was expected and what was sent.
 */
import {
  BerthError,
  formatShape,
  type InferRequest,
  type ModelSignature,
  type TensorSpec,
} from '../ground/index.js';

export interface ValidateOptions {
  /** Triton semantics: > 0 means dimension 0 of every input is the batch, at most this big. */
  readonly maxBatchSize: number;
}

function checkShape(spec: TensorSpec, shape: readonly number[], options: ValidateOptions): void {
  const fits =
    shape.length === spec.shape.length && spec.shape.every((dim, i) => dim < 0 || dim === shape[i]);
  if (!fits) {
    throw new BerthError(
      'BERTH_ERR_INFER_SHAPE_MISMATCH',
      `input "${spec.name}": expected shape ${formatShape(spec.shape)}, got ${formatShape(shape)}`,
    );
  }
  const batch = shape[0] ?? 0;
  if (options.maxBatchSize > 0 && batch > options.maxBatchSize) {
    throw new BerthError(
      'BERTH_ERR_INFER_SHAPE_MISMATCH',
      `input "${spec.name}": batch size ${batch} exceeds the model's max batch size ${options.maxBatchSize}`,
    );
  }
}

const INPUTS_BY_NAME = new WeakMap<ModelSignature, ReadonlyMap<string, TensorSpec>>();

/** A signature's inputs by name, made once per signature (a model's is fixed while it serves). */
function inputsByName(signature: ModelSignature): ReadonlyMap<string, TensorSpec> {
  let found = INPUTS_BY_NAME.get(signature);
  if (found === undefined) {
    found = new Map(signature.inputs.map((spec) => [spec.name, spec]));
    INPUTS_BY_NAME.set(signature, found);
  }
  return found;
}

/**
 * Throws a BerthError when the request does not fit the signature.
 *
 * @example
 * validateInferRequest(request, model.signature, { maxBatchSize: 0 });
 */
export function validateInferRequest(
  request: InferRequest,
  signature: ModelSignature,
  options: ValidateOptions,
): void {
  const expected = inputsByName(signature);
  // One input (the usual request) cannot repeat itself: no set to build for it.
  const seen = request.inputs.length > 1 ? new Set<string>() : undefined;
  let batch: number | undefined;
  for (const input of request.inputs) {
    const spec = expected.get(input.name);
    if (spec === undefined) {
      throw new BerthError(
        'BERTH_ERR_INFER_UNKNOWN_INPUT',
        `unexpected input "${input.name}": the model's inputs are ${[...expected.keys()].map((n) => `"${n}"`).join(', ')}`,
      );
    }
    if (seen?.has(input.name) === true) {
      throw new BerthError('BERTH_ERR_INFER_UNKNOWN_INPUT', `input "${input.name}" is given more than once`);
    }
    seen?.add(input.name);
    if (input.datatype !== spec.datatype) {
      throw new BerthError(
        'BERTH_ERR_INFER_DATATYPE_MISMATCH',
        `input "${input.name}": expected datatype ${spec.datatype}, got ${input.datatype}`,
      );
    }
    checkShape(spec, input.shape, options);
    if (options.maxBatchSize > 0) {
      const b = input.shape[0] ?? 0;
      if (batch !== undefined && b !== batch) {
        throw new BerthError(
          'BERTH_ERR_INFER_SHAPE_MISMATCH',
          `input "${input.name}": batch size ${b} differs from the other inputs' batch size ${batch}`,
        );
      }
      batch = b;
    }
  }
  for (const name of expected.keys()) {
    if (!(seen?.has(name) ?? request.inputs[0]?.name === name)) {
      throw new BerthError('BERTH_ERR_INFER_MISSING_INPUT', `missing input "${name}" required by the model`);
    }
  }
  if (request.outputs !== undefined) {
    const outputs = new Set(signature.outputs.map((spec) => spec.name));
    const requested = new Set<string>();
    for (const output of request.outputs) {
      if (!outputs.has(output.name)) {
        throw new BerthError(
          'BERTH_ERR_INFER_UNKNOWN_OUTPUT',
          `unknown output "${output.name}": the model's outputs are ${[...outputs].map((n) => `"${n}"`).join(', ')}`,
        );
      }
      if (requested.has(output.name)) {
        throw new BerthError(
          'BERTH_ERR_INFER_UNKNOWN_OUTPUT',
          `output "${output.name}" is requested more than once`,
        );
      }
      requested.add(output.name);
    }
  }
}
