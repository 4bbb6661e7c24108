/**
 * Minimal ONNX model writer and reader.
 *
 * The writer exists so tests and the built-in example can produce small, real
 * ONNX models without downloads or Python; the reader gives `berth inspect` the
 * opsets, metadata and graph I/O of any model without loading it into a
 * runtime.
 *
 * @module
 */
import {
  ONNX_ATTRIBUTE_TYPE,
  ONNX_DATA_TYPE,
  onnxTypes,
  type AttributeInit,
  type DimensionInit,
  type ModelInit,
  type NodeInit,
  type TensorInit,
  type ValueInfoInit,
} from './onnx-schema.js';

/** ONNX tensor element types berth can carry (a subset of `TensorProto.DataType`). */
export type OnnxElemType =
  | 'FLOAT'
  | 'UINT8'
  | 'INT8'
  | 'UINT16'
  | 'INT16'
  | 'INT32'
  | 'INT64'
  | 'STRING'
  | 'BOOL'
  | 'FLOAT16'
  | 'DOUBLE'
  | 'UINT32'
  | 'UINT64';

/**
 * `TensorProto.DataType` code of each {@link OnnxElemType}.
 *
 * @example
 * ```ts
 * ONNX_ELEM_TYPE_CODES.INT64; // 7
 * ```
 */
export const ONNX_ELEM_TYPE_CODES: Readonly<Record<OnnxElemType, number>> = {
  FLOAT: ONNX_DATA_TYPE.FLOAT,
  UINT8: ONNX_DATA_TYPE.UINT8,
  INT8: ONNX_DATA_TYPE.INT8,
  UINT16: ONNX_DATA_TYPE.UINT16,
  INT16: ONNX_DATA_TYPE.INT16,
  INT32: ONNX_DATA_TYPE.INT32,
  INT64: ONNX_DATA_TYPE.INT64,
  STRING: ONNX_DATA_TYPE.STRING,
  BOOL: ONNX_DATA_TYPE.BOOL,
  FLOAT16: ONNX_DATA_TYPE.FLOAT16,
  DOUBLE: ONNX_DATA_TYPE.DOUBLE,
  UINT32: ONNX_DATA_TYPE.UINT32,
  UINT64: ONNX_DATA_TYPE.UINT64,
};

/**
 * Every {@link OnnxElemType}, in `TensorProto.DataType` order.
 *
 * @example
 * ```ts
 * for (const t of ONNX_ELEM_TYPES) console.log(t, ONNX_ELEM_TYPE_CODES[t]);
 * ```
 */
export const ONNX_ELEM_TYPES: readonly OnnxElemType[] = (
  Object.keys(ONNX_ELEM_TYPE_CODES) as OnnxElemType[]
).sort((a, b) => ONNX_ELEM_TYPE_CODES[a] - ONNX_ELEM_TYPE_CODES[b]);

const ELEM_TYPE_BY_CODE = new Map<number, OnnxElemType>(
  ONNX_ELEM_TYPES.map((t) => [ONNX_ELEM_TYPE_CODES[t], t]),
);

/**
 * Maps a `TensorProto.DataType` code back to an {@link OnnxElemType}.
 *
 * @returns `undefined` for codes berth does not carry (BFLOAT16, FLOAT8*, COMPLEX*, ...).
 * @example
 * ```ts
 * onnxElemTypeFromCode(1); // 'FLOAT'
 * onnxElemTypeFromCode(16); // undefined (BFLOAT16)
 * ```
 */
export function onnxElemTypeFromCode(code: number): OnnxElemType | undefined {
  return ELEM_TYPE_BY_CODE.get(code);
}

/**
 * A graph input or output as declared to {@link buildOnnxModel}.
 *
 * `shape` entries are fixed sizes (`dim_value`) when numbers and symbolic
 * dimensions (`dim_param`, e.g. `'batch'`) when strings.
 */
export interface OnnxValueInfo {
  name: string;
  elemType: OnnxElemType;
  shape: (number | string)[];
}

