/**
 * `--data FILE.json`: the inputs of every request from a file, in either of two forms.
 *
 * - An Open Inference Protocol request body, as `curl -d` sends it:
 *   `{"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 4], "data": [...]}]}`.
 * - perf_analyzer's --input-data file: `{"data": [{"x": [...]}, ...]}`, each input's value a list
 *   (shaped as planned) or `{"content": [...], "shape": [...]}` or `{"b64": "..."}`; the first
 *   entry is used, since one request body is made for the whole run.
 */
import { readFileSync } from 'node:fs';
import {
  BerthError,
  decodeBinaryData,
  decodeJsonData,
  decodeRestInferRequest,
  DEFAULT_DECODE_LIMITS,
  elementCount,
  isBerthError,
  isObject,
} from '../protocol/index.js';
// Tensor types from the ground itself: protocol's index also names its service call types.
import type { InferInput, TensorSpec } from '../ground/index.js';

function invalidData(path: string, message: string, cause?: unknown): BerthError {
  return new BerthError('BERTH_ERR_BENCH_INVALID_DATA', `--data ${path}: ${message}`, { cause });
}

const namesOf = (specs: readonly TensorSpec[]): string => specs.map((s) => `"${s.name}"`).join(', ');

function perfAnalyzerInput(spec: TensorSpec, value: unknown, what: string): InferInput {
  let shape = spec.shape;
  let content = value;
  if (isObject(value)) {
    if (value.shape !== undefined) {
      if (
        !Array.isArray(value.shape) ||
        value.shape.some((d) => !Number.isSafeInteger(d) || (d as number) < 0)
      )
        throw new BerthError(
          'BERTH_ERR_PROTOCOL_INVALID_SHAPE',
          `${what}: "shape" must be a list of integers`,
        );
      shape = value.shape as number[];
    }
    if (typeof value.b64 === 'string') {
      const bytes = new Uint8Array(Buffer.from(value.b64, 'base64'));
      return { ...spec, shape, data: decodeBinaryData(spec.datatype, bytes, elementCount(shape), what) };
    }
    content = value.content;
  }
  return { ...spec, shape, data: decodeJsonData(spec.datatype, content, elementCount(shape), what) };
}

function decode(document: unknown, planned: readonly TensorSpec[], notes: string[]): InferInput[] {
  if (isObject(document) && Array.isArray(document.inputs)) {
    return [...decodeRestInferRequest(document, new Uint8Array(), DEFAULT_DECODE_LIMITS).request.inputs];
  }
  if (isObject(document) && Array.isArray(document.data)) {
    const [entry] = document.data as unknown[];
    if (!isObject(entry))
      throw new BerthError('BERTH_ERR_PROTOCOL_INVALID_DATA', '"data"[0] must be an object of inputs');
    if (document.data.length > 1)
      notes.push(`--data: the file has ${document.data.length} entries; every request sends the first`);
    return Object.entries(entry).map(([name, value]) => {
      const spec = planned.find((s) => s.name === name);
      if (spec === undefined)
        throw new BerthError(
          'BERTH_ERR_BENCH_INVALID_DATA',
          `the model has no input "${name}"; its inputs are ${namesOf(planned)}`,
        );
      return perfAnalyzerInput(spec, value, `input "${name}"`);
    });
  }
  throw new BerthError(
    'BERTH_ERR_PROTOCOL_INVALID_REQUEST',
    'expected an inference request ({"inputs": [...]}) or perf_analyzer input data ({"data": [{...}]})',
  );
}

/**
 * The inputs a data file gives, checked against the model's: every input once, no other.
 *
 * @example
 * readDataFile('iris.json', plan.inputs).inputs; // [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: Float32Array }]
 */
export function readDataFile(
  path: string,
  planned: readonly TensorSpec[],
): { inputs: InferInput[]; notes: string[] } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw invalidData(
      path,
      `cannot read the file (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
      error,
    );
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw invalidData(path, `not JSON: ${(error as Error).message}`, error);
  }
  const notes: string[] = [];
  let inputs: InferInput[];
  try {
    inputs = decode(document, planned, notes);
  } catch (error) {
    if (isBerthError(error)) throw invalidData(path, error.message, error);
    throw error;
  }
  const expected = namesOf(planned);
  for (const input of inputs) {
    const spec = planned.find((s) => s.name === input.name);
    if (spec === undefined)
      throw invalidData(path, `the model has no input "${input.name}"; its inputs are ${expected}`);
    if (spec.datatype !== input.datatype)
      notes.push(
        `--data: input "${input.name}" is ${input.datatype} in the file, ${spec.datatype} in the model; sent as in the file`,
      );
  }
  const missing = planned.filter((s) => !inputs.some((i) => i.name === s.name)).map((s) => `"${s.name}"`);
  if (missing.length > 0)
    throw invalidData(path, `no data for input ${missing.join(', ')}; the model's inputs are ${expected}`);
  return { inputs, notes };
}
