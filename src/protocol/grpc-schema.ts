/**
 * The gRPC wire contract: the Open Inference Protocol service `inference.GRPCInferenceService`
 * (kserve/open-inference-protocol, specification/protocol/open_inference_grpc.proto) with Triton's
 * extensions to it (triton-inference-server/common, protobuf/grpc_service.proto and
 * model_config.proto). Written from those specifications; every field number is theirs and is the
 * wire contract: never renumber. RPCs berth does not serve (shared memory, trace and log
 * settings) are left out, so clients get UNIMPLEMENTED for them.
 *
 * Only the model_config.proto messages berth fills are declared; a client decoding a
 * ModelConfigResponse sees the fields it does not set as their defaults.
 *
 * @module
 */
import protobuf from 'protobufjs';

export const INFERENCE_PROTO = `
syntax = "proto3";
package inference;

service GRPCInferenceService {
  rpc ServerLive(ServerLiveRequest) returns (ServerLiveResponse) {}
  rpc ServerReady(ServerReadyRequest) returns (ServerReadyResponse) {}
  rpc ModelReady(ModelReadyRequest) returns (ModelReadyResponse) {}
  rpc ServerMetadata(ServerMetadataRequest) returns (ServerMetadataResponse) {}
  rpc ModelMetadata(ModelMetadataRequest) returns (ModelMetadataResponse) {}
  rpc ModelInfer(ModelInferRequest) returns (ModelInferResponse) {}
  rpc ModelStreamInfer(stream ModelInferRequest) returns (stream ModelStreamInferResponse) {}
  rpc ModelConfig(ModelConfigRequest) returns (ModelConfigResponse) {}
  rpc ModelStatistics(ModelStatisticsRequest) returns (ModelStatisticsResponse) {}
  rpc RepositoryIndex(RepositoryIndexRequest) returns (RepositoryIndexResponse) {}
  rpc RepositoryModelLoad(RepositoryModelLoadRequest) returns (RepositoryModelLoadResponse) {}
  rpc RepositoryModelUnload(RepositoryModelUnloadRequest) returns (RepositoryModelUnloadResponse) {}
}

message ServerLiveRequest {}
message ServerLiveResponse { bool live = 1; }
message ServerReadyRequest {}
message ServerReadyResponse { bool ready = 1; }
message ModelReadyRequest { string name = 1; string version = 2; }
message ModelReadyResponse { bool ready = 1; }
message ServerMetadataRequest {}
message ServerMetadataResponse {
  string name = 1;
  string version = 2;
  repeated string extensions = 3;
}
message ModelMetadataRequest { string name = 1; string version = 2; }
message ModelMetadataResponse {
  message TensorMetadata {
    string name = 1;
    string datatype = 2;
    repeated int64 shape = 3;
  }
  string name = 1;
  repeated string versions = 2;
  string platform = 3;
  repeated TensorMetadata inputs = 4;
  repeated TensorMetadata outputs = 5;
}

message InferParameter {
  oneof parameter_choice {
    bool bool_param = 1;
    int64 int64_param = 2;
    string string_param = 3;
    double double_param = 4;
    uint64 uint64_param = 5;
  }
}

message InferTensorContents {
  repeated bool bool_contents = 1;
  repeated int32 int_contents = 2;
  repeated int64 int64_contents = 3;
  repeated uint32 uint_contents = 4;
  repeated uint64 uint64_contents = 5;
  repeated float fp32_contents = 6;
  repeated double fp64_contents = 7;
  repeated bytes bytes_contents = 8;
}

message ModelInferRequest {
  message InferInputTensor {
    string name = 1;
    string datatype = 2;
    repeated int64 shape = 3;
    map<string, InferParameter> parameters = 4;
    InferTensorContents contents = 5;
  }
  message InferRequestedOutputTensor {
    string name = 1;
    map<string, InferParameter> parameters = 2;
  }
  string model_name = 1;
  string model_version = 2;
  string id = 3;
  map<string, InferParameter> parameters = 4;
  repeated InferInputTensor inputs = 5;
  repeated InferRequestedOutputTensor outputs = 6;
  repeated bytes raw_input_contents = 7;
}

message ModelInferResponse {
  message InferOutputTensor {
    string name = 1;
    string datatype = 2;
    repeated int64 shape = 3;
    map<string, InferParameter> parameters = 4;
    InferTensorContents contents = 5;
  }
  string model_name = 1;
  string model_version = 2;
  string id = 3;
  map<string, InferParameter> parameters = 4;
  repeated InferOutputTensor outputs = 5;
  repeated bytes raw_output_contents = 6;
}

message ModelStreamInferResponse {
  string error_message = 1;
  ModelInferResponse infer_response = 2;
}

message ModelConfigRequest { string name = 1; string version = 2; }
message ModelConfigResponse { ModelConfig config = 1; }

message StatisticDuration {
  uint64 count = 1;
  uint64 ns = 2;
}
message InferStatistics {
  StatisticDuration success = 1;
  StatisticDuration fail = 2;
  StatisticDuration queue = 3;
  StatisticDuration compute_input = 4;
  StatisticDuration compute_infer = 5;
  StatisticDuration compute_output = 6;
  StatisticDuration cache_hit = 7;
  StatisticDuration cache_miss = 8;
}
message InferBatchStatistics {
  uint64 batch_size = 1;
  StatisticDuration compute_input = 2;
  StatisticDuration compute_infer = 3;
  StatisticDuration compute_output = 4;
}
message MemoryUsage {
  string type = 1;
  int64 id = 2;
  uint64 byte_size = 3;
}
message ModelStatistics {
  string name = 1;
  string version = 2;
  uint64 last_inference = 3;
  uint64 inference_count = 4;
  uint64 execution_count = 5;
  InferStatistics inference_stats = 6;
  repeated InferBatchStatistics batch_stats = 7;
  repeated MemoryUsage memory_usage = 8;
}
message ModelStatisticsRequest { string name = 1; string version = 2; }
message ModelStatisticsResponse { repeated ModelStatistics model_stats = 1; }

message ModelRepositoryParameter {
  oneof parameter_choice {
    bool bool_param = 1;
    int64 int64_param = 2;
    string string_param = 3;
    bytes bytes_param = 4;
  }
}
message RepositoryIndexRequest {
  string repository_name = 1;
  bool ready = 2;
}
message RepositoryIndexResponse {
  message ModelIndex {
    string name = 1;
    string version = 2;
    string state = 3;
    string reason = 4;
  }
  repeated ModelIndex models = 1;
}
message RepositoryModelLoadRequest {
  string repository_name = 1;
  string model_name = 2;
  map<string, ModelRepositoryParameter> parameters = 3;
}
message RepositoryModelLoadResponse {}
message RepositoryModelUnloadRequest {
  string repository_name = 1;
  string model_name = 2;
  map<string, ModelRepositoryParameter> parameters = 3;
}
message RepositoryModelUnloadResponse {}

enum DataType {
  TYPE_INVALID = 0;
  TYPE_BOOL = 1;
  TYPE_UINT8 = 2;
  TYPE_UINT16 = 3;
  TYPE_UINT32 = 4;
  TYPE_UINT64 = 5;
  TYPE_INT8 = 6;
  TYPE_INT16 = 7;
  TYPE_INT32 = 8;
  TYPE_INT64 = 9;
  TYPE_FP16 = 10;
  TYPE_FP32 = 11;
  TYPE_FP64 = 12;
  TYPE_STRING = 13;
  TYPE_BF16 = 14;
}
message ModelTensorReshape { repeated int64 shape = 1; }
message ModelInput {
  string name = 1;
  DataType data_type = 2;
  repeated int64 dims = 4;
  ModelTensorReshape reshape = 5;
  bool optional = 8;
}
message ModelOutput {
  string name = 1;
  DataType data_type = 2;
  repeated int64 dims = 3;
  ModelTensorReshape reshape = 5;
}
message ModelVersionPolicy {
  message Latest { uint32 num_versions = 1; }
  message All {}
  message Specific { repeated int64 versions = 1; }
  oneof policy_choice {
    Latest latest = 1;
    All all = 2;
    Specific specific = 3;
  }
}
message ModelQueuePolicy {
  enum TimeoutAction {
    REJECT = 0;
    DELAY = 1;
  }
  TimeoutAction timeout_action = 1;
  uint64 default_timeout_microseconds = 2;
  bool allow_timeout_override = 3;
  uint32 max_queue_size = 4;
}
message ModelDynamicBatching {
  repeated int32 preferred_batch_size = 1;
  uint64 max_queue_delay_microseconds = 2;
  bool preserve_ordering = 3;
  uint32 priority_levels = 4;
  uint32 default_priority_level = 5;
  ModelQueuePolicy default_queue_policy = 6;
}
message ModelInstanceGroup {
  enum Kind {
    KIND_AUTO = 0;
    KIND_GPU = 1;
    KIND_CPU = 2;
    KIND_MODEL = 3;
  }
  string name = 1;
  int32 count = 2;
  repeated int32 gpus = 3;
  Kind kind = 4;
}
message ModelParameter { string string_value = 1; }
message ModelConfig {
  string name = 1;
  string platform = 2;
  ModelVersionPolicy version_policy = 3;
  int32 max_batch_size = 4;
  repeated ModelInput input = 5;
  repeated ModelOutput output = 6;
  repeated ModelInstanceGroup instance_group = 7;
  string default_model_filename = 8;
  ModelDynamicBatching dynamic_batching = 11;
  map<string, ModelParameter> parameters = 14;
  string backend = 17;
}
`;

