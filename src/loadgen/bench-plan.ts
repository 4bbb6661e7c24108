/**
 * From a model's metadata to the tensors every request sends: each input's datatype and a
 * concrete shape. Variable dimensions (-1) take --shape, else --batch-size for a leading one, else
 * 1, and the plan says so in a note. A --shape that does not fit the declared shape is sent as
 * given (the server's answer to it is what gets measured), with a note.
 */
import {
  BerthError,
  formatShape,
  readDatatype,
  type ModelMetadata,
  type TensorSpec,
} from '../ground/index.js';

export interface BenchPlan {
  /** The inputs with the shapes to send. */
  readonly inputs: readonly TensorSpec[];
  /** The model's inputs and outputs as its metadata declares them. */
  readonly declared: { readonly inputs: readonly TensorSpec[]; readonly outputs: readonly TensorSpec[] };
  /** What the plan chose for the user, to print before the run. */
  readonly notes: readonly string[];
}

export interface PlanOptions {
  /** --shape: input name to shape. */
  readonly shapes: ReadonlyMap<string, readonly number[]>;
  /** --batch-size: the leading dimension when the model declares it variable. */
  readonly batchSize?: number;
}

function invalidMetadata(model: string, message: string): BerthError {
  return new BerthError('BERTH_ERR_BENCH_INVALID_METADATA', `model "${model}" metadata: ${message}`);
}

function readSpecs(model: string, value: unknown, what: string): TensorSpec[] {
  if (!Array.isArray(value)) throw invalidMetadata(model, `"${what}" must be an array`);
  return value.map((entry: unknown, i) => {
    const spec = (typeof entry === 'object' && entry !== null ? entry : {}) as Record<string, unknown>;
    const label = `${what}[${i}]`;
    if (typeof spec.name !== 'string' || spec.name === '')
      throw invalidMetadata(model, `${label}.name must be a non-empty string`);
    let datatype;
    try {
      datatype = readDatatype(spec.datatype, `${label} "${spec.name}"`);
    } catch (error) {
      throw invalidMetadata(model, (error as Error).message);
    }
    const shape = spec.shape;
    if (
      !Array.isArray(shape) ||
      shape.some((d) => typeof d !== 'number' || !Number.isSafeInteger(d) || d < -1)
    )
      throw invalidMetadata(
        model,
        `${label} "${spec.name}": shape must be a list of integers (-1 for variable)`,
      );
    return { name: spec.name, datatype, shape: shape as number[] };
  });
}

/**
 * The model's inputs and outputs from its metadata as a server sent it, checked: a server that
 * is not berth may send anything.
 */
export function readSignature(
  model: string,
  metadata: ModelMetadata,
): { inputs: TensorSpec[]; outputs: TensorSpec[] } {
  const inputs = readSpecs(model, metadata.inputs, 'inputs');
  const outputs = readSpecs(model, metadata.outputs, 'outputs');
  if (inputs.length === 0) throw invalidMetadata(model, 'it declares no inputs; nothing to send');
  return { inputs, outputs };
}

function fits(shape: readonly number[], declared: readonly number[]): boolean {
  return shape.length === declared.length && shape.every((d, i) => declared[i] === -1 || declared[i] === d);
}

/**
 * The shapes to send.
 *
 * @example
 * planInputs('iris', metadata, { shapes: new Map() }).inputs; // [{ name: 'features', datatype: 'FP32', shape: [1, 4] }]
 */
export function planInputs(model: string, metadata: ModelMetadata, options: PlanOptions): BenchPlan {
  const declared = readSignature(model, metadata);
  const names = declared.inputs.map((i) => `"${i.name}"`).join(', ');
  for (const name of options.shapes.keys()) {
    if (!declared.inputs.some((i) => i.name === name))
      throw new BerthError(
        'BERTH_ERR_CLI_INVALID_OPTION',
        `--shape: model "${model}" has no input "${name}"; its inputs are ${names}`,
      );
  }
  const notes: string[] = [];
  const inputs = declared.inputs.map((input): TensorSpec => {
    const given = options.shapes.get(input.name);
    if (given !== undefined) {
      if (!fits(given, input.shape))
        notes.push(
          `input "${input.name}": --shape ${formatShape(given)} does not fit the model's shape ${formatShape(input.shape)}; sent as given`,
        );
      return { ...input, shape: [...given] };
    }
    const batch = options.batchSize;
    const shape = input.shape.map((d, i) => (d !== -1 ? d : i === 0 && batch !== undefined ? batch : 1));
    const chosen = input.shape.some((d, i) => d === -1 && !(i === 0 && batch !== undefined));
    if (chosen)
      notes.push(
        `input "${input.name}": the model's shape ${formatShape(input.shape)} has variable dimensions; sending ${formatShape(shape)} (--shape ${input.name}:${shape.join(',')} to choose)`,
      );
    return { ...input, shape };
  });
  if (options.batchSize !== undefined && !declared.inputs.some((i) => i.shape[0] === -1))
    notes.push(
      `--batch-size ${options.batchSize}: no input of "${model}" has a variable first dimension; ignored`,
    );
  return { inputs, declared, notes };
}

/**
 * Inferences one request carries: its batch, the leading dimension of the first input when the
 * model declares that dimension variable (a batching model, as Triton's metadata shows one), else 1.
 */
export function inferencesPerRequest(
  declared: readonly TensorSpec[],
  sent: readonly { readonly name: string; readonly shape: readonly number[] }[],
): number {
  const first = declared[0];
  if (first?.shape[0] !== -1) return 1;
  return sent.find((s) => s.name === first.name)?.shape[0] ?? 1;
}
