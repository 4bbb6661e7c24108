/**
 * Hand-written subset of the ONNX protobuf schema.
 *
 * Source of truth: onnx.proto from the ONNX project (MIT licence),
 * https://github.com/onnx/onnx/blob/main/onnx/onnx.proto (generated from onnx.in.proto).
 * Every field number below is copied from that file; do not renumber. Only the
 * messages and fields berth writes or inspects are declared: protobuf skips
 * unknown fields on decode, so anything else in a real model (functions,
 * training info, sparse data, external-data entries, ...) is ignored, not lost
 * or rejected.
 *
 * Why a hand-written subset rather than the generated `onnx` package: it keeps
 * the runtime dependency to protobufjs alone, and the subset is tiny and frozen
 * by ONNX's own compatibility rules (field numbers are never reused).
 *
 * @module
 */
import protobuf from 'protobufjs';

/**
 * Schema used to write models, and the shared leaf messages used to read them.
 *
 * `proto2` like the upstream file, so that `[packed = true]` matches upstream
 * exactly (the wire format of packed vs. unpacked repeated scalars differs, and
 * parsers accept both, but we want byte-for-byte upstream semantics).
 */
const ONNX_PROTO = `
syntax = "proto2";
package onnx;

message AttributeProto {
  enum AttributeType {
    UNDEFINED = 0;
    FLOAT = 1;
    INT = 2;
    STRING = 3;
    TENSOR = 4;
    GRAPH = 5;
    FLOATS = 6;
    INTS = 7;
    STRINGS = 8;
    TENSORS = 9;
    GRAPHS = 10;
    SPARSE_TENSOR = 11;
    SPARSE_TENSORS = 12;
  }
  optional string name = 1;
  optional string doc_string = 13;
  optional AttributeType type = 20;
  optional float f = 2;
  optional int64 i = 3;
  optional bytes s = 4;
  optional TensorProto t = 5;
  repeated float floats = 7;
  repeated int64 ints = 8;
  repeated bytes strings = 9;
}

message ValueInfoProto {
  optional string name = 1;
  optional TypeProto type = 2;
  optional string doc_string = 3;
}

message NodeProto {
  repeated string input = 1;
  repeated string output = 2;
  optional string name = 3;
  optional string op_type = 4;
  optional string domain = 7;
  repeated AttributeProto attribute = 5;
  optional string doc_string = 6;
}

message ModelProto {
  optional int64 ir_version = 1;
  repeated OperatorSetIdProto opset_import = 8;
  optional string producer_name = 2;
  optional string producer_version = 3;
  optional string domain = 4;
  optional int64 model_version = 5;
  optional string doc_string = 6;
  optional GraphProto graph = 7;
  repeated StringStringEntryProto metadata_props = 14;
}

message StringStringEntryProto {
  optional string key = 1;
  optional string value = 2;
}

message GraphProto {
  repeated NodeProto node = 1;
  optional string name = 2;
  repeated TensorProto initializer = 5;
  optional string doc_string = 10;
  repeated ValueInfoProto input = 11;
  repeated ValueInfoProto output = 12;
  repeated ValueInfoProto value_info = 13;
}

message TensorProto {
  repeated int64 dims = 1;
  optional int32 data_type = 2;
  repeated float float_data = 4 [packed = true];
  repeated int32 int32_data = 5 [packed = true];
  repeated bytes string_data = 6;
  repeated int64 int64_data = 7 [packed = true];
  optional string name = 8;
  optional string doc_string = 12;
  optional bytes raw_data = 9;
  repeated double double_data = 10 [packed = true];
  repeated uint64 uint64_data = 11 [packed = true];
}

message TensorShapeProto {
  message Dimension {
    oneof value {
      int64 dim_value = 1;
      string dim_param = 2;
    }
    optional string denotation = 3;
  }
  repeated Dimension dim = 1;
}

// Beyond tensor_type, the other TypeProto kinds are declared only so that
// inspecting a classic-ML model (e.g. a scikit-learn classifier whose output is
// seq(map(int64, tensor(float)))) can name its types instead of showing nothing.
message TypeProto {
  message Tensor {
    optional int32 elem_type = 1;
    optional TensorShapeProto shape = 2;
  }
  message Sequence {
    optional TypeProto elem_type = 1;
  }
  message Map {
    optional int32 key_type = 1;
    optional TypeProto value_type = 2;
  }
  message Optional {
    optional TypeProto elem_type = 1;
  }
  message SparseTensor {
    optional int32 elem_type = 1;
    optional TensorShapeProto shape = 2;
  }
  message Opaque {
    optional string domain = 1;
    optional string name = 2;
  }
  oneof value {
    Tensor tensor_type = 1;
    Sequence sequence_type = 4;
    Map map_type = 5;
    Optional optional_type = 9;
    SparseTensor sparse_tensor_type = 8;
    Opaque opaque_type = 7;
  }
  optional string denotation = 6;
}

message OperatorSetIdProto {
  optional string domain = 1;
  optional int64 version = 2;
}
`;

/**
 * Read-side views of ModelProto/GraphProto/TensorProto that declare only what
 * `readOnnxModelInfo` needs, under the same field numbers. Decoding a 100 MB
 * model through these skips every node and every weight payload (the reader
 * jumps over unknown length-delimited fields without materialising them), so
 * inspection cost is proportional to the number of tensors, not their size.
 */
