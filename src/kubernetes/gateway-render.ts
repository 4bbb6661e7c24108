/**
 * berth's gateway on a cluster (kubernetes.gateway.enabled): `berth gateway` as its own Deployment
 * `<name>-gateway`, behind the Service `<name>` that clients, routes and meshes already call.
 *
 * - The serve section (API keys, JWTs, rate limits, TLS, the audit log) is the gateway's: its
 *   berth.yaml, with the secrets as files, as the pods had them. The model pods behind it serve
 *   plaintext, and their NetworkPolicy lets only the gateway's pods (and the scraper) in.
 * - The gateway finds the pods by DNS: the headless Services `<name>-pods` and, during a canary,
 *   `<name>-canary-pods`, one address per ready pod. It needs no API token.
 * - A canary's share comes from the ConfigMap `<name>-traffic`, mounted as the gateway's traffic
 *   file; `berth deploy` writes it at each step. The gateway pods read it every second, once the
 *   kubelet has updated the mounted file.
 * - Hardened as the pods are (policy test): non-root, read-only root, no privileges, seccomp.
 */
import { stringify } from 'yaml';
import type { IConfigMap, IDeployment, KubeObject } from './objects.js';
import { berthLabels } from './objects.js';
import { gatewayNetworkPolicy } from './network.js';
import { podSecrets } from './pod-secrets.js';
import { GRPC_PORT, HTTP_PORT, type RenderContext } from './render-context.js';
import { peerAuthentication, podsService, service } from './traffic.js';
import {
  CONFIG_DIR,
  CONTAINER_SECURITY,
  disruptionBudget,
  listenArgs,
  POD_SECURITY,
  PRE_STOP_SECONDS,
  secretVolume,
  serviceAccount,
  vaultAnnotations,
} from './workload.js';
import { createHash } from 'node:crypto';

/** Where the gateway reads the traffic file (the ConfigMap `<name>-traffic`, key traffic.json). */
export const TRAFFIC_DIR = '/etc/berth/traffic';
export const TRAFFIC_KEY = 'traffic.json';

export const gatewayName = (name: string): string => `${name}-gateway`;
export const trafficConfigMapName = (name: string): string => `${name}-traffic`;

/**
 * The context of the gateway's objects: its labels, the serve section's TLS and secrets, and
 * `<name>-gateway` as the name its objects take unless they are given one, so that the pods'
 * own builders (ServiceAccount, budget, PeerAuthentication) make the gateway's too.
 */
export function gatewayContext(ctx: RenderContext): RenderContext {
  const labels = berthLabels(ctx.name, 'gateway');
  const serve = ctx.input.spec.serve;
  return {
    ...ctx,
    labels,
    gateway: false,
    tls: serve?.tls !== undefined,
    secrets: podSecrets(serve, ctx.kube.secrets.provider),
    meta: (name = gatewayName(ctx.name)) => ({
      name,
      ...(ctx.namespace === undefined ? {} : { namespace: ctx.namespace }),
      labels: { ...labels.all },
    }),
  };
}

/** The gateway's berth.yaml: the serve section, secrets as mounted files, resilience, and how answers are compared. */
function gatewaySpecFile(g: RenderContext): string {
  const { serve } = g.secrets;
  const spec = g.input.spec;
  return stringify(
    {
      name: g.name,
      ...(serve === undefined ? {} : { serve }),
      ...(spec.resilience === undefined ? {} : { resilience: spec.resilience }),
      // How answers are compared when a rollout asks for agreement.
      ...(spec.rollout === undefined
        ? {}
        : { rollout: { analysis: { compare: spec.rollout.analysis.compare } } }),
    },
    { lineWidth: 0 },
  );
}

/** `berth gateway` as the pod runs it. */
export function gatewayArgs(name: string, drainTimeoutMs: number): string[] {
  return [
    'gateway',
    '-f',
    `${CONFIG_DIR}/berth.yaml`,
    '--upstream',
    `dns:${podsService(name)}:${HTTP_PORT}`,
    '--canary-upstream',
    `dns:${podsService(`${name}-canary`)}:${HTTP_PORT}`,
    '--upstream-grpc-port',
    String(GRPC_PORT),
    '--traffic',
    `${TRAFFIC_DIR}/${TRAFFIC_KEY}`,
    ...listenArgs(drainTimeoutMs),
  ];
}

