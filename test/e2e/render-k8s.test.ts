/**
 * `berth render k8s` through the real CLI: a table of specs (GPU, models on a volume or pulled
 * from an OCI image (with a per-pod cache), KEDA, HPA,
 * Istio, Gateway API, each secrets provider) renders objects that the upstream schemas accept,
 * that `kubectl kustomize` builds, and whose every container passes the hardening policy; the
 * pods' own berth.yaml and arguments start a real `berth serve` (TLS and API keys included); and
 * the command's errors and file handling.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { doubleModel, writeModel } from '../fixtures/models.js';
import { makeCa, makeCert, pem, type Pem } from '../helpers/certs.js';
import { createKey, runCli, startListening, startServeLoaded } from '../helpers/cli.js';
import { validateKubeObject } from '../helpers/kube-validate.js';
import { tempDirsForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirsForFile('berth-render-k8s-');
const DIGEST = `sha256:${'b'.repeat(64)}`;
const IMAGE = `registry.example/fraud@${DIGEST}`;

interface KubeDoc {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec?: Record<string, unknown>;
}
interface Container {
  name: string;
  securityContext?: Record<string, unknown> & { capabilities?: { drop?: string[]; add?: string[] } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  args?: string[];
}
interface PodSpec {
  securityContext?: Record<string, unknown>;
  automountServiceAccountToken?: boolean;
  containers: Container[];
  initContainers?: Container[];
  volumes?: { name: string; emptyDir?: unknown; hostPath?: unknown }[];
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
}

/** `berth render k8s` with a spec in a fresh folder; the objects as `kubectl kustomize` builds them. */
function renderSpec(
  spec: string,
  args: readonly string[] = [],
): { dir: string; out: string; objects: KubeDoc[]; stderr: string } {
  const dir = tempDir();
  writeFileSync(join(dir, 'berth.yaml'), spec);
  const out = join(dir, 'k8s');
  const result = runCli([
    'render',
    'k8s',
    '-f',
    join(dir, 'berth.yaml'),
    '--image',
    IMAGE,
    '-o',
    out,
    ...args,
  ]);
  expect(result.stderr + result.stdout).toMatch(/wrote .*kustomization\.yaml/);
  expect(result.status).toBe(0);
  const built = spawnSync('kubectl', ['kustomize', out], { encoding: 'utf8' });
  expect(built.stderr).toBe('');
  expect(built.status).toBe(0);
  const objects = parseAllDocuments(built.stdout).map((doc) => doc.toJS() as KubeDoc);
  return { dir, out, objects, stderr: result.stderr };
}

/**
 * The pod's file system, here: a folder with the Secret's files (a TLS certificate and key from a
 * fresh CA, an API key file with one infer and read key) beside where its berth.yaml will go.
 */
function podSecretFiles(): { pod: string; secrets: string; ca: Pem; key: string } {
  const pod = tempDir();
  const secrets = join(pod, 'secrets');
  mkdirSync(secrets);
  const ca: Pem = makeCa(pod);
  const cert = makeCert(pod, ca, 'server', 'server');
  copyFileSync(cert.cert, join(secrets, 'tls.crt'));
  copyFileSync(cert.key, join(secrets, 'tls.key'));
  const key = createKey(join(secrets, 'api-keys.json'), 'infer', 'read');
  return { pod, secrets, ca, key };
}

/** A pod's arguments without --port and --grpc-port and their values (the tests pick free ports). */
function dropPorts(args: readonly string[]): string[] {
  return args.filter(
    (arg, i) =>
      !['--port', '--grpc-port'].includes(arg) && !['--port', '--grpc-port'].includes(args[i - 1] ?? ''),
  );
}

/** The status of a GET over HTTPS trusting `ca`, with `key` as a bearer token when given. */
function httpsStatus(url: string, ca: Pem, key: string | undefined): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const outgoing = httpsRequest(
      url,
      { ca: pem(ca.cert), ...(key === undefined ? {} : { headers: { authorization: `Bearer ${key}` } }) },
      (response) => {
        response.resume();
        response.on('end', () => resolve(response.statusCode ?? 0));
      },
    );
    outgoing.on('error', reject);
    outgoing.end();
  });
}

