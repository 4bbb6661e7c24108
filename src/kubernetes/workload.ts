/**
 * The pods and what they need: a ServiceAccount with no API token, the ConfigMap holding the
 * pod's berth.yaml, the Deployment (hardened, probed, drained, scheduled, rolled one pod at a
 * time), a PodDisruptionBudget, and the models' PersistentVolumeClaim when they live on a volume.
 *
 * Hardening, on every container (checked by a policy test): user 65532 (distroless's nonroot),
 * read-only root filesystem with an emptyDir at /tmp only, no privilege escalation, every
 * capability dropped, seccomp RuntimeDefault, requests equal to limits.
 */
import { createHash } from 'node:crypto';
import { stringify } from 'yaml';
import type { IIoK8sApiCoreV1Container } from 'kubernetes-models/v1/Container';
import type { IIoK8sApiCoreV1Probe } from 'kubernetes-models/v1/Probe';
import type { IIoK8sApiCoreV1Volume } from 'kubernetes-models/v1/Volume';
import type { IIoK8sApiCoreV1VolumeMount } from 'kubernetes-models/v1/VolumeMount';
import type {
  IConfigMap,
  IDeployment,
  IStatefulSet,
  IPersistentVolumeClaim,
  IPodDisruptionBudget,
  IServiceAccount,
} from './objects.js';
import { SECRET_DIR, VAULT_DIR } from './pod-secrets.js';
import { podsService } from './traffic.js';
import { GRPC_PORT, HTTP_PORT, type RenderContext } from './render-context.js';

export const IMAGE_UID = 65532;
export const CONFIG_DIR = '/etc/berth';
export const MODELS_DIR = '/models';
/** The preStop pause: long enough for endpoints to drop the pod before berth starts to drain. */
export const PRE_STOP_SECONDS = 5;

export function serviceAccount(ctx: RenderContext): IServiceAccount {
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: ctx.meta(),
    // berth calls no Kubernetes API: no token in the pods.
    automountServiceAccountToken: false,
  };
}

/** The pod's berth.yaml: its name and serve section, with secrets as mounted files. */
export function podSpecFile(ctx: RenderContext): string {
  const { serve } = ctx.secrets;
  return stringify({ name: ctx.name, ...(serve === undefined ? {} : { serve }) }, { lineWidth: 0 });
}

export function configMap(ctx: RenderContext): IConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: ctx.meta(`${ctx.name}-config`),
    data: { 'berth.yaml': podSpecFile(ctx) },
  };
}

export function modelsClaim(ctx: RenderContext): IPersistentVolumeClaim | undefined {
  const models = ctx.kube.models;
  if (models.source !== 'volume' || models.claim !== undefined) return undefined;
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: ctx.meta(`${ctx.name}-models`),
    spec: {
      accessModes: [models.accessMode],
      resources: { requests: { storage: models.size } },
      ...(models.storageClass === undefined ? {} : { storageClassName: models.storageClass }),
    },
  };
}

function probes(
  ctx: RenderContext,
): Pick<IIoK8sApiCoreV1Container, 'startupProbe' | 'readinessProbe' | 'livenessProbe'> {
  const scheme = ctx.tls ? 'HTTPS' : 'HTTP';
  const http = (path: string) => ({ httpGet: { path, port: 'http', scheme } as const });
  // grpc.health.v1 with the empty service: the server's readiness, as berth serve answers it.
  const grpc = { grpc: { port: GRPC_PORT, service: '' } };
  const live = ctx.kube.probes === 'grpc' ? grpc : http('/v2/health/live');
  const ready = ctx.kube.probes === 'grpc' ? grpc : http('/v2/health/ready');
  const probe = (handler: object, rest: IIoK8sApiCoreV1Probe): IIoK8sApiCoreV1Probe => ({
    ...handler,
    ...rest,
  });
  return {
    // Model loading may take minutes: liveness starts only once the server is ready.
    startupProbe: probe(ready, { periodSeconds: 2, timeoutSeconds: 3, failureThreshold: 300 }),
    readinessProbe: probe(ready, { periodSeconds: 5, timeoutSeconds: 3, failureThreshold: 2 }),
    livenessProbe: probe(live, { periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 3 }),
  };
}