/**
 * The standard gRPC health service (grpc/grpc-proto, grpc/health/v1/health.proto), which
 * Kubernetes gRPC probes and grpc_health_probe call.
 */
export const HEALTH_PROTO = `
syntax = "proto3";
package grpc.health.v1;

message HealthCheckRequest { string service = 1; }
message HealthCheckResponse {
  enum ServingStatus {
    UNKNOWN = 0;
    SERVING = 1;
    NOT_SERVING = 2;
    SERVICE_UNKNOWN = 3;
  }
  ServingStatus status = 1;
}
message HealthListRequest {}
message HealthListResponse { map<string, HealthCheckResponse> statuses = 1; }

service Health {
  rpc Check(HealthCheckRequest) returns (HealthCheckResponse);
  rpc Watch(HealthCheckRequest) returns (stream HealthCheckResponse);
  rpc List(HealthListRequest) returns (HealthListResponse);
}
`;

/**
 * gRPC server reflection (grpc/grpc-proto, grpc/reflection/v1/reflection.proto), which grpcurl,
 * Postman and Evans use to discover services; `v1alpha` has the same messages in another
 * package, and older clients ask for it.
 */
export function reflectionProto(version: 'v1' | 'v1alpha'): string {
  return `
syntax = "proto3";
package grpc.reflection.${version};

message ServerReflectionRequest {
  string host = 1;
  oneof message_request {
    string file_by_filename = 3;
    string file_containing_symbol = 4;
    ExtensionRequest file_containing_extension = 5;
    string all_extension_numbers_of_type = 6;
    string list_services = 7;
  }
}
message ExtensionRequest {
  string containing_type = 1;
  int32 extension_number = 2;
}
message ServerReflectionResponse {
  string valid_host = 1;
  ServerReflectionRequest original_request = 2;
  oneof message_response {
    FileDescriptorResponse file_descriptor_response = 4;
    ExtensionNumberResponse all_extension_numbers_response = 5;
    ListServiceResponse list_services_response = 6;
    ErrorResponse error_response = 7;
  }
}
message FileDescriptorResponse { repeated bytes file_descriptor_proto = 1; }
message ExtensionNumberResponse {
  string base_type_name = 1;
  repeated int32 extension_number = 2;
}
message ListServiceResponse { repeated ServiceResponse service = 1; }
message ServiceResponse { string name = 1; }
message ErrorResponse {
  int32 error_code = 1;
  string error_message = 2;
}

service ServerReflection {
  rpc ServerReflectionInfo(stream ServerReflectionRequest) returns (stream ServerReflectionResponse);
}
`;
}