function podSpecs(objects: readonly KubeDoc[]): PodSpec[] {
  return objects
    .filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet')
    .map((o) => (o.spec as { template: { spec: PodSpec } }).template.spec);
}

/**
 * The hardening a security review asks of every container (and its pod): what `berth render k8s`
 * promises in docs/kubernetes.md. Returns the broken rules, so that a failure names them all.
 */
function policyViolations(pod: PodSpec): string[] {
  const broken: string[] = [];
  const rule = (ok: boolean, what: string) => {
    if (!ok) broken.push(what);
  };
  rule(pod.automountServiceAccountToken === false, 'pod: automountServiceAccountToken must be false');
  rule(pod.securityContext?.['runAsNonRoot'] === true, 'pod: runAsNonRoot');
  rule(
    (pod.securityContext?.['seccompProfile'] as { type?: string } | undefined)?.type === 'RuntimeDefault',
    'pod: seccomp RuntimeDefault',
  );
  rule(pod.hostNetwork !== true && pod.hostPID !== true && pod.hostIPC !== true, 'pod: no host namespaces');
  rule(
    (pod.volumes ?? []).every((v) => v.hostPath === undefined),
    'pod: no hostPath volumes',
  );
  const emptyDirs = (pod.volumes ?? []).filter((v) => v.emptyDir !== undefined).map((v) => v.name);
  for (const c of [...pod.containers, ...(pod.initContainers ?? [])]) {
    const sc = c.securityContext ?? {};
    rule(sc['runAsNonRoot'] === true && sc['runAsUser'] === 65532, `${c.name}: runs as 65532, non-root`);
    rule(sc['readOnlyRootFilesystem'] === true, `${c.name}: read-only root filesystem`);
    rule(sc['allowPrivilegeEscalation'] === false, `${c.name}: no privilege escalation`);
    rule(sc['privileged'] !== true, `${c.name}: not privileged`);
    rule(
      JSON.stringify(sc.capabilities?.drop) === '["ALL"]' && sc.capabilities?.add === undefined,
      `${c.name}: drops ALL capabilities, adds none`,
    );
    rule(
      (sc['seccompProfile'] as { type?: string } | undefined)?.type === 'RuntimeDefault',
      `${c.name}: seccomp RuntimeDefault`,
    );
    const { requests, limits } = c.resources ?? {};
    rule(
      requests?.['cpu'] !== undefined &&
        requests['memory'] !== undefined &&
        limits?.['cpu'] !== undefined &&
        limits['memory'] !== undefined,
      `${c.name}: CPU and memory requests and limits`,
    );
    const writable = (c.volumeMounts ?? []).filter((m) => m.readOnly !== true);
    // The models init container writes the models it pulls: /models, and nothing else, besides /tmp.
    const allowed = (m: { name: string; mountPath: string }) =>
      (m.mountPath === '/tmp' && emptyDirs.includes(m.name)) ||
      (c.name === 'models' && m.name === 'models' && m.mountPath === '/models');
    rule(
      writable.every(allowed),
      `${c.name}: an emptyDir at /tmp is the only writable mount (got ${writable.map((m) => m.mountPath).join(', ')})`,
    );
  }
  return broken;
}

const SECRETS = [
  'serve:',
  '  auth: { apiKeys: keys.json }',
  '  limits: { perCaller: 100/s, redis: "redis://redis:6379" }',
  '  tls: { cert: tls.crt, key: tls.key, clientCa: ca.crt }',
].join('\n');