/** How every berth process of a pod listens, logs and drains: all interfaces, berth's ports, JSON. */
export function listenArgs(drainTimeoutMs: number): string[] {
  return [
    '--host',
    '0.0.0.0',
    '--port',
    String(HTTP_PORT),
    '--grpc-port',
    String(GRPC_PORT),
    '--log-format',
    'json',
    '--drain-timeout',
    `${Math.ceil(drainTimeoutMs / 1000)}s`,
  ];
}

/** `berth serve` as a pod or task runs it: the models (if any), its berth.yaml, every interface. */
export function serveArgs(configFile: string, hasModels: boolean, drainTimeoutMs: number): string[] {
  return ['serve', ...(hasModels ? [MODELS_DIR] : []), '-f', configFile, ...listenArgs(drainTimeoutMs)];
}

/** The Secret's files the pod reads, read-only at SECRET_DIR; none with Vault (its agent writes them). */
export function secretVolume(
  ctx: RenderContext,
): { volume: IIoK8sApiCoreV1Volume; mount: IIoK8sApiCoreV1VolumeMount } | undefined {
  const { keys } = ctx.secrets;
  if (keys.length === 0 || ctx.kube.secrets.provider === 'vault') return undefined;
  return {
    volume: {
      name: 'secrets',
      secret: {
        secretName: ctx.secretName,
        defaultMode: 0o440,
        items: keys.map((key) => ({ key, path: key })),
      },
    },
    mount: { name: 'secrets', mountPath: SECRET_DIR, readOnly: true },
  };
}