/** The parsed schema; field names as in the .proto (snake_case), int64 as Long on decode. */
export const inferenceRoot: protobuf.Root = protobuf.parse(INFERENCE_PROTO, { keepCase: true }).root;
export const healthRoot: protobuf.Root = protobuf.parse(HEALTH_PROTO, { keepCase: true }).root;

export const INFERENCE_SERVICE = 'inference.GRPCInferenceService';
export const HEALTH_SERVICE = 'grpc.health.v1.Health';

/** One RPC with its codecs, in the shape @grpc/grpc-js takes as a service definition entry. */
export interface GrpcMethod {
  readonly path: string;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
  readonly requestSerialize: (value: unknown) => Buffer;
  readonly requestDeserialize: (bytes: Buffer) => unknown;
  readonly responseSerialize: (value: unknown) => Buffer;
  readonly responseDeserialize: (bytes: Buffer) => unknown;
}

const asBuffer = (bytes: Uint8Array): Buffer =>
  Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/**
 * Every RPC of the service, encoded and decoded by protobufjs straight from and to buffers:
 * messages decode to objects with the .proto's field names, and bytes fields (such as
 * raw_input_contents) are views of the received message rather than copies.
 */
export function inferenceMethods(): Record<string, GrpcMethod> {
  return methodsOf(inferenceRoot, INFERENCE_SERVICE);
}