const TABLE: { name: string; spec: string; args?: string[]; kinds: string[]; pods?: number }[] = [
  {
    name: 'defaults',
    spec: 'name: fraud\n',
    kinds: ['ServiceAccount', 'ConfigMap', 'Deployment', 'Service', 'PodDisruptionBudget', 'NetworkPolicy'],
  },
  {
    name: 'GPU, scheduled on GPU nodes',
    spec: 'name: resnet\nkubernetes: { resources: { gpu: 1, cpu: 4, memory: 8Gi }, scheduling: { nodeSelector: { nvidia.com/gpu.present: "true" }, tolerations: [{ key: nvidia.com/gpu, operator: Exists, effect: NoSchedule }] } }\n',
    kinds: ['Deployment'],
  },
  {
    name: 'models on a volume',
    spec: 'name: fraud\nkubernetes: { models: { source: volume, size: 20Gi, storageClass: standard } }\n',
    kinds: ['PersistentVolumeClaim', 'Deployment'],
  },
  {
    name: 'models pulled from an OCI image by an init container',
    spec: `name: fraud\nkubernetes: { models: { source: oci, image: "registry.example/fraud-models@sha256:${'c'.repeat(64)}", pullSecret: regcred, size: 5Gi } }\n`,
    kinds: ['Deployment'],
  },
  {
    name: 'pulled models kept on a claim per pod',
    spec: `name: fraud\nreplicas: { min: 2, max: 4 }\nkubernetes: { models: { source: oci, image: "registry.example/fraud-models@sha256:${'c'.repeat(64)}", cache: true, storageClass: fast } }\n`,
    kinds: ['StatefulSet', 'HorizontalPodAutoscaler'],
  },
  { name: 'HPA', spec: 'name: fraud\nreplicas: { min: 2, max: 10 }\n', kinds: ['HorizontalPodAutoscaler'] },
  {
    name: 'KEDA to zero in Istio, with mTLS',
    spec: 'name: fraud\nreplicas: { min: 0, max: 4 }\nkubernetes: { namespace: ml, traffic: istio, mtls: true, serviceMonitor: true }\n',
    kinds: [
      'Namespace',
      'ScaledObject',
      'VirtualService',
      'DestinationRule',
      'PeerAuthentication',
      'ServiceMonitor',
    ],
  },
  {
    name: 'Gateway API',
    spec: 'name: fraud\nkubernetes: { traffic: gateway-api, gatewayApi: { gateway: public, hostnames: [ml.example.com] }, network: { from: [{ namespace: gateways }] } }\n',
    kinds: ['HTTPRoute', 'GRPCRoute', 'NetworkPolicy'],
  },
  { name: 'secrets from a Secret', spec: `name: fraud\n${SECRETS}\n`, kinds: ['Deployment'] },
  {
    name: 'secrets from External Secrets',
    spec: `name: fraud\n${SECRETS}\nkubernetes: { secrets: { provider: external-secrets, store: { name: aws }, remoteKey: prod/fraud } }\n`,
    kinds: ['ExternalSecret'],
  },
  {
    name: 'secrets from Vault',
    spec: `name: fraud\n${SECRETS}\nkubernetes: { secrets: { provider: vault, vaultRole: fraud, remoteKey: secret/data/fraud }, network: { egress: [{ cidr: 10.20.0.0/16, ports: [8200, 6379] }] } }\n`,
    kinds: ['Deployment'],
  },
  {
    name: "berth's gateway in front, with the secrets, in Istio with mTLS",
    spec: `name: fraud\n${SECRETS}\nrollout: { strategy: canary }\nkubernetes: { gateway: { enabled: true }, traffic: istio, mtls: true, secrets: { provider: external-secrets, store: { name: aws }, remoteKey: prod/fraud } }\n`,
    kinds: ['Deployment', 'Service', 'ConfigMap', 'ExternalSecret', 'NetworkPolicy', 'PeerAuthentication'],
    pods: 2,
  },
];

