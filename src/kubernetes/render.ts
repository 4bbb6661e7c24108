/**
 * `render(input) -> objects`: every Kubernetes object of one berth deployment, from berth.yaml,
 * as plain data. Pure: no I/O, no clock; the same spec always renders the same objects, in the
 * same order (the order `kubectl apply` wants: namespace, identity and config, then workloads).
 * `berth render k8s` writes them as a kustomize base (kustomize.ts); `berth deploy` will apply them.
 */
import { BerthError } from '../ground/index.js';
import { kubernetesSection, replicasSection, resilienceSection } from '../spec/index.js';
import { adapterRules, chooseAutoscaler, horizontalPodAutoscaler, scaledObject } from './autoscaling.js';
import { networkPolicy } from './network.js';
import { berthLabels, type KubeObject } from './objects.js';
import { podSecrets } from './pod-secrets.js';
import type { RenderContext, RenderInput } from './render-context.js';
import { gatewayContext, gatewayObjects } from './gateway-render.js';
import { externalSecret } from './secret-source.js';
import {
  destinationRule,
  grpcRoute,
  httpRoute,
  peerAuthentication,
  service,
  serviceMonitor,
  virtualService,
} from './traffic.js';
import { configMap, disruptionBudget, modelsClaim, serviceAccount, workload } from './workload.js';

export interface Rendered {
  readonly objects: readonly KubeObject[];
  /** Files beside the objects that belong to other tools' configuration (prometheus-adapter's rule). */
  readonly extraFiles: Readonly<Record<string, string>>;
  /** The Secret the pods read and the keys it must hold (what to create, with provider secret). */
  readonly secret: { readonly name: string; readonly keys: Readonly<Record<string, string>> } | undefined;
  /** GPUs each pod asks for. */
  readonly gpus: number;
  /** Whether the model pods serve REST over TLS (serve.tls, unless berth's gateway holds it). */
  readonly tls: boolean;
  /** Things the operator should know: each a sentence. */
  readonly warnings: readonly string[];
}

function invalid(path: string, message: string): BerthError {
  return new BerthError('BERTH_ERR_SPEC_INVALID', `${path}: ${message}`);
}

function context(input: RenderInput): RenderContext {
  const kube = input.spec.kubernetes ?? kubernetesSection.parse({});
  const replicas = input.spec.replicas ?? replicasSection.parse({});
  const resilience = input.spec.resilience ?? resilienceSection.parse({});
  const labels = berthLabels(input.name);
  const namespace = kube.namespace;
  const cuda = input.models.some((m) => m.execution === 'cuda');
  const gateway = kube.gateway.enabled;
  return {
    input,
    name: input.name,
    namespace,
    kube,
    replicas,
    resilience,
    labels,
    // Behind the gateway the pods serve plaintext, to the gateway only (the NetworkPolicy).
    tls: !gateway && input.spec.serve?.tls !== undefined,
    gateway,
    gatewayOf: input.candidateOf ?? input.name,
    autoscaler: chooseAutoscaler(kube.autoscaler, replicas.min, replicas.max),
    workloadKind: kube.models.source === 'oci' && kube.models.cache ? 'StatefulSet' : 'Deployment',
    gpus: kube.resources.gpu ?? (cuda ? 1 : 0),
    secretName: kube.secrets.name ?? `${input.name}-secrets`,
    secrets: podSecrets(gateway ? undefined : input.spec.serve, kube.secrets.provider),
    meta: (name = input.name) => ({
      name,
      ...(namespace === undefined ? {} : { namespace }),
      labels: { ...labels.all },
    }),
  };
}

/** What no manifest can make work: refused with the path to change. */
function check(ctx: RenderContext): void {
  const serve = ctx.input.spec.serve;
  if (serve?.auth?.protectHealth === true)
    throw invalid(
      'serve.auth.protectHealth',
      "the kubelet's probes carry no credentials; leave the health endpoints open on Kubernetes (the NetworkPolicy limits who reaches them)",
    );
  if (ctx.kube.probes === 'grpc' && ctx.tls)
    throw invalid(
      'kubernetes.probes',
      "the kubelet's gRPC probes speak plaintext only; use probes: http with serve.tls",
    );
  if (ctx.replicas.min === 0 && ctx.autoscaler !== 'keda')
    throw invalid(
      'replicas.min',
      `0 needs kubernetes.autoscaler keda (the ${ctx.autoscaler === 'hpa' ? 'HPA' : 'spec'} cannot scale to zero)`,
    );
  if (ctx.replicas.min === 0 && ctx.kube.traffic !== 'istio')
    throw invalid(
      'replicas.min',
      'scale to zero on Kubernetes needs something that counts requests while no pod runs: kubernetes.traffic istio (its sidecars do); or set min to 1',
    );
  if (ctx.kube.models.source !== 'image' && ctx.input.models.length > 0)
    throw invalid(
      'kubernetes.models.source',
      `${ctx.kube.models.source} puts the models at /models over the image's: render from an image built without models (give no models), or use source image`,
    );
}

