/**
 * Triton's `config.pbtxt` (triton-inference-server/common, protobuf/model_config.proto) for ONNX
 * models, mapped onto berth's model config (docs/triton-config.md has the table). Fields that
 * would change what a model computes and berth cannot honour make the config an error naming
 * them; fields that only tune performance on other hardware are ignored with a warning naming
 * them. Nothing is dropped silently.
 */
import { BerthError, type Datatype } from '../ground/index.js';
import { isMessage, isWord, parsePbtxt, type PbtxtMessage, type PbtxtValue } from './pbtxt.js';

export interface TritonConfig {
  /** berth config keys, to be validated like a config.yaml. */
  readonly config: Record<string, unknown>;
  /** Fields that were ignored, by path, each with why. */
  readonly ignored: readonly string[];
}

const DATA_TYPES: Record<string, Datatype> = {
  TYPE_BOOL: 'BOOL',
  TYPE_UINT8: 'UINT8',
  TYPE_UINT16: 'UINT16',
  TYPE_UINT32: 'UINT32',
  TYPE_UINT64: 'UINT64',
  TYPE_INT8: 'INT8',
  TYPE_INT16: 'INT16',
  TYPE_INT32: 'INT32',
  TYPE_INT64: 'INT64',
  TYPE_FP16: 'FP16',
  TYPE_FP32: 'FP32',
  TYPE_FP64: 'FP64',
  TYPE_STRING: 'BYTES',
};

/** Fields that only tune speed or placement: berth runs correctly without them. */
const IGNORED: Record<string, string> = {
  optimization: 'onnxruntime graph optimizations are always on; execution accelerators are not used',
  response_cache: 'berth has no response cache',
  metric_tags: 'berth metrics carry model and version labels only',
  model_repository_agents: 'berth has no repository agents',
  cc_model_filenames: 'no per-GPU model files (CPU, or CUDA through execution)',
  model_operations: 'custom operator libraries are not loaded',
  model_transaction_policy: 'only non-decoupled models are served',
};

/** Fields that change what a model computes or how it is fed: berth refuses rather than guess. */
const UNSUPPORTED: Record<string, string> = {
  sequence_batching: 'stateful sequence batching is not supported',
  ensemble_scheduling: 'ensembles are not supported',
  batch_input: 'batch inputs are not supported',
  batch_output: 'batch outputs are not supported',
};

class Mapper {
  readonly ignored: string[] = [];
  constructor(private readonly where: string) {}

  error(path: string, message: string): BerthError {
    return new BerthError('BERTH_ERR_REPOSITORY_INVALID_CONFIG', `${this.where}: ${path}: ${message}`);
  }

  /** The one value of a non-repeated field, or undefined. */
  one(message: PbtxtMessage, field: string, path: string): PbtxtValue | undefined {
    const values = message.get(field);
    if (values === undefined || values.length === 0) return undefined;
    if (values.length > 1) throw this.error(`${path}${field}`, 'given more than once');
    return values[0];
  }

  string(message: PbtxtMessage, field: string, path: string): string | undefined {
    const value = this.one(message, field, path);
    if (value === undefined) return undefined;
    if (typeof value !== 'string') throw this.error(`${path}${field}`, 'expected a quoted string');
    return value;
  }

