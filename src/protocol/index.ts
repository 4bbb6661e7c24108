/**
 * The Open Inference Protocol v2: types, tensor codecs (JSON and Triton binary), request
 * validation, the gRPC schema and message mapping, over the ground's errors and types. Pure: no
 * I/O; its one dependency is protobufjs, for the gRPC schema.
 */
// The ground (errors, statuses, tensor types) is re-exported, so protocol's users need one import.
export * from '../ground/index.js';
export { decodeJsonData, encodeJsonData } from './json-data.js';
export { decodeBinaryData, encodeBinaryData } from './binary-data.js';
export {
  INFERENCE_HEADER_CONTENT_LENGTH,
  parseHeaderLength,
  parseJsonBytes,
  splitRestBody,
} from './rest-body.js';
export {
  decodeRawInferRequest,
  decodeRestInferRequest,
  encodeRestInferRequest,
  type DecodedRestRequest,
  type EncodeRequestOptions,
  type OutputEncoding,
} from './rest-infer-request.js';
export {
  decodeRestInferResponse,
  encodeRestInferResponse,
  type EncodedRestResponse,
} from './rest-infer-response.js';
export { validateInferRequest, type ValidateOptions } from './infer-validate.js';
export { classificationCount, classify } from './classification.js';
export { isObject } from './rest-fields.js';
export { protobufStringField } from './protobuf-field.js';
export { addReflection, REFLECTED_FILES, type ReflectedFile, type ServiceHost } from './grpc-reflection.js';
export {
  decodeGrpcInferRequest,
  decodeGrpcInferResponse,
  encodeGrpcInferRequest,
  encodeGrpcInferResponse,
  type GrpcInferRequestMessage,
  type GrpcInferResponseMessage,
  type GrpcTensorMessage,
} from './grpc-infer.js';
export {
  bigIntOf,
  parameterValueOf,
  parametersOf,
  safeIntegerOf,
  type GrpcParameter,
  type GrpcTensorContents,
  type Int64Value,
} from './grpc-values.js';
export {
  HEALTH_PROTO,
  HEALTH_SERVICE,
  healthMethods,
  healthRoot,
  INFERENCE_PROTO,
  INFERENCE_SERVICE,
  forServer,
  inferenceMethods,
  inferenceRoot,
  MalformedMessage,
  methodsOf,
  reflectionProto,
  reflectionService,
  type GrpcMethod,
} from './grpc-schema.js';
export type {
  AnswerFields,
  CallContext,
  Credentials,
  InferCall,
  InferPayload,
  InputOf,
  ModelFilter,
  ModelRef,
  NoInput,
  OipService,
  OperationName,
  OutputOf,
  Principal,
  RepositoryCall,
  RepositoryParameters,
  StreamOutcome,
  TraceContext,
  Transport,
  TritonModelConfig,
  UnaryOperation,
} from './oip-service.js';
export { TRANSPORTS } from './oip-service.js';
export { compose, inferEach, intercept, type Call, type Interceptor, type Next } from './oip-intercept.js';
export {
  OPERATION_ADDRESSES,
  ROLES,
  type HttpRoute,
  type OperationAddress,
  type Role,
} from './oip-addresses.js';
