/**
 * A served model version's configuration in Triton's ModelConfig shape (model_config.proto, as
 * JSON with its field names), for `GET /v2/models/{m}/config` and the gRPC ModelConfig RPC that
 * Triton clients (`get_model_config`) call. It describes what berth actually serves: the
 * signature after config overrides, and berth's batching and instance settings.
 */
import type { Datatype, TensorSpec } from '../ground/index.js';
import type { ReadyModel } from '../runtime/index.js';

const TYPE_OF: Record<Datatype, string> = {
  BOOL: 'TYPE_BOOL',
  UINT8: 'TYPE_UINT8',
  UINT16: 'TYPE_UINT16',
  UINT32: 'TYPE_UINT32',
  UINT64: 'TYPE_UINT64',
  INT8: 'TYPE_INT8',
  INT16: 'TYPE_INT16',
  INT32: 'TYPE_INT32',
  INT64: 'TYPE_INT64',
  FP16: 'TYPE_FP16',
  FP32: 'TYPE_FP32',
  FP64: 'TYPE_FP64',
  BYTES: 'TYPE_STRING',
};

/**
 * @example
 * tritonModelConfig(registry.resolve('resnet')).max_batch_size; // 8
 */
export function tritonModelConfig(model: ReadyModel): Record<string, unknown> {
  const { config } = model;
  const batching = config.maxBatchSize > 0;
  const tensor = (spec: TensorSpec) => {
    const reshape = [...(config.inputs ?? []), ...(config.outputs ?? [])].find(
      (o) => o.name === spec.name && o.reshape !== undefined,
    )?.reshape;
    return {
      name: spec.name,
      data_type: TYPE_OF[spec.datatype],
      dims: batching ? spec.shape.slice(1) : [...spec.shape],
      ...(reshape === undefined ? {} : { reshape: { shape: reshape } }),
    };
  };
  const policy = config.versions;
  const out: Record<string, unknown> = {
    name: model.name,
    platform: model.platform,
    backend: 'onnxruntime',
    version_policy:
      policy.policy === 'latest'
        ? { latest: { num_versions: policy.count } }
        : policy.policy === 'all'
          ? { all: {} }
          : { specific: { versions: policy.versions } },
    max_batch_size: config.maxBatchSize,
    input: model.signature.inputs.map(tensor),
    output: model.signature.outputs.map(tensor),
    instance_group: [
      {
        name: model.name,
        kind: config.execution === 'cuda' ? 'KIND_GPU' : 'KIND_CPU',
        count: model.instances.length,
      },
    ],
    default_model_filename: config.defaultModelFilename,
    parameters: {
      ...(config.threads?.intraOp === undefined
        ? {}
        : { intra_op_thread_count: { string_value: String(config.threads.intraOp) } }),
      ...(config.threads?.interOp === undefined
        ? {}
        : { inter_op_thread_count: { string_value: String(config.threads.interOp) } }),
    },
  };
  if (batching) {
    const b = config.batching;
    out.dynamic_batching = {
      preferred_batch_size: b.preferredBatchSizes,
      max_queue_delay_microseconds: Math.round(b.maxQueueDelayMs * 1000),
      priority_levels: b.priorityLevels,
      default_priority_level: b.priorityLevels > 0 ? b.defaultPriority : 0,
      default_queue_policy: {
        timeout_action: 'REJECT',
        default_timeout_microseconds: Math.round(b.timeoutMs * 1000),
        allow_timeout_override: true,
        max_queue_size: b.maxQueueSize,
      },
    };
  }
  return out;
}