  integer(message: PbtxtMessage, field: string, path: string): number | undefined {
    const value = this.one(message, field, path);
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isSafeInteger(value))
      throw this.error(`${path}${field}`, 'expected an integer');
    return value;
  }

  integers(message: PbtxtMessage, field: string, path: string): number[] | undefined {
    const values = message.get(field);
    if (values === undefined) return undefined;
    return values.map((v) => {
      if (typeof v !== 'number' || !Number.isSafeInteger(v))
        throw this.error(`${path}${field}`, 'expected integers');
      return v;
    });
  }

  bool(message: PbtxtMessage, field: string, path: string): boolean | undefined {
    const value = this.one(message, field, path);
    if (value === undefined) return undefined;
    if (isWord(value) && (value.word === 'true' || value.word === 'false')) return value.word === 'true';
    if (value === 1 || value === 0) return value === 1;
    throw this.error(`${path}${field}`, 'expected true or false');
  }

  word(message: PbtxtMessage, field: string, path: string): string | undefined {
    const value = this.one(message, field, path);
    if (value === undefined) return undefined;
    if (!isWord(value)) throw this.error(`${path}${field}`, 'expected an enum name');
    return value.word;
  }

  messages(message: PbtxtMessage, field: string, path: string): PbtxtMessage[] {
    return (message.get(field) ?? []).map((v) => {
      if (!isMessage(v)) throw this.error(`${path}${field}`, 'expected a message in { }');
      return v;
    });
  }

  /** Refuses fields other than `known` in a message. */
  only(
    message: PbtxtMessage,
    known: readonly string[],
    path: string,
    ignorable: Record<string, string> = {},
  ): void {
    for (const field of message.keys()) {
      if (known.includes(field)) continue;
      const why = ignorable[field];
      if (why !== undefined) {
        this.ignored.push(`${path}${field} (${why})`);
        continue;
      }
      throw this.error(`${path}${field}`, 'not a field berth supports here');
    }
  }

  datatype(message: PbtxtMessage, path: string): Datatype | undefined {
    const word = this.word(message, 'data_type', path);
    if (word === undefined) return undefined;
    const datatype = DATA_TYPES[word];
    if (datatype === undefined)
      throw this.error(`${path}data_type`, `${word} is not supported by the ONNX backend`);
    return datatype;
  }
}

function tensors(m: Mapper, config: PbtxtMessage, field: 'input' | 'output'): Record<string, unknown>[] {
  return m.messages(config, field, '').map((tensor, i) => {
    const path = `${field}[${i}].`;
    const known = [
      'name',
      'data_type',
      'dims',
      'reshape',
      ...(field === 'input' ? ['format', 'optional'] : []),
    ];
    m.only(tensor, known, path, {
      label_filename: 'classification results carry indices, not labels',
      is_shape_tensor: 'not a shape tensor model',
      allow_ragged_batch: 'ragged batches are not supported; requests of different shapes are not merged',
    });
    const name = m.string(tensor, 'name', path);
    if (name === undefined) throw m.error(`${path}name`, 'required');
    const out: Record<string, unknown> = { name };
    const datatype = m.datatype(tensor, path);
    if (datatype !== undefined) out.datatype = datatype;
    const dims = m.integers(tensor, 'dims', path);
    if (dims !== undefined) out.dims = dims;
    const reshape = m.one(tensor, 'reshape', path);
    if (reshape !== undefined) {
      if (!isMessage(reshape)) throw m.error(`${path}reshape`, 'expected { shape: [...] }');
      m.only(reshape, ['shape'], `${path}reshape.`);
      out.reshape = m.integers(reshape, 'shape', `${path}reshape.`) ?? [];
    }
    if (field === 'input' && m.bool(tensor, 'optional', path) === true) {
      m.ignored.push(`${path}optional (an input is optional when the model lets it be)`);
    }
    const format = field === 'input' ? m.word(tensor, 'format', path) : undefined;
    if (format !== undefined && format !== 'FORMAT_NONE') {
      m.ignored.push(`${path}format (${format} is informational; shapes are used as given)`);
    }
    return out;
  });
}

