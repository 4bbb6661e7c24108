/**
 * Triton's model repository extension, as the engine answers it on every transport: load (with
 * an optional `config` parameter) and unload (with Triton's `unload_dependents`, which has no
 * effect since berth serves no ensembles). Other parameters are refused by name.
 */
import { BerthError } from '../ground/index.js';
import type { RepositoryParameters } from '../protocol/index.js';
import type { Logger } from '../observability/index.js';
import { parseConfigOverride } from '../repository/index.js';
import type { ModelControl } from './model-control.js';

function invalid(message: string): BerthError {
  return new BerthError('BERTH_ERR_PROTOCOL_INVALID_REQUEST', message);
}

/** POST /v2/repository/models/{m}/load, gRPC RepositoryModelLoad. */
export async function loadModel(
  control: ModelControl,
  logger: Logger,
  name: string,
  parameters: RepositoryParameters,
): Promise<void> {
  let override;
  for (const [key, value] of Object.entries(parameters)) {
    if (key === 'config') {
      if (typeof value !== 'string')
        throw invalid('parameter "config" must be a string holding the model config as JSON');
      const parsed = parseConfigOverride(value, `load "${name}": config`);
      for (const field of parsed.ignored)
        logger.warn({ model: name }, `load "${name}": config: ignored ${field}`);
      override = parsed.config;
    } else if (key.startsWith('file:')) {
      throw invalid(
        `parameter "${key}": loading model files sent in the request is not supported; put them in the repository`,
      );
    } else {
      throw invalid(`parameter "${key}" is not a load parameter; only "config" is`);
    }
  }
  await control.load(name, override);
}

/** POST /v2/repository/models/{m}/unload, gRPC RepositoryModelUnload. */
export async function unloadModel(
  control: ModelControl,
  name: string,
  parameters: RepositoryParameters,
): Promise<void> {
  for (const [key, value] of Object.entries(parameters)) {
    if (key !== 'unload_dependents')
      throw invalid(`parameter "${key}" is not an unload parameter; only "unload_dependents" is`);
    if (typeof value !== 'boolean') throw invalid('parameter "unload_dependents" must be true or false');
  }
  await control.unload(name);
}
