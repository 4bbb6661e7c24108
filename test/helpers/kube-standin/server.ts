/**
 * A small stand-in for the Kubernetes API server, for the tests of `berth deploy`, `rollback` and
 * `status --kube`: no control plane can run on berth's test machines. It serves, over HTTPS with
 * a bearer token, the endpoints berth uses, with the API's semantics (README.md says what it
 * leaves out): discovery, server-side apply with field ownership and conflicts, get, list with
 * label and field selectors, delete, resourceVersion and generation, and a Deployment controller
 * whose pods and events are shaped exactly as a real cluster returns them, driven by the image
 * name (`pull-fails`, `crashes`, `unready`) or a GPU request on a cluster without GPU nodes.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { parse as parseYaml } from 'yaml';
import { applyConfig, managedFields, setPath, type Ownership } from './field-ownership.js';

export type Obj = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: Record<string, unknown> & { name: string; namespace?: string };
};

interface Resource {
  readonly groupVersion: string;
  readonly kind: string;
  readonly plural: string;
  readonly namespaced: boolean;
}

const CORE: Resource[] = [
  ['Namespace', 'namespaces', false],
  ['ServiceAccount', 'serviceaccounts', true],
  ['ConfigMap', 'configmaps', true],
  ['Secret', 'secrets', true],
  ['Service', 'services', true],
  ['PersistentVolumeClaim', 'persistentvolumeclaims', true],
  ['Pod', 'pods', true],
  ['Event', 'events', true],
].map(([kind, plural, namespaced]) => ({ groupVersion: 'v1', kind, plural, namespaced }) as Resource);

/** The key pods of a `keyed` image want for /metrics (the metrics role), sent as x-api-key. */
export const METRICS_KEY = 'berth_0123456789ab_metricskeyforthestandin';

const BUILT_IN: Resource[] = [
  ...CORE,
  { groupVersion: 'apps/v1', kind: 'Deployment', plural: 'deployments', namespaced: true },
  { groupVersion: 'apps/v1', kind: 'StatefulSet', plural: 'statefulsets', namespaced: true },
  {
    groupVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    plural: 'poddisruptionbudgets',
    namespaced: true,
  },
  {
    groupVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    plural: 'horizontalpodautoscalers',
    namespaced: true,
  },
  {
    groupVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    plural: 'networkpolicies',
    namespaced: true,
  },
];

/** CRDs a cluster may have installed, by name for `StandinOptions.installed`. */
export const OPTIONAL_APIS: Record<string, Resource[]> = {
  keda: [
    { groupVersion: 'keda.sh/v1alpha1', kind: 'ScaledObject', plural: 'scaledobjects', namespaced: true },
  ],
  'gateway-api': [
    {
      groupVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      plural: 'httproutes',
      namespaced: true,
    },
    {
      groupVersion: 'gateway.networking.k8s.io/v1',
      kind: 'GRPCRoute',
      plural: 'grpcroutes',
      namespaced: true,
    },
  ],
  istio: [
    {
      groupVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      plural: 'virtualservices',
      namespaced: true,
    },
    {
      groupVersion: 'networking.istio.io/v1',
      kind: 'DestinationRule',
      plural: 'destinationrules',
      namespaced: true,
    },
    {
      groupVersion: 'security.istio.io/v1',
      kind: 'PeerAuthentication',
      plural: 'peerauthentications',
      namespaced: true,
    },
  ],
  'prometheus-operator': [
    {
      groupVersion: 'monitoring.coreos.com/v1',
      kind: 'ServiceMonitor',
      plural: 'servicemonitors',
      namespaced: true,
    },
  ],
  'external-secrets': [
    {
      groupVersion: 'external-secrets.io/v1',
      kind: 'ExternalSecret',
      plural: 'externalsecrets',
      namespaced: true,
    },
  ],
};

export interface StandinOptions {
  readonly cert: string;
  readonly key: string;
  readonly token: string;
  /** Names of OPTIONAL_APIS the cluster serves. */
  readonly installed?: readonly string[];
  /** Nodes with GPUs; 0 makes a pod that asks for one unschedulable. Default 0. */
  readonly gpuNodes?: number;
  /** When a healthy pod becomes ready. Default 300 ms. */
  readonly readyAfterMs?: number;
  /** The Deployment's progress deadline (progressDeadlineSeconds, shortened). Default 4 s. */
  readonly progressDeadlineMs?: number;
  /** What a crash-looping container printed before it exited. */
  readonly crashLog?: string;
}