function batching(m: Mapper, dynamic: PbtxtMessage): Record<string, unknown> {
  const path = 'dynamic_batching.';
  m.only(
    dynamic,
    [
      'preferred_batch_size',
      'max_queue_delay_microseconds',
      'priority_levels',
      'default_priority_level',
      'default_queue_policy',
    ],
    path,
    {
      preserve_ordering: 'each request gets its own response; streams answer in completion order',
      priority_queue_policy: 'one queue policy applies to every priority level',
    },
  );
  const out: Record<string, unknown> = {};
  const preferred = m.integers(dynamic, 'preferred_batch_size', path);
  if (preferred !== undefined) out.preferredBatchSizes = preferred;
  const delay = m.integer(dynamic, 'max_queue_delay_microseconds', path);
  if (delay !== undefined) out.maxQueueDelayMs = delay / 1000;
  const levels = m.integer(dynamic, 'priority_levels', path);
  if (levels !== undefined) out.priorityLevels = levels;
  const level = m.integer(dynamic, 'default_priority_level', path);
  if (level !== undefined && level > 0) out.defaultPriority = level;
  const policy = m.one(dynamic, 'default_queue_policy', path);
  if (policy !== undefined) {
    const policyPath = `${path}default_queue_policy.`;
    if (!isMessage(policy)) throw m.error(policyPath, 'expected a message in { }');
    m.only(
      policy,
      ['max_queue_size', 'default_timeout_microseconds', 'allow_timeout_override', 'timeout_action'],
      policyPath,
    );
    const size = m.integer(policy, 'max_queue_size', policyPath);
    // Triton's 0 means unbounded; berth always bounds its queue, at its largest allowed size.
    if (size !== undefined) out.maxQueueSize = size === 0 ? 1_000_000 : size;
    const timeout = m.integer(policy, 'default_timeout_microseconds', policyPath);
    if (timeout !== undefined) out.timeoutMs = timeout / 1000;
    const action = m.word(policy, 'timeout_action', policyPath);
    if (action === 'DELAY')
      throw m.error(
        `${policyPath}timeout_action`,
        'DELAY is not supported (timed-out requests are rejected)',
      );
    if (m.bool(policy, 'allow_timeout_override', policyPath) === false) {
      m.ignored.push(`${policyPath}allow_timeout_override (requests may always shorten their timeout)`);
    }
  }
  return out;
}

function versionPolicy(m: Mapper, policy: PbtxtMessage): Record<string, unknown> {
  const path = 'version_policy.';
  m.only(policy, ['latest', 'all', 'specific'], path);
  if (policy.size !== 1) throw m.error(path, 'set exactly one of latest, all, specific');
  const latest = m.one(policy, 'latest', path);
  if (isMessage(latest)) {
    m.only(latest, ['num_versions'], `${path}latest.`);
    return { policy: 'latest', count: m.integer(latest, 'num_versions', `${path}latest.`) ?? 1 };
  }
  if (isMessage(m.one(policy, 'all', path))) return { policy: 'all' };
  const specific = m.one(policy, 'specific', path);
  if (isMessage(specific)) {
    m.only(specific, ['versions'], `${path}specific.`);
    return { policy: 'specific', versions: m.integers(specific, 'versions', `${path}specific.`) ?? [] };
  }
  throw m.error(path, 'expected a message in { }');
}

function warmup(m: Mapper, samples: PbtxtMessage[]): Record<string, unknown>[] {
  return samples.map((sample, i) => {
    const path = `model_warmup[${i}].`;
    m.only(sample, ['name', 'batch_size', 'inputs', 'count'], path);
    const inputs: Record<string, unknown> = {};
    for (const [j, entry] of m.messages(sample, 'inputs', path).entries()) {
      const entryPath = `${path}inputs[${j}].`;
      m.only(entry, ['key', 'value'], entryPath);
      const key = m.string(entry, 'key', entryPath);
      const value = m.one(entry, 'value', entryPath);
      if (key === undefined || !isMessage(value))
        throw m.error(entryPath, 'expected { key: "name" value { ... } }');
      const valuePath = `${entryPath}value.`;
      m.only(value, ['data_type', 'dims', 'zero_data', 'random_data', 'input_data_file'], valuePath);
      const input: Record<string, unknown> = {};
      const dims = m.integers(value, 'dims', valuePath);
      if (dims !== undefined) input.dims = dims;
      if (m.bool(value, 'zero_data', valuePath) === true) input.zeroData = true;
      if (m.bool(value, 'random_data', valuePath) === true) input.randomData = true;
      const file = m.string(value, 'input_data_file', valuePath);
      if (file !== undefined) input.dataFile = file;
      inputs[key] = input;
    }
    const out: Record<string, unknown> = { inputs };
    const name = m.string(sample, 'name', path);
    if (name !== undefined) out.name = name;
    const batchSize = m.integer(sample, 'batch_size', path);
    if (batchSize !== undefined && batchSize > 0) out.batchSize = batchSize;
    const count = m.integer(sample, 'count', path);
    if (count !== undefined && count > 0) out.count = count;
    return out;
  });
}