function volumes(ctx: RenderContext): {
  volumes: IIoK8sApiCoreV1Volume[];
  mounts: IIoK8sApiCoreV1VolumeMount[];
} {
  const volumes: IIoK8sApiCoreV1Volume[] = [
    { name: 'tmp', emptyDir: { sizeLimit: '256Mi' } },
    { name: 'config', configMap: { name: `${ctx.name}-config` } },
  ];
  const mounts: IIoK8sApiCoreV1VolumeMount[] = [
    { name: 'tmp', mountPath: '/tmp' },
    { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
  ];
  const secret = secretVolume(ctx);
  if (secret !== undefined) {
    volumes.push(secret.volume);
    mounts.push(secret.mount);
  }
  const { models } = ctx.kube;
  if (models.source === 'volume') {
    volumes.push({
      name: 'models',
      persistentVolumeClaim: { claimName: models.claim ?? `${ctx.name}-models`, readOnly: true },
    });
    mounts.push({ name: 'models', mountPath: MODELS_DIR, readOnly: true });
  }
  if (models.source === 'oci') {
    // With cache, the StatefulSet's claim template provides the `models` volume.
    if (!models.cache) volumes.push({ name: 'models', emptyDir: { sizeLimit: models.size } });
    if (models.pullSecret !== undefined)
      volumes.push({
        name: 'registry',
        secret: {
          secretName: models.pullSecret,
          defaultMode: 0o440,
          items: [{ key: '.dockerconfigjson', path: 'config.json' }],
        },
      });
    mounts.push({ name: 'models', mountPath: MODELS_DIR, readOnly: true });
  }
  return { volumes, mounts };
}

/** Vault Agent Injector's annotations: one file per key, from the secret at remoteKey. */
export function vaultAnnotations(ctx: RenderContext): Record<string, string> {
  const { secrets } = ctx.kube;
  const { keys } = ctx.secrets;
  if (secrets.provider !== 'vault' || keys.length === 0) return {};
  const path = secrets.remoteKey as string;
  const annotations: Record<string, string> = {
    'vault.hashicorp.com/agent-inject': 'true',
    'vault.hashicorp.com/role': secrets.vaultRole as string,
    'vault.hashicorp.com/secret-volume-path': VAULT_DIR,
  };
  for (const key of keys) {
    annotations[`vault.hashicorp.com/agent-inject-secret-${key}`] = path;
    // The one value, not Vault's whole response: a KV v2 secret's data.data[key].
    annotations[`vault.hashicorp.com/agent-inject-template-${key}`] =
      `{{- with secret ${JSON.stringify(path)} -}}{{ index .Data.data ${JSON.stringify(key)} }}{{- end -}}`;
  }
  return annotations;
}

function scheduling(ctx: RenderContext) {
  const { nodeSelector, tolerations, spread } = ctx.kube.scheduling;
  const topologyKey = spread === 'zone' ? 'topology.kubernetes.io/zone' : 'kubernetes.io/hostname';
  return {
    ...(nodeSelector === undefined ? {} : { nodeSelector: { ...nodeSelector } }),
    ...(tolerations === undefined
      ? {}
      : {
          tolerations: tolerations.map(({ key, operator, value, effect, tolerationSeconds }) => ({
            operator,
            ...(key === undefined ? {} : { key }),
            ...(value === undefined ? {} : { value }),
            ...(effect === undefined ? {} : { effect }),
            ...(tolerationSeconds === undefined ? {} : { tolerationSeconds }),
          })),
        }),
    ...(spread === 'none'
      ? {}
      : {
          topologySpreadConstraints: [
            {
              maxSkew: 1,
              topologyKey,
              whenUnsatisfiable: 'ScheduleAnyway' as const,
              labelSelector: { matchLabels: { ...ctx.labels.selector } },
            },
          ],
        }),
  };
}

function resources(ctx: RenderContext): Record<string, string> {
  const { cpu, memory, gpuResource } = ctx.kube.resources;
  return { cpu, memory, ...(ctx.gpus > 0 ? { [gpuResource]: String(ctx.gpus) } : {}) };
}

/** The pod's own security context (with seccomp RuntimeDefault beside it). */
export const POD_SECURITY = {
  runAsNonRoot: true,
  runAsUser: IMAGE_UID,
  runAsGroup: IMAGE_UID,
  fsGroup: IMAGE_UID,
} as const;

export const CONTAINER_SECURITY = {
  runAsNonRoot: true,
  runAsUser: IMAGE_UID,
  runAsGroup: IMAGE_UID,
  allowPrivilegeEscalation: false,
  privileged: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
} as const;

/** Where the init container finds the registry's credentials (DOCKER_CONFIG). */
const REGISTRY_CONFIG_DIR = '/var/run/secrets/berth-registry';

/** models.source oci: `berth models pull` into the models volume before berth starts. */
function modelsInit(ctx: RenderContext): IIoK8sApiCoreV1Container[] {
  const { models } = ctx.kube;
  if (models.source !== 'oci') return [];
  const amount = resources(ctx);
  return [
    {
      name: 'models',
      image: ctx.input.image,
      imagePullPolicy: 'IfNotPresent',
      args: ['models', 'pull', models.image as string, MODELS_DIR],
      env: [
        { name: 'HOME', value: '/tmp' },
        ...(models.pullSecret === undefined ? [] : [{ name: 'DOCKER_CONFIG', value: REGISTRY_CONFIG_DIR }]),
      ],
      resources: { requests: { ...amount }, limits: { ...amount } },
      securityContext: { ...CONTAINER_SECURITY, capabilities: { drop: ['ALL'] } },
      volumeMounts: [
        { name: 'tmp', mountPath: '/tmp' },
        { name: 'models', mountPath: MODELS_DIR },
        ...(models.pullSecret === undefined
          ? []
          : [{ name: 'registry', mountPath: REGISTRY_CONFIG_DIR, readOnly: true }]),
      ],
      terminationMessagePolicy: 'FallbackToLogsOnError',
    },
  ];
}

/** The Deployment, or a StatefulSet when each pod keeps its own models claim. */
export function workload(ctx: RenderContext): IDeployment | IStatefulSet {
  const d = deployment(ctx);
  if (ctx.workloadKind === 'Deployment') return d;
  const { models } = ctx.kube;
  const spec = d.spec as NonNullable<IDeployment['spec']>;
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: d.metadata ?? ctx.meta(),
    spec: {
      ...(spec.replicas === undefined ? {} : { replicas: spec.replicas }),
      serviceName: ctx.gateway ? podsService(ctx.name) : ctx.name,
      // Pods start and stop together: no pod waits for another's models.
      podManagementPolicy: 'Parallel',
      revisionHistoryLimit: 10,
      selector: spec.selector,
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
      persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Delete', whenScaled: 'Retain' },
      template: spec.template,
      volumeClaimTemplates: [
        {
          metadata: { name: 'models', labels: { ...ctx.labels.all } },
          spec: {
            accessModes: ['ReadWriteOnce'],
            resources: { requests: { storage: models.size } },
            ...(models.storageClass === undefined ? {} : { storageClassName: models.storageClass }),
          },
        },
      ],
    },
  };
}

