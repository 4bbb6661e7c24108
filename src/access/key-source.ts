/**
 * Where a server's keys come from: a secret reference (a key file, or an environment variable
 * holding one). A file is looked at every second and its keys replace the old ones when it
 * changes (`berth keys create` or `revoke` on a running server), without a restart; a file that
 * turns invalid is logged and the keys the server had stay in force.
 */
import type { Logger } from '../observability/index.js';
import { toBerthError } from '../ground/index.js';
import { parseKeyFile } from './key-file.js';
import { ApiKeyStore } from './key-store.js';
import { describeSecretRef, resolveSecret, type SecretRef } from './secret-ref.js';
import { watchForChanges } from './file-watch.js';

export interface LoadedKeys {
  readonly store: ApiKeyStore;
  /** Stops watching the file. */
  close(): void;
}

/**
 * @example
 * const keys = await loadKeys(parseSecretRef('/etc/berth/keys.json', true), logger);
 * ...
 * keys.close();
 */
export async function loadKeys(
  ref: SecretRef,
  logger: Logger,
  now: () => number = Date.now,
): Promise<LoadedKeys> {
  const where = describeSecretRef(ref);
  const store = new ApiKeyStore(parseKeyFile(await resolveSecret(ref), where), now);
  if (ref.kind !== 'file') return { store, close: () => undefined };
  const path = ref.path;
  const close = watchForChanges([path], async () => {
    try {
      store.replace(parseKeyFile(await resolveSecret(ref), where));
      logger.info({ keys: store.size, file: path }, 'API keys reloaded');
    } catch (error) {
      const berth = toBerthError(error);
      logger.warn(
        { code: berth.code, file: path },
        `API keys not reloaded, the previous ones stay: ${berth.message}`,
      );
    }
  });
  return { store, close };
}