/** ONNX Runtime backend parameters berth understands. */
function parameters(m: Mapper, entries: PbtxtMessage[], threads: Record<string, number>): void {
  for (const [i, entry] of entries.entries()) {
    const path = `parameters[${i}].`;
    m.only(entry, ['key', 'value'], path);
    const key = m.string(entry, 'key', path);
    const value = m.one(entry, 'value', path);
    if (key === undefined || !isMessage(value))
      throw m.error(path, 'expected { key: "name" value { string_value: "..." } }');
    m.only(value, ['string_value'], `${path}value.`);
    const text = m.string(value, 'string_value', `${path}value.`) ?? '';
    if (key === 'intra_op_thread_count' || key === 'inter_op_thread_count') {
      const n = Number(text);
      if (!Number.isSafeInteger(n) || n < 0)
        throw m.error(`${path}value`, `${key} must be a non-negative integer`);
      threads[key === 'intra_op_thread_count' ? 'intraOp' : 'interOp'] = n;
    } else {
      m.ignored.push(`parameters "${key}" (not an onnxruntime setting berth applies)`);
    }
  }
}

/**
 * Maps the text of a config.pbtxt to berth config keys.
 *
 * @example
 * const { config, ignored } = parseTritonConfig(text, 'models/resnet/config.pbtxt');
 */
export function parseTritonConfig(text: string, where: string): TritonConfig {
  return mapTritonConfig(parsePbtxt(text, where), where);
}

/** Maps a parsed Triton ModelConfig (text format, or the repository API's JSON) to berth keys. */
export function mapTritonConfig(config: PbtxtMessage, where: string): TritonConfig {
  const m = new Mapper(where);
  for (const [field, why] of Object.entries(UNSUPPORTED)) {
    if (config.has(field)) throw m.error(field, why);
  }
  m.only(
    config,
    [
      'name',
      'platform',
      'backend',
      'runtime',
      'max_batch_size',
      'input',
      'output',
      'dynamic_batching',
      'instance_group',
      'version_policy',
      'default_model_filename',
      'parameters',
      'model_warmup',
    ],
    '',
    IGNORED,
  );
  const out: Record<string, unknown> = {};
  const name = m.string(config, 'name', '');
  if (name !== undefined) out.name = name;
  const platform = m.string(config, 'platform', '');
  const backend = m.string(config, 'backend', '');
  if (platform !== undefined && platform !== 'onnxruntime_onnx') {
    throw m.error('platform', `"${platform}" is not served by berth; only onnxruntime_onnx`);
  }
  if (backend !== undefined && backend !== 'onnxruntime') {
    throw m.error('backend', `"${backend}" is not served by berth; only onnxruntime`);
  }
  const maxBatchSize = m.integer(config, 'max_batch_size', '');
  if (maxBatchSize !== undefined) out.maxBatchSize = maxBatchSize;
  if (config.has('input')) out.inputs = tensors(m, config, 'input');
  if (config.has('output')) out.outputs = tensors(m, config, 'output');
  const dynamic = m.one(config, 'dynamic_batching', '');
  if (dynamic !== undefined) {
    if (!isMessage(dynamic)) throw m.error('dynamic_batching', 'expected a message in { }');
    out.batching = batching(m, dynamic);
  }
  const groups = m.messages(config, 'instance_group', '');
  if (groups.length > 0) {
    let instances = 0;
    let gpu = false;
    for (const [i, group] of groups.entries()) {
      const path = `instance_group[${i}].`;
      m.only(group, ['name', 'count', 'kind', 'gpus'], path, {
        rate_limiter: 'no rate limiter between instances',
        host_policy: 'no host policies',
        profile: 'no TensorRT profiles',
        passive: 'every instance takes requests',
        secondary_devices: 'no secondary devices',
      });
      instances += m.integer(group, 'count', path) ?? 1;
      const kind = m.word(group, 'kind', path) ?? 'KIND_AUTO';
      if (kind === 'KIND_GPU') gpu = true;
      else if (kind !== 'KIND_CPU' && kind !== 'KIND_AUTO')
        throw m.error(`${path}kind`, `${kind} is not supported`);
      if (m.integers(group, 'gpus', path) !== undefined)
        m.ignored.push(`${path}gpus (onnxruntime picks the device)`);
    }
    out.instances = instances;
    if (gpu) out.execution = 'cuda';
  }
  const policy = m.one(config, 'version_policy', '');
  if (policy !== undefined) {
    if (!isMessage(policy)) throw m.error('version_policy', 'expected a message in { }');
    out.versions = versionPolicy(m, policy);
  }
  const filename = m.string(config, 'default_model_filename', '');
  if (filename !== undefined && filename !== '') out.defaultModelFilename = filename;
  const threads: Record<string, number> = {};
  parameters(m, m.messages(config, 'parameters', ''), threads);
  if (Object.keys(threads).length > 0) out.threads = threads;
  if (config.has('model_warmup')) out.warmup = warmup(m, m.messages(config, 'model_warmup', ''));
  if (config.has('runtime')) m.ignored.push('runtime (berth runs onnxruntime itself)');
  return { config: out, ignored: m.ignored };
}