export function deployment(ctx: RenderContext): IDeployment {
  const { volumes: podVolumes, mounts } = volumes(ctx);
  const config = podSpecFile(ctx);
  const amount = resources(ctx);
  const init = modelsInit(ctx);
  const container: IIoK8sApiCoreV1Container = {
    name: 'berth',
    image: ctx.input.image,
    imagePullPolicy: 'IfNotPresent',
    args: serveArgs(
      `${CONFIG_DIR}/berth.yaml`,
      ctx.kube.models.source !== 'image' || ctx.input.models.length > 0,
      ctx.kube.drainTimeout,
    ),
    ports: [
      { name: 'http', containerPort: HTTP_PORT, protocol: 'TCP' },
      { name: 'grpc', containerPort: GRPC_PORT, protocol: 'TCP' },
    ],
    ...probes(ctx),
    // Time for the endpoints to drop the pod before SIGTERM starts berth's drain (no shell needed).
    lifecycle: { preStop: { sleep: { seconds: PRE_STOP_SECONDS } } },
    resources: { requests: { ...amount }, limits: { ...amount } },
    securityContext: { ...CONTAINER_SECURITY, capabilities: { drop: ['ALL'] } },
    volumeMounts: mounts,
    terminationMessagePolicy: 'FallbackToLogsOnError',
  };
  const annotations: Record<string, string> = {
    // A change of the pod's berth.yaml rolls the pods.
    'berth.dev/config-sha256': createHash('sha256').update(config).digest('hex'),
    'prometheus.io/scrape': 'true',
    'prometheus.io/port': String(HTTP_PORT),
    'prometheus.io/path': '/metrics',
    ...(ctx.tls ? { 'prometheus.io/scheme': 'https' } : {}),
    ...vaultAnnotations(ctx),
  };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: ctx.meta(),
    spec: {
      // With an autoscaler the count is its own; a replicas field here would fight it on every apply.
      ...(ctx.autoscaler === 'none' ? { replicas: ctx.replicas.min } : {}),
      revisionHistoryLimit: 10,
      selector: { matchLabels: { ...ctx.labels.selector } },
      // Surge one, lose none: a GPU cluster never needs double capacity for an update.
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: { labels: { ...ctx.labels.all }, annotations },
        spec: {
          serviceAccountName: ctx.name,
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: { ...POD_SECURITY, seccompProfile: { type: 'RuntimeDefault' } },
          // preStop, then berth's drain, then 5 s to exit.
          terminationGracePeriodSeconds: PRE_STOP_SECONDS + Math.ceil(ctx.kube.drainTimeout / 1000) + 5,
          ...(init.length === 0 ? {} : { initContainers: init }),
          containers: [container],
          volumes: podVolumes,
          ...scheduling(ctx),
        },
      },
    },
  };
}

export function disruptionBudget(ctx: RenderContext): IPodDisruptionBudget {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: ctx.meta(),
    spec: {
      // One pod at a time: a node drain goes on, and never takes every pod at once.
      maxUnavailable: 1,
      selector: { matchLabels: { ...ctx.labels.selector } },
      // A pod that is not ready serves nothing: evicting it never hurts (crash loops included).
      unhealthyPodEvictionPolicy: 'AlwaysAllow',
    },
  };
}