/** The Secret the operator creates: every key with provider secret, only the metrics token with vault. */
function secretToCreate(
  provider: 'secret' | 'external-secrets' | 'vault',
  name: string,
  keys: Readonly<Record<string, string>>,
  metricsKey: string | undefined,
): Rendered['secret'] {
  if (provider === 'external-secrets') return undefined;
  const wanted =
    provider === 'vault'
      ? Object.fromEntries(Object.entries(keys).filter(([key]) => key === metricsKey))
      : keys;
  return Object.keys(wanted).length === 0 ? undefined : { name, keys: wanted };
}

/**
 * The objects of a deployment.
 *
 * @throws BerthError BERTH_ERR_SPEC_INVALID for a spec no cluster could run as written.
 * @example
 * const { objects } = render({ name: 'fraud', image: 'registry.example/fraud@sha256:…', spec, models: [], berthVersion: '0.1.0' });
 */
export function render(input: RenderInput): Rendered {
  const ctx = context(input);
  check(ctx);
  const { kube } = ctx;
  // With berth's gateway, the serve section (and its secrets) is the gateway's; a candidate is only
  // servers, called by the gateway of the deployment it is the candidate of.
  const gateway = ctx.gateway && input.candidateOf === undefined ? gatewayContext(ctx) : undefined;
  const { secrets } = gateway ?? ctx;
  const auth = ctx.gateway ? undefined : input.spec.serve?.auth;
  const metricsKey =
    kube.serviceMonitor && (auth?.apiKeys !== undefined || auth?.jwt !== undefined)
      ? 'metrics-token'
      : undefined;
  const secretKeys: Record<string, string> = { ...secrets.settings };
  if (metricsKey !== undefined)
    secretKeys[metricsKey] = 'a key or token with the metrics role, for the ServiceMonitor';
  const warnings: string[] = [];
  const objects: KubeObject[] = [];
  const add = (object: KubeObject | undefined) => {
    if (object !== undefined) objects.push(object);
  };
  if (ctx.namespace !== undefined)
    add({
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name: ctx.namespace,
        labels: {
          // Pod Security Admission: the namespace admits only pods as hardened as berth's.
          'pod-security.kubernetes.io/enforce': 'restricted',
          'pod-security.kubernetes.io/enforce-version': 'latest',
          ...(kube.traffic === 'istio' ? { 'istio-injection': 'enabled' } : {}),
        },
      },
    });
  add(serviceAccount(ctx));
  add(configMap(ctx));
  if (kube.secrets.provider === 'external-secrets' && Object.keys(secretKeys).length > 0)
    add(externalSecret(ctx, Object.keys(secretKeys)));
  add(modelsClaim(ctx));
  add(workload(ctx));
  add(service(ctx));
  add(disruptionBudget(ctx));
  if (ctx.autoscaler === 'hpa') add(horizontalPodAutoscaler(ctx));
  if (ctx.autoscaler === 'keda') add(scaledObject(ctx));
  if (kube.network.policy) add(networkPolicy(ctx));
  if (gateway !== undefined) for (const object of gatewayObjects(gateway)) add(object);
  if (kube.traffic === 'gateway-api') {
    add(httpRoute(ctx));
    add(grpcRoute(ctx));
  }
  if (kube.traffic === 'istio') {
    add(virtualService(ctx));
    add(destinationRule(ctx));
    if (kube.mtls) add(peerAuthentication(ctx));
  }
  if (kube.serviceMonitor) add(serviceMonitor(ctx, metricsKey));

  if (kube.secrets.provider === 'vault' && metricsKey !== undefined)
    warnings.push(
      `the ServiceMonitor reads its bearer token from the Secret ${ctx.secretName} (key ${metricsKey}), which Vault Agent does not make: create it`,
    );
  if (ctx.replicas.min === 0)
    warnings.push(
      'at zero pods, requests are refused (503 from the mesh) until the first pod is ready; clients should retry',
    );
  // Rate limits are counted by each process that applies them: the gateway pods, or the model pods.
  const limits = input.spec.serve?.limits;
  const counters = ctx.gateway ? kube.gateway.replicas : ctx.replicas.max;
  if (
    input.candidateOf === undefined &&
    limits !== undefined &&
    (limits.perCaller !== undefined || limits.perModel !== undefined) &&
    limits.redis === undefined &&
    counters > 1
  )
    warnings.push(
      `serve.limits are counted by each of up to ${counters} ${ctx.gateway ? 'gateway pods' : 'pods'} on its own, so a caller may get ${counters} times the rate: set serve.limits.redis to share them`,
    );
  if (!/@sha256:[0-9a-f]{64}$/.test(input.image))
    warnings.push(
      `the image ${input.image} is not pinned by digest: a tag can be moved to other content (--pin looks its digest up)`,
    );
  if (ctx.autoscaler === 'hpa' && kube.hpa.inflightMetric)
    warnings.push(
      'the HPA scales on berth_inflight_requests, which prometheus-adapter serves with the rule in prometheus-adapter-rules.yaml; until it does, the HPA reports the metric missing and scales on CPU',
    );
  return {
    objects,
    extraFiles:
      ctx.autoscaler === 'hpa' && kube.hpa.inflightMetric
        ? { 'prometheus-adapter-rules.yaml': adapterRules() }
        : {},
    gpus: ctx.gpus,
    tls: ctx.tls,
    secret: secretToCreate(kube.secrets.provider, ctx.secretName, secretKeys, metricsKey),
    warnings,
  };
}
