/**
 * `secrets.provider: external-secrets`: an ExternalSecret that makes the Secret the pods mount,
 * one key per file, each read from the store's `remoteKey` (the property of the same name), and
 * refreshed hourly (berth reloads the files when they change).
 */
import type { IExternalSecret } from './objects.js';
import type { RenderContext } from './render-context.js';

export function externalSecret(ctx: RenderContext, keys: readonly string[]): IExternalSecret {
  const { store, remoteKey } = ctx.kube.secrets;
  return {
    apiVersion: 'external-secrets.io/v1',
    kind: 'ExternalSecret',
    metadata: ctx.meta(ctx.secretName),
    spec: {
      refreshInterval: '1h',
      secretStoreRef: { name: store?.name ?? '', kind: store?.kind ?? 'ClusterSecretStore' },
      target: { name: ctx.secretName, creationPolicy: 'Owner' },
      data: keys.map((key) => ({ secretKey: key, remoteRef: { key: remoteKey ?? '', property: key } })),
    },
  };
}
