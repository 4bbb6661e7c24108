import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { validateKubeObject } from '../../test/helpers/kube-validate.js';
import { parseSpec } from '../spec/index.js';
import type {
  IDeployment,
  IExternalSecret,
  IHorizontalPodAutoscaler,
  IScaledObject,
  KubeObject,
} from './objects.js';
import { render, type Rendered } from './render.js';
import type { RenderInput } from './render-context.js';

const IMAGE = `registry.example/fraud@sha256:${'a'.repeat(64)}`;

function rendered(yaml: string, extra: Partial<RenderInput> = {}): Rendered {
  const result = render({
    name: 'fraud',
    image: IMAGE,
    spec: parseSpec(yaml, 'berth.yaml'),
    models: [{ name: 'fraud', execution: 'cpu' }],
    berthVersion: '0.1.0',
    ...extra,
  });
  for (const object of result.objects) validateKubeObject(object);
  return result;
}

function find<K extends KubeObject['kind']>(result: Rendered, kind: K): Extract<KubeObject, { kind: K }> {
  const found = result.objects.find((o) => o.kind === kind);
  if (found === undefined) throw new Error(`no ${kind} in ${result.objects.map((o) => o.kind).join(', ')}`);
  return found as Extract<KubeObject, { kind: K }>;
}

const kinds = (result: Rendered) => result.objects.map((o) => o.kind);
const container = (d: IDeployment) => d.spec?.template.spec?.containers[0];
const podConfig = (result: Rendered) =>
  parse(find(result, 'ConfigMap').data?.['berth.yaml'] ?? '') as Record<string, unknown>;