function gatewayDeployment(g: RenderContext, config: string): IDeployment {
  const { gateway, drainTimeout, scheduling } = g.kube;
  const amount = { cpu: gateway.cpu, memory: gateway.memory };
  const secret = secretVolume(g);
  const scheme = g.tls ? 'HTTPS' : 'HTTP';
  const http = (path: string) => ({ httpGet: { path, port: 'http', scheme } as const });
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: g.meta(),
    spec: {
      replicas: gateway.replicas,
      revisionHistoryLimit: 10,
      selector: { matchLabels: { ...g.labels.selector } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: {
          labels: { ...g.labels.all },
          annotations: {
            'berth.dev/config-sha256': createHash('sha256').update(config).digest('hex'),
            'prometheus.io/scrape': 'true',
            'prometheus.io/port': String(HTTP_PORT),
            'prometheus.io/path': '/metrics',
            ...(g.tls ? { 'prometheus.io/scheme': 'https' } : {}),
            ...vaultAnnotations(g),
          },
        },
        spec: {
          serviceAccountName: gatewayName(g.name),
          // The gateway finds pods by DNS and reads its traffic from a file: no API token.
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          securityContext: { ...POD_SECURITY, seccompProfile: { type: 'RuntimeDefault' } },
          terminationGracePeriodSeconds: PRE_STOP_SECONDS + Math.ceil(drainTimeout / 1000) + 5,
          containers: [
            {
              name: 'gateway',
              image: g.input.image,
              imagePullPolicy: 'IfNotPresent',
              args: gatewayArgs(g.name, drainTimeout),
              ports: [
                { name: 'http', containerPort: HTTP_PORT, protocol: 'TCP' },
                { name: 'grpc', containerPort: GRPC_PORT, protocol: 'TCP' },
              ],
              // Ready while some model pod is: a gateway with nothing behind it takes no traffic.
              readinessProbe: {
                ...http('/v2/health/ready'),
                periodSeconds: 5,
                timeoutSeconds: 3,
                failureThreshold: 2,
              },
              livenessProbe: {
                ...http('/v2/health/live'),
                periodSeconds: 10,
                timeoutSeconds: 3,
                failureThreshold: 3,
              },
              lifecycle: { preStop: { sleep: { seconds: PRE_STOP_SECONDS } } },
              resources: { requests: { ...amount }, limits: { ...amount } },
              securityContext: { ...CONTAINER_SECURITY, capabilities: { drop: ['ALL'] } },
              volumeMounts: [
                { name: 'tmp', mountPath: '/tmp' },
                { name: 'config', mountPath: CONFIG_DIR, readOnly: true },
                { name: 'traffic', mountPath: TRAFFIC_DIR, readOnly: true },
                ...(secret === undefined ? [] : [secret.mount]),
              ],
              terminationMessagePolicy: 'FallbackToLogsOnError',
            },
          ],
          volumes: [
            { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
            { name: 'config', configMap: { name: `${gatewayName(g.name)}-config` } },
            { name: 'traffic', configMap: { name: trafficConfigMapName(g.name) } },
            ...(secret === undefined ? [] : [secret.volume]),
          ],
          // The gateway needs no GPU node: no node selector or tolerations, spread over nodes.
          ...(scheduling.spread === 'none'
            ? {}
            : {
                topologySpreadConstraints: [
                  {
                    maxSkew: 1,
                    topologyKey:
                      scheduling.spread === 'zone' ? 'topology.kubernetes.io/zone' : 'kubernetes.io/hostname',
                    whenUnsatisfiable: 'ScheduleAnyway' as const,
                    labelSelector: { matchLabels: { ...g.labels.selector } },
                  },
                ],
              }),
        },
      },
    },
  };
}

/**
 * The gateway's objects, given its context (gatewayContext).
 *
 * @example
 * const objects = gatewayObjects(gatewayContext(ctx)); // ServiceAccount, ConfigMaps, Deployment, Service, budget, policy
 */
export function gatewayObjects(g: RenderContext): KubeObject[] {
  const config = gatewaySpecFile(g);
  const configMap: IConfigMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: g.meta(`${gatewayName(g.name)}-config`),
    data: { 'berth.yaml': config },
  };
  // No rollout: `berth deploy` writes a canary's steps here (the whole object, as berth).
  const traffic: IConfigMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: g.meta(trafficConfigMapName(g.name)),
    data: { [TRAFFIC_KEY]: '{}\n' },
  };
  const { network, traffic: mesh, mtls } = g.kube;
  return [
    serviceAccount(g),
    configMap,
    traffic,
    gatewayDeployment(g, config),
    service(g),
    disruptionBudget(g),
    ...(network.policy ? [gatewayNetworkPolicy(g, g.meta())] : []),
    // The gateway's pods take mutual TLS from the mesh too.
    ...(mesh === 'istio' && mtls ? [peerAuthentication(g)] : []),
  ];
}