export interface Standin {
  readonly url: string;
  /** Every request, as `METHOD path`, for assertions. */
  readonly requests: string[];
  /** Every object applied (server-side apply), in order, as sent. */
  readonly applied: Obj[];
  get(groupVersion: string, kind: string, namespace: string | undefined, name: string): Obj | undefined;
  /** Another field manager changes a field (as `kubectl edit` or `kubectl scale` would). */
  edit(
    groupVersion: string,
    kind: string,
    namespace: string,
    name: string,
    path: string[],
    value: unknown,
    manager: string,
  ): void;
  close(): Promise<void>;
}

function status(res: ServerResponse, code: number, reason: string, message: string): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(
    JSON.stringify({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message,
      reason,
      code,
    }),
  );
}

function send(res: ServerResponse, body: unknown, code = 200): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function matches(labels: Record<string, string> | undefined, selector: string | null): boolean {
  if (selector === null || selector === '') return true;
  return selector.split(',').every((term) => {
    const [k, v] = term.split('=');
    return labels?.[k as string] === v;
  });
}

export async function startStandin(options: StandinOptions): Promise<Standin> {
  const resources = [...BUILT_IN, ...(options.installed ?? []).flatMap((name) => OPTIONAL_APIS[name] ?? [])];
  const store = new Map<string, { object: Obj; ownership: Ownership }>();
  const requests: string[] = [];
  const applied: Obj[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let resourceVersion = 1000;
  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };
  const keyOf = (gv: string, kind: string, ns: string | undefined, name: string) =>
    `${gv}|${kind}|${ns ?? ''}|${name}`;
  const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

  const put = (object: Obj, ownership: Ownership = new Map()) => {
    object.metadata.resourceVersion = String(++resourceVersion);
    store.set(keyOf(object.apiVersion, object.kind, object.metadata.namespace, object.metadata.name), {
      object,
      ownership,
    });
  };
  const list = (kind: string, ns: string) =>
    [...store.values()].map((e) => e.object).filter((o) => o.kind === kind && o.metadata.namespace === ns);
  const event = (ns: string, pod: Obj, type: string, reason: string, message: string) => {
    const name = `${pod.metadata.name}.${randomBytes(8).toString('hex')}`;
    put({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace: ns, creationTimestamp: now() },
      involvedObject: {
        kind: 'Pod',
        namespace: ns,
        name: pod.metadata.name,
        apiVersion: 'v1',
        fieldPath: 'spec.containers{berth}',
      },
      reason,
      message,
      source: { component: reason === 'FailedScheduling' ? 'default-scheduler' : 'kubelet' },
      firstTimestamp: now(),
      lastTimestamp: now(),
      count: 1,
      type,
    });
  };

  /**
   * The Deployment and StatefulSet controllers and the kubelet, at the level of detail berth reads.
   * A StatefulSet's pods are `<name>-<ordinal>`, each with its claims from the templates
   * (`<template>-<name>-<ordinal>`); on a template change they are all replaced at once (the real
   * controller replaces them one at a time, highest ordinal first).
   */
  const reconcile = (deployment: Obj) => {
    const ns = deployment.metadata.namespace as string;
    const kind = deployment.kind as 'Deployment' | 'StatefulSet';
    const statefulSet = kind === 'StatefulSet';
    const spec = deployment['spec'] as {
      replicas?: number;
      template: {
        metadata?: { labels?: Record<string, string> };
        spec: {
          containers: { name: string; image: string; resources?: { limits?: Record<string, string> } }[];
        };
      };
    };
    const desired = spec.replicas ?? 1;
    const hash = createHash('sha256').update(JSON.stringify(spec.template)).digest('hex').slice(0, 10);
    const owned = list('Pod', ns).filter(
      (p) =>
        (p.metadata['labels'] as Record<string, string> | undefined)?.['berth-standin/owner'] ===
        deployment.metadata.name,
    );
    let fresh = owned.filter(
      (p) => (p.metadata['labels'] as Record<string, string>)['pod-template-hash'] === hash,
    );
    if (statefulSet) {
      for (const stale of owned.filter((p) => !fresh.includes(p)))
        store.delete(keyOf('v1', 'Pod', ns, stale.metadata.name));
      fresh = fresh.filter(
        (p) => Number(p.metadata.name.slice(deployment.metadata.name.length + 1)) < desired,
      );
    }
    const ordinals = new Set(fresh.map((p) => p.metadata.name));
    for (let i = fresh.length; i < desired; i++) {
      const container = spec.template.spec.containers[0] as {
        name: string;
        image: string;
        resources?: { limits?: Record<string, string> };
      };
      let ordinal = 0;
      while (ordinals.has(`${deployment.metadata.name}-${ordinal}`)) ordinal++;
      const podName = statefulSet
        ? `${deployment.metadata.name}-${ordinal}`
        : `${deployment.metadata.name}-${hash}-${randomBytes(3).toString('hex').slice(0, 5)}`;
      ordinals.add(podName);
      if (statefulSet)
        for (const claim of (deployment['spec'] as { volumeClaimTemplates?: Obj[] }).volumeClaimTemplates ??
          []) {
          const name = `${claim.metadata.name}-${podName}`;
          if (store.get(keyOf('v1', 'PersistentVolumeClaim', ns, name)) === undefined)
            put({
              apiVersion: 'v1',
              kind: 'PersistentVolumeClaim',
              metadata: {
                name,
                namespace: ns,
                labels: { ...(claim.metadata['labels'] as Record<string, string> | undefined) },
                creationTimestamp: now(),
              },
              spec: structuredClone(claim['spec']),
              status: { phase: 'Bound' },
            });
        }
      const pod: Obj = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
          name: podName,
          namespace: ns,
          labels: {
            ...spec.template.metadata?.labels,
            'pod-template-hash': hash,
            'berth-standin/owner': deployment.metadata.name,
          },
          creationTimestamp: now(),
        },
        spec: structuredClone(spec.template.spec),
        status: { phase: 'Pending', conditions: [], containerStatuses: [] },
      };
      put(pod);
      const gpu = Object.keys(container.resources?.limits ?? {}).some((r) => r.endsWith('/gpu'));
      const podStatus = (s: Record<string, unknown>) => {
        const entry = store.get(keyOf('v1', 'Pod', ns, pod.metadata.name));
        if (entry === undefined) return;
        entry.object['status'] = s;
        put(entry.object, entry.ownership);
        const d = store.get(keyOf('apps/v1', kind, ns, deployment.metadata.name));
        if (d !== undefined) updateStatus(d.object);
      };
      const waiting = (reason: string, message: string, extra: Record<string, unknown> = {}) => ({
        name: container.name,
        image: container.image,
        imageID: '',
        ready: false,
        started: false,
        restartCount: 0,
        state: { waiting: { reason, message } },
        ...extra,
      });
      if (gpu && (options.gpuNodes ?? 0) === 0) {
        const message =
          '0/3 nodes are available: 3 Insufficient nvidia.com/gpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.';
        podStatus({
          phase: 'Pending',
          conditions: [
            {
              type: 'PodScheduled',
              status: 'False',
              reason: 'Unschedulable',
              message,
              lastTransitionTime: now(),
            },
          ],
          qosClass: 'Guaranteed',
        });
        event(ns, pod, 'Warning', 'FailedScheduling', message);
      } else if (container.image.includes('pull-fails')) {
        later(50, () => {
          event(
            ns,
            pod,
            'Warning',
            'Failed',
            `Failed to pull image "${container.image}": rpc error: code = NotFound desc = failed to pull and unpack image "${container.image}": failed to resolve reference "${container.image}": ${container.image}: not found`,
          );
          podStatus({
            phase: 'Pending',
            conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: now() }],
            containerStatuses: [waiting('ImagePullBackOff', `Back-off pulling image "${container.image}"`)],
          });
        });
      } else if (container.image.includes('crashes')) {
        later(50, () =>
          podStatus({
            phase: 'Running',
            conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: now() }],
            containerStatuses: [
              waiting(
                'CrashLoopBackOff',
                `back-off 40s restarting failed container=${container.name} pod=${pod.metadata.name}_${ns}(uid)`,
                {
                  restartCount: 4,
                  lastState: {
                    terminated: { exitCode: 2, reason: 'Error', startedAt: now(), finishedAt: now() },
                  },
                },
              ),
            ],
          }),
        );
      } else {
        const unready = container.image.includes('unready');
        later(options.readyAfterMs ?? 300, () => {
          if (unready)
            event(
              ns,
              pod,
              'Warning',
              'Unhealthy',
              'Readiness probe failed: HTTP probe failed with statuscode: 503',
            );
          podStatus({
            phase: 'Running',
            conditions: [
              { type: 'PodScheduled', status: 'True', lastTransitionTime: now() },
              { type: 'Ready', status: unready ? 'False' : 'True', lastTransitionTime: now() },
            ],
            containerStatuses: [
              {
                name: container.name,
                image: container.image,
                ready: !unready,
                started: true,
                restartCount: 0,
                state: { running: { startedAt: now() } },
              },
            ],
          });
        });
      }
    }
    // A StatefulSet has no progress deadline (nor conditions): kubectl and berth judge its pods.
    if (!statefulSet)
      later(options.progressDeadlineMs ?? 4000, () => {
        const d = store.get(keyOf('apps/v1', kind, ns, deployment.metadata.name));
        if (d !== undefined) updateStatus(d.object, hash);
      });
    updateStatus(deployment);
  };

  const ready = (p: Obj) =>
    ((p['status'] as { containerStatuses?: { ready?: boolean }[] }).containerStatuses ?? []).some(
      (c) => c.ready === true,
    );

  /** The Deployment's status from its pods; `deadlineFor`: the template whose deadline passed. */
  const updateStatus = (deployment: Obj, deadlineFor?: string) => {
    const ns = deployment.metadata.namespace as string;
    const spec = deployment['spec'] as { replicas?: number; template: unknown };
    const desired = spec.replicas ?? 1;
    const hash = createHash('sha256').update(JSON.stringify(spec.template)).digest('hex').slice(0, 10);
    let pods = list('Pod', ns).filter(
      (p) =>
        (p.metadata['labels'] as Record<string, string> | undefined)?.['berth-standin/owner'] ===
        deployment.metadata.name,
    );
    const fresh = pods.filter(
      (p) => (p.metadata['labels'] as Record<string, string>)['pod-template-hash'] === hash,
    );
    const freshReady = fresh.filter(ready).length;
    if (freshReady >= desired) {
      // The new ReplicaSet is available: the old one is scaled down.
      for (const old of pods.filter((p) => !fresh.includes(p)))
        store.delete(keyOf('v1', 'Pod', ns, old.metadata.name));
      pods = fresh;
    }
    const complete = freshReady >= desired && pods.length === fresh.length;
    const previous = (
      deployment['status'] as { conditions?: { type: string; reason?: string }[] } | undefined
    )?.conditions;
    const timedOut =
      !complete &&
      (deadlineFor === hash ||
        previous?.some((c) => c.type === 'Progressing' && c.reason === 'ProgressDeadlineExceeded'));
    const available = pods.filter(ready).length;
    if (deployment.kind === 'StatefulSet') {
      const revision = `${deployment.metadata.name}-${hash}`;
      deployment['status'] = {
        observedGeneration: deployment.metadata['generation'],
        replicas: pods.length,
        readyReplicas: available,
        availableReplicas: available,
        currentReplicas: fresh.length,
        updatedReplicas: fresh.length,
        currentRevision: revision,
        updateRevision: revision,
        collisionCount: 0,
      };
      const entry = store.get(keyOf('apps/v1', 'StatefulSet', ns, deployment.metadata.name));
      if (entry !== undefined) put(deployment, entry.ownership);
      return;
    }
    deployment['status'] = {
      observedGeneration: deployment.metadata['generation'],
      replicas: pods.length,
      updatedReplicas: fresh.length,
      readyReplicas: available,
      availableReplicas: available,
      ...(pods.length - available > 0 ? { unavailableReplicas: pods.length - available } : {}),
      conditions: [
        {
          type: 'Available',
          status: available >= desired ? 'True' : 'False',
          reason: available >= desired ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable',
          message:
            available >= desired
              ? 'Deployment has minimum availability.'
              : 'Deployment does not have minimum availability.',
        },
        timedOut
          ? {
              type: 'Progressing',
              status: 'False',
              reason: 'ProgressDeadlineExceeded',
              message: `ReplicaSet "${deployment.metadata.name}-${hash}" has timed out progressing.`,
            }
          : {
              type: 'Progressing',
              status: 'True',
              reason: complete ? 'NewReplicaSetAvailable' : 'ReplicaSetUpdated',
              message: complete
                ? `ReplicaSet "${deployment.metadata.name}-${hash}" has successfully progressed.`
                : `ReplicaSet "${deployment.metadata.name}-${hash}" is progressing.`,
            },
      ],
    };
    const entry = store.get(keyOf('apps/v1', 'Deployment', ns, deployment.metadata.name));
    if (entry !== undefined) put(deployment, entry.ownership);
  };

  /** Each scrape, a pod has answered 40 more inferences: 8 of them errors for an image named `errors`, all slow for `slow`. */
  const scraped = new Map<string, number>();
  const podMetrics = (pod: Obj): string => {
    const container = (pod['spec'] as { containers: { image: string; args?: string[] }[] }).containers[0];
    const image = container?.image ?? '';
    const n = (scraped.get(pod.metadata.name) ?? 0) + 1;
    scraped.set(pod.metadata.name, n);
    if (container?.args?.[0] === 'gateway') {
      // berth's gateway: 20 more comparisons per read, 5 of them differing when the candidate's
      // image is named `disagrees`.
      const instance = (pod.metadata['labels'] as Record<string, string>)['app.kubernetes.io/instance'];
      const candidate = store.get(
        keyOf('apps/v1', 'Deployment', pod.metadata.namespace, `${instance ?? ''}-canary`),
      )?.object;
      const candidateImage =
        (candidate?.['spec'] as { template: { spec: { containers: { image: string }[] } } } | undefined)
          ?.template.spec.containers[0]?.image ?? '';
      const differ = candidateImage.includes('disagrees') ? 5 * n : 0;
      return [
        '# TYPE berth_gateway_comparisons_total counter',
        `berth_gateway_comparisons_total{outcome="agree"} ${20 * n - differ}`,
        `berth_gateway_comparisons_total{outcome="differ"} ${differ}`,
        '',
      ].join('\n');
    }
    const requests = 40 * n;
    const errors = image.includes('errors') ? 8 * n : 0;
    const le = image.includes('slow') ? '2.5' : '0.005';
    const labels = 'operation="infer",transport="http"';
    return [
      '# TYPE berth_requests_total counter',
      `berth_requests_total{${labels},code="OK"} ${requests - errors}`,
      `berth_requests_total{${labels},code="INTERNAL"} ${errors}`,
      `berth_requests_total{operation="metadata",transport="http",code="INTERNAL"} ${n}`,
      '# TYPE berth_request_duration_seconds histogram',
      ...['0.001', '0.005', '0.1', '2.5', '10'].map(
        (bound) =>
          `berth_request_duration_seconds_bucket{le="${bound}",${labels}} ${Number(bound) >= Number(le) ? requests : 0}`,
      ),
      `berth_request_duration_seconds_bucket{le="+Inf",${labels}} ${requests}`,
      `berth_request_duration_seconds_count{${labels}} ${requests}`,
      '',
    ].join('\n');
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'https://standin');
    requests.push(`${req.method} ${url.pathname}${url.search}`);
    if (req.headers.authorization !== `Bearer ${options.token}`) {
      status(res, 401, 'Unauthorized', 'Unauthorized');
      return;
    }
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    // Discovery: /api/v1 and /apis/<group>/<version>.
    const gvOf = () => (parts[0] === 'api' ? parts[1] : `${parts[1]}/${parts[2]}`);
    const base = parts[0] === 'api' ? 2 : 3;
    const gv = gvOf() as string;
    if (parts.length === base && req.method === 'GET') {
      const served = resources.filter((r) => r.groupVersion === gv);
      if (served.length === 0) {
        status(res, 404, 'NotFound', 'the server could not find the requested resource');
        return;
      }
      send(res, {
        kind: 'APIResourceList',
        apiVersion: 'v1',
        groupVersion: gv,
        resources: served.map((r) => ({
          name: r.plural,
          singularName: r.kind.toLowerCase(),
          namespaced: r.namespaced,
          kind: r.kind,
          verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
        })),
      });
      return;
    }
    let rest = parts.slice(base);
    let ns: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3) {
      ns = rest[1];
      rest = rest.slice(2);
    }
    const resource = resources.find((r) => r.groupVersion === gv && r.plural === rest[0]);
    if (resource === undefined) {
      status(res, 404, 'NotFound', 'the server could not find the requested resource');
      return;
    }
    const name = rest[1];
    const subresource = rest[2];
    if (name === undefined) {
      if (req.method !== 'GET') {
        status(res, 405, 'MethodNotAllowed', 'method not allowed');
        return;
      }
      const selector = url.searchParams.get('labelSelector');
      const field = url.searchParams.get('fieldSelector');
      const items = list(resource.kind, ns as string).filter(
        (o) =>
          matches(o.metadata['labels'] as Record<string, string> | undefined, selector) &&
          (field === null ||
            field.split(',').every((t) => {
              const [k, v] = t.split('=');
              return k === 'type' ? o['type'] === v : true;
            })),
      );
      send(res, {
        kind: `${resource.kind}List`,
        apiVersion: gv,
        metadata: { resourceVersion: String(resourceVersion) },
        items,
      });
      return;
    }
    const key = keyOf(gv, resource.kind, resource.namespaced ? ns : undefined, name);
    const entry = store.get(key);
    if (resource.kind === 'Pod' && subresource === 'proxy') {
      // GET pods/[https:]NAME:PORT/proxy/metrics: the pod's Prometheus metrics, made up from the image.
      const pod = name.replace(/^https?:/, '').replace(/:\d+$/, '');
      const found = store.get(keyOf('v1', 'Pod', ns, pod));
      if (found === undefined || rest[3] !== 'metrics') {
        status(res, 404, 'NotFound', `pods "${pod}" not found`);
        return;
      }
      const image = (found.object['spec'] as { containers: { image: string }[] }).containers[0]?.image ?? '';
      if (image.includes('keyed') && req.headers['x-api-key'] !== METRICS_KEY) {
        // A pod with berth's access control, as berth answers a request without the metrics role.
        res.writeHead(401, {
          'content-type': 'application/json',
          'www-authenticate': 'Bearer realm="berth"',
        });
        res.end('{"error":"a credential is required: send Authorization: Bearer <key> or x-api-key"}');
        return;
      }
      if (image.includes('nometrics')) {
        // What the API server answers when a NetworkPolicy drops its connection to the pod.
        status(
          res,
          503,
          'ServiceUnavailable',
          `error trying to reach service: dial tcp 10.244.1.7:8000: i/o timeout`,
        );
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(podMetrics(found.object));
      return;
    }
    if (subresource === 'log') {
      if (entry === undefined) {
        status(res, 404, 'NotFound', `pods "${name}" not found`);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(options.crashLog ?? '');
      return;
    }
    const notFound = () =>
      status(
        res,
        404,
        'NotFound',
        `${resource.plural}${gv.includes('/') ? `.${gv.split('/')[0]}` : ''} "${name}" not found`,
      );
    if (req.method === 'GET') {
      if (entry === undefined) notFound();
      else send(res, entry.object);
      return;
    }
    if (req.method === 'DELETE') {
      if (entry === undefined) {
        notFound();
        return;
      }
      store.delete(key);
      if (resource.kind === 'Deployment' || resource.kind === 'StatefulSet')
        for (const pod of list('Pod', ns as string))
          if (
            (pod.metadata['labels'] as Record<string, string> | undefined)?.['berth-standin/owner'] === name
          )
            store.delete(keyOf('v1', 'Pod', ns, pod.metadata.name));
      send(res, {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Success',
        details: { name, kind: resource.plural },
      });
      return;
    }
    if (req.method !== 'PATCH') {
      status(res, 405, 'MethodNotAllowed', 'method not allowed');
      return;
    }
    if (req.headers['content-type'] !== 'application/apply-patch+yaml') {
      status(
        res,
        415,
        'UnsupportedMediaType',
        `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`,
      );
      return;
    }
    const manager = url.searchParams.get('fieldManager');
    if (manager === null || manager === '') {
      status(
        res,
        400,
        'BadRequest',
        'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
      );
      return;
    }
    const config = parseYaml(await body(req)) as Obj;
    if (url.searchParams.get('dryRun') !== 'All') applied.push(structuredClone(config));
    if (config.kind !== resource.kind || config.apiVersion !== gv || config.metadata.name !== name) {
      status(res, 400, 'BadRequest', `the name or kind of the object does not match the request`);
      return;
    }
    if (
      resource.namespaced &&
      ns !== undefined &&
      !store.has(keyOf('v1', 'Namespace', undefined, ns)) &&
      ns !== 'default'
    ) {
      status(res, 404, 'NotFound', `namespaces "${ns}" not found`);
      return;
    }
    const ownership: Ownership =
      entry === undefined ? new Map() : new Map([...entry.ownership].map(([k, v]) => [k, new Map(v)]));
    const force = url.searchParams.get('force') === 'true';
    const result = applyConfig(entry?.object, ownership, manager, config, force);
    if (result.conflicts.length > 0) {
      const fields = result.conflicts.map((c) => `.${c.path.join('.')}`);
      const managers = [...new Set(result.conflicts.map((c) => c.manager))];
      const message =
        result.conflicts.length === 1
          ? `Apply failed with 1 conflict: conflict with "${managers[0]}" using ${gv}: ${fields[0]}`
          : `Apply failed with ${result.conflicts.length} conflicts: conflicts with "${managers.join('", "')}" using ${gv}:\n${fields.map((f) => `- ${f}`).join('\n')}`;
      status(res, 409, 'Conflict', message);
      return;
    }
    const object = result.object as Obj;
    if (url.searchParams.get('dryRun') === 'All') {
      send(res, object);
      return;
    }
    const specChanged = JSON.stringify(entry?.object['spec']) !== JSON.stringify(object['spec']);
    object.metadata = {
      ...object.metadata,
      uid: entry?.object.metadata['uid'] ?? randomBytes(16).toString('hex'),
      creationTimestamp: entry?.object.metadata['creationTimestamp'] ?? now(),
      generation:
        ((entry?.object.metadata['generation'] as number | undefined) ?? 0) +
        (entry === undefined || specChanged ? 1 : 0),
      ...(resource.namespaced && ns !== undefined ? { namespace: ns } : {}),
      managedFields: managedFields(ownership, gv, now()),
    };
    if (entry?.object['status'] !== undefined) object['status'] = entry.object['status'];
    put(object, ownership);
    if (
      (resource.kind === 'Deployment' || resource.kind === 'StatefulSet') &&
      (entry === undefined || specChanged)
    )
      reconcile(object);
    send(res, object, entry === undefined ? 201 : 200);
  };

  const server: Server = createServer({ cert: options.cert, key: options.key }, (req, res) => {
    handle(req, res).catch((error: unknown) => status(res, 500, 'InternalError', String(error)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    // localhost, not 127.0.0.1: TLS names a server by host name (RFC 6066), and the certificate has both.
    url: `https://localhost:${port}`,
    requests,
    applied,
    get: (gv, kind, ns, name) => store.get(keyOf(gv, kind, ns, name))?.object,
    edit(gv, kind, ns, name, path, value, manager) {
      const entry = store.get(keyOf(gv, kind, ns, name));
      if (entry === undefined) throw new Error(`no ${kind} ${ns}/${name}`);
      setPath(entry.object, path, value);
      const owners = entry.ownership.get(JSON.stringify(path)) ?? new Map<string, 'Apply' | 'Update'>();
      owners.clear();
      owners.set(manager, 'Update');
      entry.ownership.set(JSON.stringify(path), owners);
      put(entry.object, entry.ownership);
    },
    async close() {
      for (const t of timers) clearTimeout(t);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