describe('render', () => {
  it('renders a hardened deployment with its service, budget and policy from an empty spec', () => {
    const result = rendered('{}');
    expect(kinds(result)).toEqual([
      'ServiceAccount',
      'ConfigMap',
      'Deployment',
      'Service',
      'PodDisruptionBudget',
      'NetworkPolicy',
    ]);
    const deployment = find(result, 'Deployment');
    expect(deployment.spec?.replicas).toBe(1);
    expect(deployment.spec?.strategy?.rollingUpdate).toEqual({ maxSurge: 1, maxUnavailable: 0 });
    const c = container(deployment);
    expect(c?.image).toBe(IMAGE);
    expect(c?.args).toEqual(expect.arrayContaining(['serve', '/models', '-f', '/etc/berth/berth.yaml']));
    expect(c?.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 65532,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(c?.resources?.requests).toEqual(c?.resources?.limits);
    expect(c?.readinessProbe?.httpGet?.path).toBe('/v2/health/ready');
    expect(deployment.spec?.template.spec?.automountServiceAccountToken).toBe(false);
    expect(find(result, 'ServiceAccount').automountServiceAccountToken).toBe(false);
    // preStop 5 s + drain 30 s + 5 s.
    expect(deployment.spec?.template.spec?.terminationGracePeriodSeconds).toBe(40);
    expect(find(result, 'Service').spec?.ports?.map((p) => [p.name, p.port, p.appProtocol])).toEqual([
      ['http', 8000, 'http'],
      ['grpc', 8001, 'kubernetes.io/h2c'],
    ]);
    expect(result.warnings).toEqual([]);
  });

  it('is pure: the same spec renders the same objects', () => {
    const yaml = 'replicas: { min: 2, max: 6 }\nkubernetes: { namespace: ml, traffic: istio, mtls: true }\n';
    expect(rendered(yaml)).toEqual(rendered(yaml));
  });

  it('serves the built-in example when the image has no models', () => {
    expect(container(find(rendered('{}', { models: [] }), 'Deployment'))?.args).not.toContain('/models');
  });

  it('puts every object in the namespace, which admits only restricted pods', () => {
    const result = rendered('kubernetes: { namespace: ml }\n');
    const [first, ...rest] = result.objects;
    expect(first).toMatchObject({
      kind: 'Namespace',
      metadata: { name: 'ml', labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } },
    });
    for (const object of rest) expect(object.metadata?.namespace).toBe('ml');
  });

  it('scales with an HPA on CPU and in-flight requests when max is above min, leaving replicas to it', () => {
    const result = rendered(
      'replicas: { min: 2, max: 8, target: { inflightPerReplica: 4 }, scaleDownAfter: 2m }\n',
    );
    const hpa: IHorizontalPodAutoscaler = find(result, 'HorizontalPodAutoscaler');
    expect(hpa.spec).toMatchObject({ minReplicas: 2, maxReplicas: 8 });
    expect(hpa.spec.metrics?.map((m) => m.type)).toEqual(['Resource', 'Pods']);
    expect(hpa.spec.metrics?.[1]?.pods?.target).toEqual({ type: 'AverageValue', averageValue: '4' });
    expect(hpa.spec.behavior?.scaleDown?.stabilizationWindowSeconds).toBe(120);
    expect(find(result, 'Deployment').spec?.replicas).toBeUndefined();
    expect(Object.keys(result.extraFiles)).toEqual(['prometheus-adapter-rules.yaml']);
    expect(result.extraFiles['prometheus-adapter-rules.yaml']).toContain('as: berth_inflight_requests');
  });

  it('scales to zero with KEDA where the mesh counts requests, and refuses it elsewhere', () => {
    const result = rendered(
      'replicas: { min: 0, max: 3, idleToZero: 10m }\nkubernetes: { traffic: istio }\n',
    );
    const scaled: IScaledObject = find(result, 'ScaledObject');
    expect(scaled.spec).toMatchObject({ minReplicaCount: 0, maxReplicaCount: 3, cooldownPeriod: 600 });
    expect(scaled.spec.triggers.map((t) => t.metadata['query'])).toEqual([
      expect.stringContaining('berth_inference_pending_requests'),
      expect.stringContaining('istio_requests_total{destination_service_name="fraud"}'),
    ]);
    expect(result.warnings.join()).toMatch(/at zero pods, requests are refused/);
    expect(() => rendered('replicas: { min: 0, max: 3 }\n')).toThrow(
      /replicas\.min: scale to zero on Kubernetes needs/,
    );
    expect(() =>
      rendered('replicas: { min: 0, max: 3 }\nkubernetes: { autoscaler: hpa, traffic: istio }\n'),
    ).toThrow(/replicas\.min: 0 needs kubernetes\.autoscaler keda/);
  });

  it('asks for a GPU when a model runs on CUDA, and schedules where the spec says', () => {
    const result = rendered(
      [
        'kubernetes:',
        '  scheduling:',
        '    nodeSelector: { nvidia.com/gpu.present: "true" }',
        '    tolerations: [{ key: nvidia.com/gpu, operator: Exists, effect: NoSchedule }]',
        '    spread: node',
      ].join('\n'),
      { models: [{ name: 'resnet', execution: 'cuda' }] },
    );
    const spec = find(result, 'Deployment').spec?.template.spec;
    expect(spec?.containers[0]?.resources?.limits?.['nvidia.com/gpu']).toBe('1');
    expect(spec?.nodeSelector).toEqual({ 'nvidia.com/gpu.present': 'true' });
    expect(spec?.tolerations).toEqual([{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }]);
    expect(spec?.topologySpreadConstraints?.[0]?.topologyKey).toBe('kubernetes.io/hostname');
    expect(
      container(find(rendered('kubernetes: { resources: { gpu: 2 } }'), 'Deployment'))?.resources?.limits,
    ).toMatchObject({
      'nvidia.com/gpu': '2',
    });
  });

  const SERVE = [
    'serve:',
    '  auth: { apiKeys: keys.json, jwt: { jwks: "https://id.example/jwks", issuer: https://id.example, audience: berth } }',
    '  limits: { perCaller: 100/s, redis: "redis://:hunter2@redis:6379" }',
    '  tls: { cert: tls.crt, key: tls.key }',
    '  auditLog: audit.log',
  ].join('\n');

  it("mounts the serve section's secrets from a Secret by name and never writes their values", () => {
    const result = rendered(`${SERVE}\nkubernetes: { serviceMonitor: true }\n`);
    expect(podConfig(result)['serve']).toMatchObject({
      auth: { apiKeys: '/var/run/secrets/berth/api-keys.json', jwt: { jwks: 'https://id.example/jwks' } },
      limits: { redis: 'file:/var/run/secrets/berth/redis-url' },
      tls: { cert: '/var/run/secrets/berth/tls.crt', key: '/var/run/secrets/berth/tls.key' },
      auditLog: '/dev/stdout',
    });
    expect(JSON.stringify(result.objects)).not.toContain('hunter2');
    expect(Object.keys(result.secret?.keys ?? {})).toEqual([
      'api-keys.json',
      'redis-url',
      'tls.crt',
      'tls.key',
      'metrics-token',
    ]);
    const pod = find(result, 'Deployment').spec?.template.spec;
    expect(pod?.volumes?.find((v) => v.name === 'secrets')?.secret?.secretName).toBe('fraud-secrets');
    expect(pod?.containers[0]?.readinessProbe?.httpGet?.scheme).toBe('HTTPS');
    expect(find(result, 'ServiceMonitor').spec.endpoints[0]).toMatchObject({
      scheme: 'https',
      authorization: { credentials: { name: 'fraud-secrets', key: 'metrics-token' } },
    });
  });

  it('has External Secrets fill the Secret from a store', () => {
    const result = rendered(
      `${SERVE}\nkubernetes: { secrets: { provider: external-secrets, store: { name: vault-backend }, remoteKey: berth/fraud } }\n`,
    );
    const external: IExternalSecret = find(result, 'ExternalSecret');
    expect(external.spec?.target?.name).toBe('fraud-secrets');
    expect(
      external.spec?.data?.map((d) => [d.secretKey, d.remoteRef.key, d.remoteRef.property]),
    ).toContainEqual(['tls.key', 'berth/fraud', 'tls.key']);
    expect(result.secret).toBeUndefined();
  });

  it('has Vault Agent write the files, and mounts no Secret', () => {
    const result = rendered(
      `${SERVE}\nkubernetes: { secrets: { provider: vault, vaultRole: fraud, remoteKey: secret/data/fraud } }\n`,
    );
    const annotations = find(result, 'Deployment').spec?.template.metadata?.annotations ?? {};
    expect(annotations).toMatchObject({
      'vault.hashicorp.com/agent-inject': 'true',
      'vault.hashicorp.com/role': 'fraud',
      'vault.hashicorp.com/agent-inject-secret-tls.key': 'secret/data/fraud',
    });
    expect(annotations['vault.hashicorp.com/agent-inject-template-api-keys.json']).toContain(
      'index .Data.data "api-keys.json"',
    );
    expect(find(result, 'Deployment').spec?.template.spec?.volumes?.map((v) => v.name)).not.toContain(
      'secrets',
    );
    expect((podConfig(result)['serve'] as { tls: { key: string } }).tls.key).toBe('/vault/secrets/tls.key');
  });

  it('reads the models from a claim it renders, or from one that exists', () => {
    const result = rendered('kubernetes: { models: { source: volume, size: 50Gi, storageClass: fast } }\n', {
      models: [],
    });
    expect(find(result, 'PersistentVolumeClaim').spec).toMatchObject({
      accessModes: ['ReadOnlyMany'],
      resources: { requests: { storage: '50Gi' } },
      storageClassName: 'fast',
    });
    const pod = find(result, 'Deployment').spec?.template.spec;
    expect(pod?.volumes?.find((v) => v.name === 'models')?.persistentVolumeClaim).toEqual({
      claimName: 'fraud-models',
      readOnly: true,
    });
    expect(pod?.containers[0]?.args).toContain('/models');
    const existing = rendered('kubernetes: { models: { source: volume, claim: shared-models } }\n', {
      models: [],
    });
    expect(kinds(existing)).not.toContain('PersistentVolumeClaim');
    expect(() => rendered('kubernetes: { models: { source: volume } }\n')).toThrow(
      /kubernetes\.models\.source/,
    );
  });

  it('pulls the models from an OCI image in an init container, into an emptyDir or a claim per pod', () => {
    const models = `registry.example/fraud-models@sha256:${'c'.repeat(64)}`;
    const result = rendered(
      `kubernetes: { models: { source: oci, image: "${models}", pullSecret: regcred } }\n`,
      {
        models: [],
      },
    );
    const pod = find(result, 'Deployment').spec?.template.spec;
    const init = pod?.initContainers?.[0];
    expect(init?.args).toEqual(['models', 'pull', models, '/models']);
    expect(init?.env).toContainEqual({ name: 'DOCKER_CONFIG', value: '/var/run/secrets/berth-registry' });
    expect(init?.volumeMounts).toContainEqual({ name: 'models', mountPath: '/models' });
    expect(init?.securityContext).toMatchObject({ readOnlyRootFilesystem: true, runAsNonRoot: true });
    expect(pod?.containers[0]?.volumeMounts).toContainEqual({
      name: 'models',
      mountPath: '/models',
      readOnly: true,
    });
    expect(pod?.volumes?.find((v) => v.name === 'models')?.emptyDir).toEqual({ sizeLimit: '10Gi' });
    expect(pod?.volumes?.find((v) => v.name === 'registry')?.secret?.items).toEqual([
      { key: '.dockerconfigjson', path: 'config.json' },
    ]);

    const cached = rendered(
      `replicas: { min: 2, max: 5 }\nkubernetes: { models: { source: oci, image: "${models}", cache: true, size: 20Gi } }\n`,
      { models: [] },
    );
    expect(kinds(cached)).not.toContain('Deployment');
    const set = find(cached, 'StatefulSet');
    expect(set.spec?.volumeClaimTemplates?.[0]?.spec?.resources?.requests).toEqual({ storage: '20Gi' });
    expect(set.spec?.template.spec?.volumes?.map((v) => v.name)).not.toContain('models');
    expect(find(cached, 'HorizontalPodAutoscaler').spec.scaleTargetRef).toEqual({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      name: 'fraud',
    });
    expect(() => parseSpec('kubernetes: { models: { source: oci } }\n', 'berth.yaml')).toThrow(
      /kubernetes\.models\.image: source oci needs image/,
    );
  });

  it('routes through Gateway API or Istio, with berth up resilience in the mesh', () => {
    const api = rendered(
      'kubernetes: { traffic: gateway-api, gatewayApi: { gateway: public, gatewayNamespace: infra, hostnames: [ml.example] } }\n',
    );
    expect(find(api, 'HTTPRoute').spec.parentRefs).toEqual([{ name: 'public', namespace: 'infra' }]);
    expect(find(api, 'GRPCRoute').spec.rules?.[0]?.backendRefs).toEqual([{ name: 'fraud', port: 8001 }]);
    const mesh = rendered(
      'resilience: { retries: 3, outlier: { consecutive5xx: 7, ejectFor: 45s } }\nkubernetes: { namespace: ml, traffic: istio, mtls: true }\n',
    );
    expect(find(mesh, 'VirtualService').spec?.http?.[0]?.retries).toMatchObject({ attempts: 3 });
    expect(find(mesh, 'DestinationRule').spec?.trafficPolicy?.outlierDetection).toMatchObject({
      consecutive5xxErrors: 7,
      baseEjectionTime: '45s',
    });
    expect(find(mesh, 'PeerAuthentication').spec?.mtls?.mode).toBe('STRICT');
    expect(find(mesh, 'NetworkPolicy').spec?.egress?.map((e) => e.ports?.[0]?.port)).toContain(15012);
  });

  it("lets the API server's addresses in to /metrics only when the spec names them", () => {
    const ingress = (yaml: string) => find(rendered(yaml), 'NetworkPolicy').spec?.ingress ?? [];
    expect(ingress('{}')).toHaveLength(2);
    expect(ingress('kubernetes: { network: { apiServer: [10.0.0.0/24, 10.0.1.0/24] } }').at(-1)).toEqual({
      from: [{ ipBlock: { cidr: '10.0.0.0/24' } }, { ipBlock: { cidr: '10.0.1.0/24' } }],
      ports: [{ protocol: 'TCP', port: 8000 }],
    });
    expect(() => rendered('kubernetes: { network: { apiServer: [control-plane] } }')).toThrow(
      /kubernetes\.network\.apiServer\.0: expected a CIDR/,
    );
  });

  it('refuses what no cluster can run, naming the field', () => {
    expect(() => rendered('serve: { auth: { apiKeys: keys.json, protectHealth: true } }\n')).toThrow(
      /serve\.auth\.protectHealth: the kubelet's probes carry no credentials/,
    );
    expect(() => rendered('serve: { tls: { cert: a, key: b } }\nkubernetes: { probes: grpc }\n')).toThrow(
      /kubernetes\.probes: the kubelet's gRPC probes speak plaintext only/,
    );
    expect(() => parseSpec('kubernetes: { traffic: gateway-api }\n', 'berth.yaml')).toThrow(/gatewayApi/);
    expect(() => parseSpec('kubernetes: { resources: { cpu: lots } }\n', 'berth.yaml')).toThrow(
      /kubernetes\.resources\.cpu: expected a quantity/,
    );
    expect(() => parseSpec('kubernetes: { replica: 3 }\n', 'berth.yaml')).toThrow(/replica/);
  });

  it('is checked by validators that refuse a wrong object and an unknown kind', () => {
    const deployment = structuredClone(find(rendered('{}'), 'Deployment'));
    (deployment.spec?.template.spec?.containers[0]?.ports?.[0] as { containerPort: unknown }).containerPort =
      'http';
    expect(() => validateKubeObject(deployment)).toThrow(/containerPort must be integer/);
    expect(() => validateKubeObject({ apiVersion: 'v1', kind: 'Pod' })).toThrow(/no schema known/);
  });

  it('warns when rate limits are counted per pod, and not when Redis shares them', () => {
    const warned = (yaml: string) => rendered(yaml).warnings.filter((w) => w.startsWith('serve.limits'));
    expect(warned('serve: { limits: { perCaller: 10/s } }\nreplicas: { min: 2, max: 4 }')).toEqual([
      'serve.limits are counted by each of up to 4 pods on its own, so a caller may get 4 times the rate: set serve.limits.redis to share them',
    ]);
    expect(
      warned(
        'serve: { limits: { perCaller: 10/s } }\nkubernetes: { gateway: { enabled: true, replicas: 2 } }',
      ),
    ).toEqual([
      'serve.limits are counted by each of up to 2 gateway pods on its own, so a caller may get 2 times the rate: set serve.limits.redis to share them',
    ]);
    expect(
      warned('serve: { limits: { perCaller: 10/s, redis: env:REDIS_URL } }\nreplicas: { min: 2, max: 4 }'),
    ).toEqual([]);
    expect(warned('serve: { limits: { perCaller: 10/s } }')).toEqual([]);
    expect(warned('serve: { limits: { maxConcurrent: 8 } }\nreplicas: { min: 2, max: 4 }')).toEqual([]);
  });

  it('warns when the image is not pinned by digest', () => {
    expect(rendered('{}', { image: 'registry.example/fraud:1.0' }).warnings.join()).toMatch(
      /not pinned by digest/,
    );
  });
});

