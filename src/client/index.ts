/**
 * `berth-ml/client`: typed Open Inference Protocol v2 clients, REST and gRPC, with one API.
 *
 * @example
 * import { createClient } from 'berth-ml/client';
 * const client = createClient({ url: 'http://127.0.0.1:8000' });
 * const { outputs } = await client.infer('iris', [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: [5.1, 3.5, 1.4, 0.2] }]);
 */
export { createClient, OipRestClient, outputOf, type ClientOptions } from './rest-client.js';
export { OipGrpcClient, type GrpcClientOptions } from './grpc-client.js';
export type { InferInputInit, InferOptions, OipClient } from './oip-client.js';
export { toTensorData, type TensorValues } from './tensor-input.js';
export { reasonUnreachable, unreachable } from './unreachable.js';
export {
  BerthError,
  halfToNumber,
  numberToHalf,
  type Datatype,
  type InferResponse,
  type ModelIndexEntry,
  type ModelMetadata,
  type ServerMetadata,
  type Tensor,
  type TensorData,
} from '../protocol/index.js';