/** The methods of grpc.health.v1.Health, with their codecs. */
export function healthMethods(): Record<string, GrpcMethod> {
  return methodsOf(healthRoot, HEALTH_SERVICE);
}

/** The schema and methods of one reflection service version. */
export function reflectionService(version: 'v1' | 'v1alpha'): {
  root: protobuf.Root;
  name: string;
  methods: Record<string, GrpcMethod>;
} {
  const root = protobuf.parse(reflectionProto(version), { keepCase: true }).root;
  const name = `grpc.reflection.${version}.ServerReflection`;
  return { root, name, methods: methodsOf(root, name) };
}

/**
 * A request message that did not decode: what a server's deserializer hands its handler instead
 * of throwing, because grpc-js answers a throwing deserializer with INTERNAL, where the caller
 * sent bad input (INVALID_ARGUMENT).
 */
export class MalformedMessage {
  constructor(
    /** protobufjs's reason, such as "index out of range: 12 + 10 > 12". */
    readonly reason: string,
  ) {}
}

/**
 * The same methods, for a server: a request that does not decode becomes a MalformedMessage for
 * the handler to refuse with INVALID_ARGUMENT.
 *
 * @example
 * server.addService(forServer(inferenceMethods()), handlers);
 */
export function forServer(methods: Record<string, GrpcMethod>): Record<string, GrpcMethod> {
  const out: Record<string, GrpcMethod> = {};
  for (const [name, method] of Object.entries(methods)) {
    const decode = method.requestDeserialize;
    out[name] = {
      ...method,
      requestDeserialize: (bytes) => {
        try {
          return decode(bytes);
        } catch (error) {
          return new MalformedMessage((error as Error).message);
        }
      },
    };
  }
  return out;
}

export function methodsOf(root: protobuf.Root, name: string): Record<string, GrpcMethod> {
  const service = root.lookupService(name);
  const methods: Record<string, GrpcMethod> = {};
  for (const method of service.methodsArray) {
    method.resolve();
    const request = method.resolvedRequestType as protobuf.Type;
    const response = method.resolvedResponseType as protobuf.Type;
    methods[method.name] = {
      path: `/${name}/${method.name}`,
      requestStream: method.requestStream === true,
      responseStream: method.responseStream === true,
      requestSerialize: (value) => asBuffer(request.encode(value as protobuf.Message).finish()),
      requestDeserialize: (bytes) => request.decode(bytes),
      responseSerialize: (value) => asBuffer(response.encode(value as protobuf.Message).finish()),
      responseDeserialize: (bytes) => response.decode(bytes),
    };
  }
  return methods;
}