describe("render, berth's gateway in front (kubernetes.gateway.enabled)", () => {
  const GATEWAY = [
    'serve: { auth: { apiKeys: keys.json }, limits: { perCaller: 10/s }, tls: { cert: t.crt, key: t.key } }',
    'resilience: { retries: 1 }',
    'kubernetes: { gateway: { enabled: true, replicas: 3, cpu: 250m } }',
  ].join('\n');
  const named = (result: Rendered, kind: string, name: string) => {
    const found = result.objects.find((o) => o.kind === kind && o.metadata?.name === name);
    if (found === undefined) throw new Error(`no ${kind} ${name}`);
    return found as KubeObject & { spec?: Record<string, unknown>; data?: Record<string, string> };
  };

  it('puts the serve section and its secrets on the gateway, and the pods behind a headless Service', () => {
    const result = rendered(GATEWAY);
    expect(result.objects.map((o) => `${o.kind}/${o.metadata?.name ?? ''}`)).toEqual([
      'ServiceAccount/fraud',
      'ConfigMap/fraud-config',
      'Deployment/fraud',
      'Service/fraud-pods',
      'PodDisruptionBudget/fraud',
      'NetworkPolicy/fraud',
      'ServiceAccount/fraud-gateway',
      'ConfigMap/fraud-gateway-config',
      'ConfigMap/fraud-traffic',
      'Deployment/fraud-gateway',
      'Service/fraud',
      'PodDisruptionBudget/fraud-gateway',
      'NetworkPolicy/fraud-gateway',
    ]);
    // The pods: no serve section, no secrets, plaintext probes.
    expect(podConfig(result)).toEqual({ name: 'fraud' });
    const pods = named(result, 'Deployment', 'fraud') as IDeployment;
    expect(pods.spec?.template.spec?.volumes?.map((v) => v.name)).not.toContain('secrets');
    expect(container(pods)?.readinessProbe?.httpGet?.scheme).toBe('HTTP');
    expect(named(result, 'Service', 'fraud-pods').spec).toMatchObject({
      clusterIP: 'None',
      selector: { 'app.kubernetes.io/instance': 'fraud', 'app.kubernetes.io/component': 'server' },
    });
    // The gateway: the serve section with secrets as files, resilience, HTTPS probes, the Secret.
    const gatewayConfig = parse(
      named(result, 'ConfigMap', 'fraud-gateway-config').data?.['berth.yaml'] ?? '',
    );
    expect(gatewayConfig).toMatchObject({
      serve: {
        auth: { apiKeys: '/var/run/secrets/berth/api-keys.json' },
        limits: { perCaller: '10/s' },
        tls: { cert: '/var/run/secrets/berth/tls.crt', key: '/var/run/secrets/berth/tls.key' },
      },
      resilience: { retries: 1 },
    });
    const gateway = named(result, 'Deployment', 'fraud-gateway') as IDeployment;
    expect(gateway.spec?.replicas).toBe(3);
    const g = container(gateway);
    expect(g?.args?.slice(0, 11)).toEqual([
      'gateway',
      '-f',
      '/etc/berth/berth.yaml',
      '--upstream',
      'dns:fraud-pods:8000',
      '--canary-upstream',
      'dns:fraud-canary-pods:8000',
      '--upstream-grpc-port',
      '8001',
      '--traffic',
      '/etc/berth/traffic/traffic.json',
    ]);
    expect(g?.resources?.limits).toEqual({ cpu: '250m', memory: '256Mi' });
    expect(g?.readinessProbe?.httpGet).toMatchObject({ path: '/v2/health/ready', scheme: 'HTTPS' });
    expect(gateway.spec?.template.spec?.automountServiceAccountToken).toBe(false);
    expect(gateway.spec?.template.spec?.volumes?.map((v) => v.name)).toEqual([
      'tmp',
      'config',
      'traffic',
      'secrets',
    ]);
    expect(named(result, 'ConfigMap', 'fraud-traffic').data).toEqual({ 'traffic.json': '{}\n' });
    expect(named(result, 'Service', 'fraud').spec).toMatchObject({
      selector: { 'app.kubernetes.io/instance': 'fraud', 'app.kubernetes.io/component': 'gateway' },
    });
    expect(result.secret).toEqual({
      name: 'fraud-secrets',
      keys: {
        'api-keys.json': 'serve.auth.apiKeys',
        'tls.crt': 'serve.tls.cert',
        'tls.key': 'serve.tls.key',
      },
    });
  });

  it("lets only the gateway's pods call the pods, and the gateway call only the pods of both tracks", () => {
    const result = rendered(GATEWAY);
    const pods = named(result, 'NetworkPolicy', 'fraud') as Extract<KubeObject, { kind: 'NetworkPolicy' }>;
    expect(pods.spec?.ingress?.[0]?.from).toEqual([
      {
        podSelector: {
          matchLabels: {
            'app.kubernetes.io/name': 'berth',
            'app.kubernetes.io/instance': 'fraud',
            'app.kubernetes.io/component': 'gateway',
          },
        },
      },
    ]);
    const gateway = named(result, 'NetworkPolicy', 'fraud-gateway') as Extract<
      KubeObject,
      { kind: 'NetworkPolicy' }
    >;
    expect(gateway.spec?.podSelector?.matchLabels?.['app.kubernetes.io/component']).toBe('gateway');
    // The spec's callers (default: the namespace's pods) reach the gateway.
    expect(gateway.spec?.ingress?.[0]?.from).toEqual([{ podSelector: {} }]);
    expect(gateway.spec?.egress?.[0]?.to?.[0]?.podSelector?.matchExpressions).toEqual([
      { key: 'app.kubernetes.io/instance', operator: 'In', values: ['fraud', 'fraud-canary'] },
    ]);
  });

  it("renders a candidate as servers only, called by the stable deployment's gateway", () => {
    const result = rendered(GATEWAY, { name: 'fraud-canary', candidateOf: 'fraud' });
    expect(result.objects.map((o) => `${o.kind}/${o.metadata?.name ?? ''}`)).toEqual([
      'ServiceAccount/fraud-canary',
      'ConfigMap/fraud-canary-config',
      'Deployment/fraud-canary',
      'Service/fraud-canary-pods',
      'PodDisruptionBudget/fraud-canary',
      'NetworkPolicy/fraud-canary',
    ]);
    const policy = named(result, 'NetworkPolicy', 'fraud-canary') as Extract<
      KubeObject,
      { kind: 'NetworkPolicy' }
    >;
    expect(
      policy.spec?.ingress?.[0]?.from?.[0]?.podSelector?.matchLabels?.['app.kubernetes.io/instance'],
    ).toBe('fraud');
    expect(result.secret).toBeUndefined();
  });

  it('refuses a gateway without the NetworkPolicy that keeps callers from going around it', () => {
    expect(() => rendered('kubernetes: { gateway: { enabled: true }, network: { policy: false } }')).toThrow(
      /kubernetes\.gateway\.enabled: the gateway needs the NetworkPolicy/,
    );
  });
});