describe('berth render k8s', () => {
  let models: string;
  beforeAll(() => {
    models = join(tempDir(), 'models');
    writeModel(models, 'double', doubleModel());
  });

  for (const { name, spec, kinds, pods: podCount = 1 } of TABLE) {
    it(`${name}: valid objects, built by kubectl kustomize, every container hardened`, () => {
      const { objects } = renderSpec(
        spec,
        /models on a volume|OCI image|claim per pod/.test(name) ? [] : [models],
      );
      expect(objects.map((o) => o.kind)).toEqual(expect.arrayContaining(kinds));
      for (const object of objects) {
        validateKubeObject(object);
        expect(object.metadata.name).toMatch(/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/);
        expect(
          (object.metadata as { labels?: Record<string, string> }).labels?.['app.kubernetes.io/managed-by'],
        ).toBe(object.kind === 'Namespace' ? undefined : 'berth');
      }
      const pods = podSpecs(objects);
      expect(pods.length).toBe(podCount);
      for (const pod of pods) expect(policyViolations(pod)).toEqual([]);
      expect(JSON.stringify(objects)).toContain(DIGEST);
    });
  }

  it('is a base an overlay can build on: namespace, labels and a replica patch, selectors unchanged', () => {
    const { dir, objects } = renderSpec('name: fraud\n', [models]);
    const overlay = join(dir, 'overlays', 'prod');
    mkdirSync(overlay, { recursive: true });
    // The overlay docs/kubernetes.md shows, word for word.
    writeFileSync(
      join(overlay, 'kustomization.yaml'),
      [
        'apiVersion: kustomize.config.k8s.io/v1beta1',
        'kind: Kustomization',
        'resources: [../../k8s]',
        'namespace: ml-prod',
        'labels:',
        '  - pairs: { environment: prod } # not includeSelectors: the selectors must not change',
        'patches:',
        '  - target: { kind: Deployment, name: fraud }',
        '    patch: |',
        '      - op: replace',
        '        path: /spec/replicas',
        '        value: 4',
        '',
      ].join('\n'),
    );
    const built = spawnSync('kubectl', ['kustomize', overlay], { encoding: 'utf8' });
    expect(built.stderr).toBe('');
    const layered = parseAllDocuments(built.stdout).map((doc) => doc.toJS() as KubeDoc);
    expect(layered.map((o) => o.kind).sort()).toEqual(objects.map((o) => o.kind).sort());
    for (const object of layered) {
      validateKubeObject(object);
      expect(object.metadata).toMatchObject({ namespace: 'ml-prod', labels: { environment: 'prod' } });
    }
    const deployment = layered.find((o) => o.kind === 'Deployment') as KubeDoc & {
      spec: { replicas: number; selector: unknown };
    };
    const before = objects.find((o) => o.kind === 'Deployment') as KubeDoc & { spec: { selector: unknown } };
    expect(deployment.spec.replicas).toBe(4);
    expect(deployment.spec.selector).toEqual(before.spec.selector);
  });

  it('the policy check finds a container that breaks the rules', () => {
    const { objects } = renderSpec('name: fraud\n');
    const pod = structuredClone(podSpecs(objects)[0] as PodSpec);
    const c = pod.containers[0] as Container;
    c.securityContext = {
      ...c.securityContext,
      readOnlyRootFilesystem: false,
      capabilities: { drop: ['ALL'], add: ['NET_ADMIN'] },
    };
    c.volumeMounts = [...(c.volumeMounts ?? []), { name: 'config', mountPath: '/data' }];
    expect(policyViolations(pod)).toEqual([
      'berth: read-only root filesystem',
      'berth: drops ALL capabilities, adds none',
      'berth: an emptyDir at /tmp is the only writable mount (got /tmp, /data)',
    ]);
  });

  it("the pods' berth.yaml and arguments start a real berth serve, with TLS and API keys from the mounted Secret", async () => {
    const { objects } = renderSpec(
      'name: fraud\nserve: { auth: { apiKeys: keys.json }, tls: { cert: tls.crt, key: tls.key } }\n',
      [models],
    );
    const config = objects.find((o) => o.kind === 'ConfigMap') as unknown as { data: Record<string, string> };
    const container = (podSpecs(objects)[0] as PodSpec).containers[0] as Container;
    const { pod, secrets, ca, key } = podSecretFiles();
    const text = (config.data['berth.yaml'] ?? '').replaceAll('/var/run/secrets/berth', secrets);
    expect(text).not.toBe(config.data['berth.yaml']);
    writeFileSync(join(pod, 'berth.yaml'), text);
    const args = (container.args ?? []).slice(1).map((arg) => {
      if (arg === '/etc/berth/berth.yaml') return join(pod, 'berth.yaml');
      if (arg === '/models') return models;
      return arg === '0.0.0.0' ? '127.0.0.1' : arg;
    });
    // startServe picks free ports: the rendered ones are dropped.
    const server = await startServeLoaded(dropPorts(args));
    try {
      const call = (path: string, auth: boolean) =>
        httpsStatus(`${server.url}${path}`, ca, auth ? key : undefined);
      expect(server.url).toMatch(/^https:/);
      expect(await call('/v2/health/ready', false)).toBe(200);
      expect(await call('/v2/models/double', false)).toBe(401);
      expect(await call('/v2/models/double', true)).toBe(200);
    } finally {
      await server.stop();
    }
  });

  it("the gateway pod's berth.yaml and arguments start a real berth gateway, keys and TLS in front of the pods' plaintext berth serve", async () => {
    const { objects } = renderSpec(
      'name: fraud\nserve: { auth: { apiKeys: keys.json }, tls: { cert: tls.crt, key: tls.key } }\nkubernetes: { gateway: { enabled: true } }\n',
      [models],
    );
    const data = (name: string) =>
      (
        objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === name) as unknown as {
          data: Record<string, string>;
        }
      ).data;
    const [serverPod, gatewayPod] = podSpecs(objects) as [PodSpec, PodSpec];
    const serverArgs = (serverPod.containers[0] as Container).args ?? [];
    const gatewayArgs = (gatewayPod.containers[0] as Container).args ?? [];
    expect(gatewayArgs[0]).toBe('gateway');
    // The pods' berth.yaml has no serve section: the access control is the gateway's.
    expect(data('fraud-config')['berth.yaml']).toBe('name: fraud\n');
    const { pod, secrets, ca, key } = podSecretFiles();
    writeFileSync(join(pod, 'server.yaml'), data('fraud-config')['berth.yaml'] ?? '');
    writeFileSync(
      join(pod, 'gateway.yaml'),
      (data('fraud-gateway-config')['berth.yaml'] ?? '').replaceAll('/var/run/secrets/berth', secrets),
    );
    writeFileSync(join(pod, 'traffic.json'), data('fraud-traffic')['traffic.json'] ?? '');
    const server = await startServeLoaded(
      dropPorts(serverArgs.slice(1)).map((arg) => {
        if (arg === '/etc/berth/berth.yaml') return join(pod, 'server.yaml');
        if (arg === '/models') return models;
        return arg === '0.0.0.0' ? '127.0.0.1' : arg;
      }),
    );
    const restPort = new URL(server.url).port;
    const grpcPort = (server.grpcAddress ?? '').split(':').at(-1) ?? '';
    const gateway = await startListening(
      [
        'gateway',
        '--port',
        '0',
        '--grpc-port',
        '0',
        ...dropPorts(gatewayArgs.slice(1)).map((arg) => {
          if (arg === '/etc/berth/berth.yaml') return join(pod, 'gateway.yaml');
          if (arg === '/etc/berth/traffic/traffic.json') return join(pod, 'traffic.json');
          if (arg === 'dns:fraud-pods:8000') return `dns:127.0.0.1:${restPort}`;
          // No candidate runs: an address where nothing listens.
          if (arg === 'dns:fraud-canary-pods:8000') return `dns:127.0.0.2:${restPort}`;
          if (arg === '8001') return grpcPort;
          return arg === '0.0.0.0' ? '127.0.0.1' : arg;
        }),
      ],
      (l) => String(l.msg).startsWith('berth gateway: listening'),
    );
    try {
      const call = (path: string, auth: boolean) =>
        httpsStatus(`${gateway.url}${path}`, ca, auth ? key : undefined);
      expect(gateway.url).toMatch(/^https:/);
      expect(server.url).toMatch(/^http:/);
      expect(await call('/v2/health/ready', false)).toBe(200);
      expect(await call('/v2/models/double', false)).toBe(401);
      expect(await call('/v2/models/double', true)).toBe(200);
    } finally {
      await gateway.stop();
      await server.stop();
    }
  });

  it('takes the image, pinned by digest, from berth build --json, and refuses one no cluster can pull', () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'build.json'),
      JSON.stringify({
        reference: 'registry.example/fraud:1.0',
        digest: DIGEST,
        output: 'registry.example/fraud:1.0',
      }),
    );
    const ok = runCli([
      'render',
      'k8s',
      '--image-from',
      join(dir, 'build.json'),
      '--name',
      'fraud',
      '-o',
      join(dir, 'k8s'),
      '--json',
    ]);
    expect(ok.status).toBe(0);
    const summary = JSON.parse(ok.stdout) as {
      image: string;
      objects: { kind: string }[];
      warnings: string[];
    };
    expect(summary.image).toBe(`registry.example/fraud@${DIGEST}`);
    expect(summary.warnings).toEqual([]);
    writeFileSync(
      join(dir, 'local.json'),
      JSON.stringify({ reference: 'fraud:1.0', digest: DIGEST, output: 'oci:./out' }),
    );
    const local = runCli([
      'render',
      'k8s',
      '--image-from',
      join(dir, 'local.json'),
      '-o',
      join(dir, 'other'),
    ]);
    expect(local.status).toBe(2);
    expect(local.stderr).toMatch(/--image-from: .*oci:\.\/out, which no cluster can pull/);
  });

  it('says which image it needs, refuses to overwrite, and removes what a render no longer makes', () => {
    const dir = tempDir();
    const none = runCli(['render', 'k8s', '-o', join(dir, 'k8s')]);
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(/--image: which image do the pods run\?/);
    writeFileSync(join(dir, 'berth.yaml'), 'name: fraud\nreplicas: { min: 1, max: 3 }\n');
    const out = join(dir, 'k8s');
    const first = runCli(['render', 'k8s', '-f', join(dir, 'berth.yaml'), '--image', IMAGE, '-o', out]);
    expect(first.status).toBe(0);
    expect(first.stderr).toMatch(/warning: the HPA scales on berth_inflight_requests/);
    expect(existsSync(join(out, 'horizontalpodautoscaler.yaml'))).toBe(true);
    const again = runCli(['render', 'k8s', '-f', join(dir, 'berth.yaml'), '--image', IMAGE, '-o', out]);
    expect(again.status).toBe(2);
    expect(again.stderr).toMatch(/exists; pass --force/);
    writeFileSync(join(dir, 'berth.yaml'), 'name: fraud\n');
    writeFileSync(join(out, 'mine.yaml'), 'kind: Mine\n');
    const forced = runCli([
      'render',
      'k8s',
      '-f',
      join(dir, 'berth.yaml'),
      '--image',
      IMAGE,
      '-o',
      out,
      '--force',
    ]);
    expect(forced.status).toBe(0);
    expect(forced.stdout).toMatch(/horizontalpodautoscaler\.yaml \(removed: no longer rendered\)/);
    expect(existsSync(join(out, 'horizontalpodautoscaler.yaml'))).toBe(false);
    expect(existsSync(join(out, 'prometheus-adapter-rules.yaml'))).toBe(false);
    expect(readFileSync(join(out, 'mine.yaml'), 'utf8')).toBe('kind: Mine\n');
    const invalid = runCli(['render', 'k8s', '--image', IMAGE, '--name', 'Fraud_1', '-o', join(dir, 'x')]);
    expect(invalid.status).toBe(2);
    expect(invalid.stderr).toMatch(/--name: expected a DNS label/);
  });

  it('names the spec field a cluster cannot run', () => {
    const dir = tempDir();
    writeFileSync(
      join(dir, 'berth.yaml'),
      'name: fraud\nserve: { auth: { apiKeys: k.json, protectHealth: true } }\n',
    );
    const result = runCli([
      'render',
      'k8s',
      '-f',
      join(dir, 'berth.yaml'),
      '--image',
      IMAGE,
      '-o',
      join(dir, 'k8s'),
    ]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/serve\.auth\.protectHealth: the kubelet's probes carry no credentials/);
    expect(existsSync(join(dir, 'k8s'))).toBe(false);
  });
});