const ONNX_INFO_PROTO = `
syntax = "proto2";
package onnx_info;

message ModelInfo {
  optional int64 ir_version = 1;
  repeated onnx.OperatorSetIdProto opset_import = 8;
  optional string producer_name = 2;
  optional string producer_version = 3;
  optional string domain = 4;
  optional int64 model_version = 5;
  optional string doc_string = 6;
  optional GraphInfo graph = 7;
  repeated onnx.StringStringEntryProto metadata_props = 14;
}

message GraphInfo {
  optional string name = 2;
  repeated TensorName initializer = 5;
  repeated SparseTensorName sparse_initializer = 15;
  optional string doc_string = 10;
  repeated onnx.ValueInfoProto input = 11;
  repeated onnx.ValueInfoProto output = 12;
}

// TensorProto with only its name (field 8).
message TensorName {
  optional string name = 8;
}

// SparseTensorProto with only its values tensor (field 1), which carries the name.
message SparseTensorName {
  optional TensorName values = 1;
}
`;

// keepCase: field names stay exactly as in onnx.proto (snake_case), so the
// objects we build can be checked against the upstream file by eye.
const root = new protobuf.Root();
protobuf.parse(ONNX_PROTO, root, { keepCase: true });
protobuf.parse(ONNX_INFO_PROTO, root, { keepCase: true });
root.resolveAll();

/**
 * Resolved protobufjs message types.
 *
 * @example
 * ```ts
 * const bytes = onnxTypes.ModelProto.encode(model).finish();
 * ```
 */
export const onnxTypes = {
  ModelProto: root.lookupType('onnx.ModelProto'),
  GraphProto: root.lookupType('onnx.GraphProto'),
  TensorProto: root.lookupType('onnx.TensorProto'),
  /** Lean read-only view of ModelProto; see the comment on `ONNX_INFO_PROTO`. */
  ModelInfo: root.lookupType('onnx_info.ModelInfo'),
} as const;

/**
 * `TensorProto.DataType`, including the types berth cannot carry (so that
 * `berth inspect` can still name them).
 *
 * @example
 * ```ts
 * ONNX_DATA_TYPE.FLOAT; // 1
 * ```
 */
export const ONNX_DATA_TYPE = {
  UNDEFINED: 0,
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  COMPLEX64: 14,
  COMPLEX128: 15,
  BFLOAT16: 16,
  FLOAT8E4M3FN: 17,
  FLOAT8E4M3FNUZ: 18,
  FLOAT8E5M2: 19,
  FLOAT8E5M2FNUZ: 20,
  UINT4: 21,
  INT4: 22,
  FLOAT4E2M1: 23,
  FLOAT8E8M0: 24,
  UINT2: 25,
  INT2: 26,
} as const;

/**
 * `AttributeProto.AttributeType` values berth writes.
 *
 * @example
 * ```ts
 * ONNX_ATTRIBUTE_TYPE.INTS; // 7
 * ```
 */
export const ONNX_ATTRIBUTE_TYPE = {
  FLOAT: 1,
  INT: 2,
  STRING: 3,
  TENSOR: 4,
  FLOATS: 6,
  INTS: 7,
  STRINGS: 8,
} as const;

// Plain-object shapes accepted by `encode` for the messages berth writes. They
// mirror onnx.proto field names; int64 fields take JS numbers (protobufjs
// splits them into 64-bit varints itself).

/** `onnx.StringStringEntryProto` as written by berth. */
export interface StringStringEntryInit {
  key: string;
  value: string;
}

/** `onnx.OperatorSetIdProto` as written by berth. */
export interface OperatorSetIdInit {
  domain: string;
  version: number;
}

/** `onnx.TensorShapeProto.Dimension` as written by berth (exactly one of the oneof). */
export type DimensionInit = { dim_value: number } | { dim_param: string };

/** `onnx.TypeProto` as written by berth (tensor types only). */
export interface TypeInit {
  tensor_type: { elem_type: number; shape: { dim: DimensionInit[] } };
}

/** `onnx.ValueInfoProto` as written by berth. */
export interface ValueInfoInit {
  name: string;
  type: TypeInit;
  doc_string?: string;
}

/** `onnx.TensorProto` as written by berth: numeric data in `raw_data`, strings in `string_data`. */
export interface TensorInit {
  name?: string;
  dims: number[];
  data_type: number;
  raw_data?: Uint8Array;
  string_data?: Uint8Array[];
}

/** `onnx.AttributeProto` as written by berth. */
export interface AttributeInit {
  name: string;
  type: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  t?: TensorInit;
  floats?: number[];
  ints?: number[];
  strings?: Uint8Array[];
}

/** `onnx.NodeProto` as written by berth. */
export interface NodeInit {
  input: string[];
  output: string[];
  name?: string;
  op_type: string;
  domain?: string;
  attribute: AttributeInit[];
  doc_string?: string;
}

/** `onnx.GraphProto` as written by berth. */
export interface GraphInit {
  name: string;
  node: NodeInit[];
  initializer: TensorInit[];
  input: ValueInfoInit[];
  output: ValueInfoInit[];
  doc_string?: string;
}

/** `onnx.ModelProto` as written by berth. */
export interface ModelInit {
  ir_version: number;
  opset_import: OperatorSetIdInit[];
  producer_name?: string;
  producer_version?: string;
  domain?: string;
  model_version?: number;
  doc_string?: string;
  graph: GraphInit;
  metadata_props: StringStringEntryInit[];
}
