/**
 * The config a repository load request may carry (Triton's `config` parameter: the model
 * configuration as JSON). Triton's own clients send Triton's ModelConfig JSON (`max_batch_size`,
 * `dynamic_batching`, ...), which is mapped like a config.pbtxt; an object using only berth's
 * config.yaml keys is taken as such.
 */
import { BerthError } from '../ground/index.js';
import { modelConfigSchema, toModelConfig, type ModelConfig } from './model-config.js';
import { mapTritonConfig, pbtxtFromJson } from './triton-config.js';

const BERTH_KEYS = new Set(Object.keys(modelConfigSchema.shape));

/**
 * @example
 * parseConfigOverride('{"max_batch_size": 8}', 'load "fraud"'); // { maxBatchSize: 8, ... }
 */
export function parseConfigOverride(
  text: string,
  where: string,
): { config: ModelConfig; ignored: readonly string[] } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new BerthError(
      'BERTH_ERR_REPOSITORY_INVALID_CONFIG',
      `${where}: the "config" parameter is not valid JSON: ${(error as Error).message}`,
    );
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new BerthError(
      'BERTH_ERR_REPOSITORY_INVALID_CONFIG',
      `${where}: the "config" parameter must be a JSON object`,
    );
  }
  const keys = Object.keys(raw);
  if (keys.every((key) => BERTH_KEYS.has(key))) return { config: toModelConfig(raw, where), ignored: [] };
  const { config, ignored } = mapTritonConfig(pbtxtFromJson(raw, where), where);
  return { config: toModelConfig(config, where), ignored };
}