/**
 * Element data of a tensor, row-major. Which array is accepted depends on the
 * element type:
 *
 * | elemType | data |
 * |---|---|
 * | FLOAT / DOUBLE | `Float32Array` / `Float64Array` or `number[]` |
 * | INT8 / UINT8 / INT16 / UINT16 / INT32 / UINT32 | the matching typed array or `number[]` |
 * | INT64 / UINT64 | `BigInt64Array` / `BigUint64Array`, or `number[]` of safe integers |
 * | FLOAT16 | `Uint16Array` of IEEE 754 half-precision bit patterns |
 * | BOOL | `Uint8Array` (0/1) or `boolean[]` |
 * | STRING | `string[]` |
 */
export type OnnxTensorValues =
  | Float32Array
  | Float64Array
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | readonly number[]
  | readonly boolean[]
  | readonly string[];

/** A constant tensor: an attribute value, or (with a name) a graph initializer. */
export interface OnnxTensor {
  name?: string;
  elemType: OnnxElemType;
  dims: number[];
  data: OnnxTensorValues;
}

/** A named constant tensor stored in the graph (weights, lookup tables, ...). */
export interface OnnxInitializer extends OnnxTensor {
  name: string;
}

/**
 * A node attribute value. Tagged rather than inferred, because JS cannot tell
 * an INT attribute `1` from a FLOAT attribute `1.0`, and operators reject the
 * wrong kind.
 */
export type OnnxAttributeValue =
  | { float: number }
  | { int: number }
  | { string: string }
  | { floats: readonly number[] }
  | { ints: readonly number[] }
  | { strings: readonly string[] }
  | { tensor: OnnxTensor };

/** One operator invocation in the graph. */
export interface OnnxNode {
  opType: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  /** Operator-set domain; omitted means the default ONNX domain (`ai.onnx`). */
  domain?: string;
  attributes?: Record<string, OnnxAttributeValue>;
}

/** An operator-set import: `domain` `''` is the default ONNX domain. */
export interface OnnxOpsetImport {
  domain: string;
  version: number;
}

/** Everything {@link buildOnnxModel} needs to describe a model. */
export interface OnnxModelSpec {
  graphName?: string;
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  nodes: OnnxNode[];
  initializers?: OnnxInitializer[];
  /** Default-domain opset version; defaults to 13. */
  opset?: number;
  /** Further opset imports, e.g. `{ domain: 'ai.onnx.ml', version: 3 }`. */
  extraOpsets?: OnnxOpsetImport[];
  /** IR version; defaults to 8 (ONNX 1.10), old enough for any onnxruntime from 1.10 on. */
  irVersion?: number;
  producerName?: string;
  producerVersion?: string;
  domain?: string;
  modelVersion?: number;
  docString?: string;
  metadata?: Record<string, string>;
}

const DEFAULT_OPSET = 13;
const DEFAULT_IR_VERSION = 8;

const utf8 = new TextEncoder();

/**
 * Serialises a model described in plain terms into ONNX protobuf bytes.
 *
 * Numeric tensor data is stored in `raw_data` (little-endian) and strings in
 * `string_data`, as onnx.proto requires. Structural mistakes that protobuf
 * could not express (data length ≠ product of dims, wrong array type for the
 * element type, negative dims) throw here; graph-level validity (op names,
 * type inference) is left to the runtime that loads the model.
 *
 * @example
 * ```ts
 * const bytes = buildOnnxModel({
 *   inputs: [{ name: 'x', elemType: 'FLOAT', shape: ['batch', 4] }],
 *   outputs: [{ name: 'y', elemType: 'FLOAT', shape: ['batch', 4] }],
 *   nodes: [{ opType: 'Add', inputs: ['x', 'x'], outputs: ['y'] }],
 * });
 * const session = await ort.InferenceSession.create(bytes);
 * ```
 */
