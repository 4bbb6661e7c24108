/**
 * The serve section's secrets in a pod. berth never writes a secret's value into a manifest: each
 * setting that names a secret (the API key file, the TLS key, a Redis URL given as `env:` or
 * `file:`; a Redis URL always, since it may carry a password) becomes a file of one Secret, mounted read-only, and the pod's berth.yaml points at
 * that file. Where the files come from is the provider's business: a Secret the operator creates
 * by name, one that External Secrets fills from a store, or files Vault Agent Injector writes.
 * berth reloads key files and certificates when they change, so a rotation needs no restart.
 */
import type { KubernetesSpec, ServeSpec } from '../spec/index.js';

/** Where the Secret is mounted, and where Vault Agent writes its files. */
export const SECRET_DIR = '/var/run/secrets/berth';
export const VAULT_DIR = '/vault/secrets';

export interface PodSecrets {
  /** The serve section as the pod reads it: every secret a file path, paths the pod's own. */
  readonly serve: ServeSpec | undefined;
  /** The Secret's keys (file names) the pod needs, in order; empty when none. */
  readonly keys: readonly string[];
  /** Each key and the serve setting it holds, for the docs and the render summary. */
  readonly settings: Readonly<Record<string, string>>;
}

const isUrl = (value: string) => /^https?:\/\//.test(value);

/**
 * The pod's serve section and the Secret keys it reads.
 *
 * @example
 * podSecrets({ auth: { apiKeys: 'keys.json' } }, 'secret'); // keys: ['api-keys.json']
 */
export function podSecrets(
  serve: ServeSpec | undefined,
  provider: KubernetesSpec['secrets']['provider'],
  dir = provider === 'vault' ? VAULT_DIR : SECRET_DIR,
): PodSecrets {
  if (serve === undefined) return { serve: undefined, keys: [], settings: {} };
  const keys: string[] = [];
  const settings: Record<string, string> = {};
  const file = (key: string, setting: string) => {
    keys.push(key);
    settings[key] = setting;
    return `${dir}/${key}`;
  };
  const { auth, limits, tls } = serve;
  const jwks = auth?.jwt?.jwks;
  const redis = limits?.redis;
  const pod: ServeSpec = {
    ...serve,
    ...(auth === undefined
      ? {}
      : {
          auth: {
            ...auth,
            ...(auth.apiKeys === undefined ? {} : { apiKeys: file('api-keys.json', 'serve.auth.apiKeys') }),
            ...(auth.jwt === undefined || jwks === undefined
              ? {}
              : {
                  jwt: { ...auth.jwt, jwks: isUrl(jwks) ? jwks : file('jwks.json', 'serve.auth.jwt.jwks') },
                }),
          },
        }),
    ...(limits === undefined
      ? {}
      : {
          limits: {
            ...limits,
            // Always a secret: a URL may carry a password.
            ...(redis === undefined ? {} : { redis: `file:${file('redis-url', 'serve.limits.redis')}` }),
          },
        }),
    ...(tls === undefined
      ? {}
      : {
          tls: {
            ...tls,
            cert: file('tls.crt', 'serve.tls.cert'),
            key: file('tls.key', 'serve.tls.key'),
            ...(tls.clientCa === undefined ? {} : { clientCa: file('ca.crt', 'serve.tls.clientCa') }),
          },
        }),
    // The root filesystem is read-only: the audit log goes to the container's output, beside the logs.
    ...(serve.auditLog === undefined ? {} : { auditLog: '/dev/stdout' }),
  };
  return { serve: pod, keys, settings };
}