/** JSON (a Triton ModelConfig in JSON, as the repository API's "config" carries) as text-format fields. */
export function pbtxtFromJson(value: unknown, where: string): PbtxtMessage {
  const convert = (v: unknown, path: string, depth: number): PbtxtValue[] => {
    if (depth > 32)
      throw new BerthError('BERTH_ERR_REPOSITORY_INVALID_CONFIG', `${where}: nested too deeply`);
    if (Array.isArray(v)) return v.flatMap((item) => convert(item, path, depth + 1));
    if (typeof v === 'string')
      return [/^(TYPE|KIND|FORMAT)_[A-Z0-9_]+$|^(REJECT|DELAY)$/.test(v) ? { word: v } : v];
    if (typeof v === 'number') return [v];
    if (typeof v === 'boolean') return [{ word: String(v) }];
    if (typeof v === 'object' && v !== null) {
      const message: PbtxtMessage = new Map();
      for (const [key, inner] of Object.entries(v)) {
        // JSON maps (parameters, warm-up inputs) become the { key value } entries of text format.
        if (
          (key === 'parameters' || key === 'inputs') &&
          typeof inner === 'object' &&
          inner !== null &&
          !Array.isArray(inner)
        ) {
          message.set(
            key,
            Object.entries(inner as Record<string, unknown>).map(
              ([k, item]) =>
                new Map<string, PbtxtValue[]>([
                  ['key', [k]],
                  ['value', convert(item, `${path}${key}.`, depth + 1)],
                ]),
            ),
          );
          continue;
        }
        // Triton's JSON writes int64 values as strings.
        const values = convert(inner, `${path}${key}.`, depth + 1).map((x) =>
          typeof x === 'string' && /^-?[0-9]+$/.test(x) && key !== 'name' && key !== 'string_value'
            ? Number(x)
            : x,
        );
        message.set(key, values);
      }
      return [message];
    }
    throw new BerthError(
      'BERTH_ERR_REPOSITORY_INVALID_CONFIG',
      `${where}: ${path || 'config'}: unexpected ${String(v)}`,
    );
  };
  const [root] = convert(value, '', 0);
  if (!isMessage(root))
    throw new BerthError('BERTH_ERR_REPOSITORY_INVALID_CONFIG', `${where}: must be a JSON object`);
  return root;
}