export function buildOnnxModel(spec: OnnxModelSpec): Uint8Array {
  const opsetImport = [
    { domain: '', version: spec.opset ?? DEFAULT_OPSET },
    ...(spec.extraOpsets ?? []).map((o) => ({ domain: o.domain, version: o.version })),
  ];
  const model: ModelInit = {
    ir_version: spec.irVersion ?? DEFAULT_IR_VERSION,
    opset_import: opsetImport,
    graph: {
      name: spec.graphName ?? 'main',
      node: spec.nodes.map(encodeNode),
      initializer: (spec.initializers ?? []).map(encodeTensor),
      input: spec.inputs.map(encodeValueInfo),
      output: spec.outputs.map(encodeValueInfo),
    },
    metadata_props: Object.entries(spec.metadata ?? {}).map(([key, value]) => ({ key, value })),
    ...(spec.producerName !== undefined && { producer_name: spec.producerName }),
    ...(spec.producerVersion !== undefined && { producer_version: spec.producerVersion }),
    ...(spec.domain !== undefined && { domain: spec.domain }),
    ...(spec.modelVersion !== undefined && { model_version: spec.modelVersion }),
    ...(spec.docString !== undefined && { doc_string: spec.docString }),
  };
  // finish() returns a Buffer under Node; hand back a plain view so callers
  // comparing or transferring bytes never see Buffer-specific behaviour.
  const out = onnxTypes.ModelProto.encode(model).finish();
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

function encodeValueInfo(v: OnnxValueInfo): ValueInfoInit {
  const dim = v.shape.map((d): DimensionInit => {
    if (typeof d === 'string') return { dim_param: d };
    if (!Number.isSafeInteger(d) || d < 0) {
      throw new Error(
        `invalid dimension ${d} in shape of '${v.name}': use a non-negative integer, or a string for a symbolic dimension`,
      );
    }
    return { dim_value: d };
  });
  return {
    name: v.name,
    type: { tensor_type: { elem_type: ONNX_ELEM_TYPE_CODES[v.elemType], shape: { dim } } },
  };
}

function encodeNode(n: OnnxNode): NodeInit {
  return {
    input: n.inputs,
    output: n.outputs,
    op_type: n.opType,
    attribute: Object.entries(n.attributes ?? {}).map(([name, value]) => encodeAttribute(name, value)),
    ...(n.name !== undefined && { name: n.name }),
    ...(n.domain !== undefined && { domain: n.domain }),
  };
}

function encodeAttribute(name: string, v: OnnxAttributeValue): AttributeInit {
  if ('float' in v) return { name, type: ONNX_ATTRIBUTE_TYPE.FLOAT, f: v.float };
  if ('int' in v) return { name, type: ONNX_ATTRIBUTE_TYPE.INT, i: checkInt(v.int, name) };
  if ('string' in v) return { name, type: ONNX_ATTRIBUTE_TYPE.STRING, s: utf8.encode(v.string) };
  if ('floats' in v) return { name, type: ONNX_ATTRIBUTE_TYPE.FLOATS, floats: [...v.floats] };
  if ('ints' in v) {
    return { name, type: ONNX_ATTRIBUTE_TYPE.INTS, ints: v.ints.map((i) => checkInt(i, name)) };
  }
  if ('strings' in v) {
    return { name, type: ONNX_ATTRIBUTE_TYPE.STRINGS, strings: v.strings.map((s) => utf8.encode(s)) };
  }
  return { name, type: ONNX_ATTRIBUTE_TYPE.TENSOR, t: encodeTensor(v.tensor) };
}

function checkInt(i: number, what: string): number {
  if (!Number.isSafeInteger(i)) throw new Error(`attribute '${what}': ${i} is not a safe integer`);
  return i;
}

/** Typed-array constructor expected for each numeric element type (BOOL/FLOAT16/STRING handled apart). */
const TYPED_ARRAY_FOR = {
  FLOAT: Float32Array,
  DOUBLE: Float64Array,
  INT8: Int8Array,
  UINT8: Uint8Array,
  INT16: Int16Array,
  UINT16: Uint16Array,
  INT32: Int32Array,
  UINT32: Uint32Array,
} as const;

type ArrayBufferViewLike = { buffer: ArrayBufferLike; byteOffset: number; byteLength: number };

function encodeTensor(t: OnnxTensor): TensorInit {
  const label = t.name ?? '<attribute tensor>';
  for (const d of t.dims) {
    if (!Number.isSafeInteger(d) || d < 0) throw new Error(`tensor '${label}': invalid dimension ${d}`);
  }
  const count = t.dims.reduce((a, b) => a * b, 1);
  if (t.data.length !== count) {
    throw new Error(
      `tensor '${label}': ${t.data.length} values for dims [${t.dims.join(', ')}] (expected ${count})`,
    );
  }
  const base = {
    dims: t.dims,
    data_type: ONNX_ELEM_TYPE_CODES[t.elemType],
    ...(t.name !== undefined && { name: t.name }),
  };
  if (t.elemType === 'STRING') {
    return { ...base, string_data: expectStrings(t.data, label).map((s) => utf8.encode(s)) };
  }
  return { ...base, raw_data: toLittleEndianBytes(numericView(t, label)) };
}

function expectStrings(data: OnnxTensorValues, label: string): readonly string[] {
  if (Array.isArray(data) && data.every((x) => typeof x === 'string')) return data;
  throw new Error(`tensor '${label}': STRING data must be a string[]`);
}

/** Returns the tensor's elements as a typed array of the exact ONNX element width. */
function numericView(t: OnnxTensor, label: string): ArrayBufferViewLike & { BYTES_PER_ELEMENT: number } {
  const { elemType, data } = t;
  const mismatch = (want: string): Error =>
    new Error(`tensor '${label}': ${elemType} data must be ${want}, got ${describe(data)}`);
  const plainNumbers = (): readonly number[] | undefined =>
    Array.isArray(data) && data.every((x) => typeof x === 'number') ? data : undefined;

  switch (elemType) {
    case 'BOOL': {
      if (data instanceof Uint8Array) return Uint8Array.from(data, (b) => (b ? 1 : 0));
      if (Array.isArray(data) && data.every((x) => typeof x === 'boolean')) {
        return Uint8Array.from(data, (b) => (b ? 1 : 0));
      }
      throw mismatch('a Uint8Array or boolean[]');
    }
    case 'FLOAT16':
      // No Float16Array in Node 20, and number[] would be ambiguous (values or bits?).
      if (data instanceof Uint16Array) return data;
      throw mismatch('a Uint16Array of half-precision bit patterns');
    case 'INT64':
    case 'UINT64': {
      const Ctor = elemType === 'INT64' ? BigInt64Array : BigUint64Array;
      if (data instanceof Ctor) return data;
      const nums = plainNumbers();
      if (nums?.every((n) => Number.isSafeInteger(n) && (elemType === 'INT64' || n >= 0))) {
        const big = nums.map((n) => BigInt(n));
        return elemType === 'INT64' ? BigInt64Array.from(big) : BigUint64Array.from(big);
      }
      throw mismatch(`a ${Ctor.name} or number[] of (non-negative, for UINT64) safe integers`);
    }
    case 'FLOAT':
    case 'DOUBLE':
    case 'INT8':
    case 'UINT8':
    case 'INT16':
    case 'UINT16':
    case 'INT32':
    case 'UINT32': {
      const Ctor = TYPED_ARRAY_FOR[elemType];
      if (data instanceof Ctor) return data;
      const nums = plainNumbers();
      if (nums) return Ctor.from(nums);
      throw mismatch(`a ${Ctor.name} or number[]`);
    }
    case 'STRING':
      throw mismatch('string[] (handled separately)');
  }
}

function describe(data: OnnxTensorValues): string {
  if (Array.isArray(data)) return data.length > 0 ? `${typeof data[0]}[]` : 'an empty array';
  return data.constructor.name;
}

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Copies a typed array's bytes, byte-swapping elements on big-endian hosts (onnx.proto mandates little-endian raw_data). */
function toLittleEndianBytes(view: ArrayBufferViewLike & { BYTES_PER_ELEMENT: number }): Uint8Array {
  const bytes = new Uint8Array(view.buffer, view.byteOffset, view.byteLength).slice();
  const width = view.BYTES_PER_ELEMENT;
  if (!HOST_IS_LITTLE_ENDIAN && width > 1) {
    for (let i = 0; i < bytes.length; i += width) bytes.subarray(i, i + width).reverse();
  }
  return bytes;
}

// ---------------------------------------------------------------------------
// Reading

/** A graph input or output as found in a model file. */
export interface OnnxModelValueInfo {
  name: string;
  /** Element type for tensor values berth can carry; `null` for anything else (BFLOAT16, sequences, maps, ...). */
  elemType: OnnxElemType | null;
  /**
   * Dimensions: numbers are fixed sizes, strings are symbolic (`dim_param`),
   * and `'?'` is a dimension with neither. `null` means the rank itself is
   * unknown (no shape recorded), which is not the same as a scalar (`[]`).
   */
  shape: (number | string)[] | null;
  /** The full ONNX type in onnxruntime's notation, e.g. `tensor(float)`, `seq(map(int64,tensor(float)))`. */
  type: string;
  docString: string;
}

/** What {@link readOnnxModelInfo} reports about a model. */
export interface OnnxModelInfo {
  irVersion: number;
  /** Opset imports as written; `domain` `''` is the default ONNX domain (`ai.onnx`). */
  opsets: OnnxOpsetImport[];
  producerName: string;
  producerVersion: string;
  domain: string;
  modelVersion: number;
  docString: string;
  graphName: string;
  metadata: Record<string, string>;
  /** Graph inputs the caller must feed: inputs that merely re-declare an initializer are excluded. */
  inputs: OnnxModelValueInfo[];
  outputs: OnnxModelValueInfo[];
  /** Dense plus sparse initializers. */
  initializerCount: number;
}

/**
 * Reads a model's header, opsets, metadata and graph I/O without decoding its
 * nodes or weights.
 *
 * Graph inputs that also appear as initializers are left out of `inputs`:
 * exporters targeting IR < 4 had to list every weight as a graph input, but
 * those are defaults a client never needs to send.
 *
 * @throws Error whose message starts with `not an ONNX model:` when the bytes
 *   are not a protobuf ModelProto with an IR version and a graph.
 * @example
 * ```ts
 * const info = readOnnxModelInfo(await readFile('model.onnx'));
 * console.log(info.opsets, info.inputs.map((i) => `${i.name}: ${i.type} [${i.shape?.join(', ')}]`));
 * ```
 */
export function readOnnxModelInfo(bytes: Uint8Array): OnnxModelInfo {
  if (bytes.byteLength === 0) throw new Error('not an ONNX model: the file is empty');
  let decoded: unknown;
  try {
    decoded = onnxTypes.ModelInfo.decode(bytes);
  } catch (err) {
    throw new Error(`not an ONNX model: protobuf decoding failed (${errorMessage(err)})`, { cause: err });
  }
  const model = asRecord(decoded) ?? {};
  const irVersion = asInt(model.ir_version);
  const graph = asRecord(model.graph);
  // Arbitrary bytes sometimes decode "successfully" as a message full of
  // unknown fields; a real model always carries an IR version and a graph.
  if (irVersion < 1 || irVersion > 1000 || graph === undefined) {
    throw new Error(
      'not an ONNX model: no valid ir_version and graph found (is this a PyTorch, TensorFlow or ORT-format file?)',
    );
  }

  const dense = asArray(graph.initializer);
  const sparse = asArray(graph.sparse_initializer);
  const initializerNames = new Set<string>([
    ...dense.map((t) => asString(asRecord(t)?.name)),
    ...sparse.map((s) => asString(asRecord(asRecord(s)?.values)?.name)),
  ]);

  const metadata: Record<string, string> = {};
  for (const e of asArray(model.metadata_props)) {
    const entry = asRecord(e);
    metadata[asString(entry?.key)] = asString(entry?.value);
  }

  return {
    irVersion,
    opsets: asArray(model.opset_import).map((o) => {
      const r = asRecord(o);
      return { domain: asString(r?.domain), version: asInt(r?.version) };
    }),
    producerName: asString(model.producer_name),
    producerVersion: asString(model.producer_version),
    domain: asString(model.domain),
    modelVersion: asInt(model.model_version),
    docString: asString(model.doc_string),
    graphName: asString(graph.name),
    metadata,
    inputs: asArray(graph.input)
      .map(readValueInfo)
      .filter((v) => !initializerNames.has(v.name)),
    outputs: asArray(graph.output).map(readValueInfo),
    initializerCount: dense.length + sparse.length,
  };
}

function readValueInfo(raw: unknown): OnnxModelValueInfo {
  const v = asRecord(raw);
  const type = asRecord(v?.type);
  const tensor = asRecord(type?.tensor_type);
  const elemCode = asInt(tensor?.elem_type);
  return {
    name: asString(v?.name),
    elemType: tensor ? (onnxElemTypeFromCode(elemCode) ?? null) : null,
    shape: tensor ? readShape(tensor.shape) : null,
    type: typeName(type, 0),
    docString: asString(v?.doc_string),
  };
}

function readShape(raw: unknown): (number | string)[] | null {
  const shape = asRecord(raw);
  if (shape === undefined) return null;
  return asArray(shape.dim).map((d) => {
    const dim = asRecord(d);
    // Both oneof members have prototype defaults on decoded messages, so only
    // an own property tells which one the file actually set.
    if (dim && Object.hasOwn(dim, 'dim_value')) return asInt(dim.dim_value);
    if (dim && Object.hasOwn(dim, 'dim_param')) return asString(dim.dim_param) || '?';
    return '?';
  });
}

const DATA_TYPE_NAMES = new Map<number, string>(
  Object.entries(ONNX_DATA_TYPE).map(([name, code]) => [code, name.toLowerCase()]),
);

function dataTypeName(code: number): string {
  return DATA_TYPE_NAMES.get(code) ?? `unknown(${code})`;
}

/** Renders a TypeProto the way onnxruntime prints types in its error messages. */
function typeName(raw: Record<string, unknown> | undefined, depth: number): string {
  // protobufjs bounds decode recursion, but keep the renderer bounded on its own.
  if (raw === undefined || depth > 32) return 'unknown';
  const tensor = asRecord(raw.tensor_type);
  if (tensor) return `tensor(${dataTypeName(asInt(tensor.elem_type))})`;
  const sparse = asRecord(raw.sparse_tensor_type);
  if (sparse) return `sparse_tensor(${dataTypeName(asInt(sparse.elem_type))})`;
  const seq = asRecord(raw.sequence_type);
  if (seq) return `seq(${typeName(asRecord(seq.elem_type), depth + 1)})`;
  const map = asRecord(raw.map_type);
  if (map) {
    return `map(${dataTypeName(asInt(map.key_type))},${typeName(asRecord(map.value_type), depth + 1)})`;
  }
  const opt = asRecord(raw.optional_type);
  if (opt) return `optional(${typeName(asRecord(opt.elem_type), depth + 1)})`;
  const opaque = asRecord(raw.opaque_type);
  if (opaque) return `opaque(${asString(opaque.domain)},${asString(opaque.name)})`;
  return 'unknown';
}

// Decoded protobufjs messages are untyped; these narrow each field defensively
// so a malformed-but-decodable file yields empty values instead of exceptions.

function asRecord(v: unknown): Record<string, unknown> | undefined {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
    ? (v as Record<string, unknown>)
    : undefined;
}

function asArray(v: unknown): readonly unknown[] {
  return Array.isArray(v) ? (v as unknown[]) : [];
}

function asString(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** int64 fields decode to `Long` objects (protobufjs bundles `long`); fold them to numbers. */
function asInt(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  const r = asRecord(v);
  if (r && typeof r.toNumber === 'function') {
    const n: unknown = (r.toNumber as () => unknown).call(r);
    if (typeof n === 'number') return n;
  }
  return 0;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
