/**
 * berth's few calls to a Kubernetes API server, through `@kubernetes/client-node` (kubeconfig
 * contexts, client certificates, tokens, exec credential plugins, in-cluster service accounts):
 * server-side apply with field manager `berth`, read, delete, and the pods, events and logs a
 * rollout watch reads. The API's refusals become BerthErrors that name the object and quote the
 * server. The rest of the module sees only the `Kube` interface.
 */
import type * as KubeClientNode from '@kubernetes/client-node';
import { BerthError } from '../ground/index.js';
import type { KubeObject } from './objects.js';
import type { ObjectRef } from './inventory.js';
import type { DeploymentView, EventView, PodView } from './rollout-status.js';

/** The field manager of everything berth applies: `kubectl get -o yaml --show-managed-fields` shows it. */
export const FIELD_MANAGER = 'berth';

export interface KubeTarget {
  /** A kubeconfig file; default KUBECONFIG, ~/.kube/config, or the pod's service account. */
  readonly kubeconfig?: string | undefined;
  readonly context?: string | undefined;
  /** The namespace of objects that name none; default the context's, else `default`. */
  readonly namespace?: string | undefined;
}

export interface ApplyOptions {
  readonly dryRun?: boolean;
  /** Take over fields another manager owns (server-side apply's force). */
  readonly force?: boolean;
  /** Another field manager than `berth`, for fields kept apart from the objects' own. */
  readonly manager?: string;
}

export interface Kube {
  /** The API server's URL, for messages. */
  readonly server: string;
  readonly namespace: string;
  /** The kinds among `objects` the cluster does not serve, as `apiVersion/Kind`. */
  missingApis(objects: readonly { apiVersion: string; kind: string }[]): Promise<string[]>;
  apply(object: KubeObject | object, options?: ApplyOptions): Promise<void>;
  read<T = unknown>(ref: ObjectRef): Promise<T | undefined>;
  /** Deletes; false when it was already gone. */
  remove(ref: ObjectRef): Promise<boolean>;
  /** A Deployment, or a StatefulSet (whose status has the same counts). */
  workload(
    namespace: string,
    name: string,
    kind?: 'Deployment' | 'StatefulSet',
  ): Promise<DeploymentView | undefined>;
  pods(namespace: string, selector: Readonly<Record<string, string>>): Promise<PodView[]>;
  /** Warning events in the namespace. */
  warnings(namespace: string): Promise<EventView[]>;
  /** A pod's Prometheus metrics (GET :8000/metrics through the API server's proxy); undefined when it does not answer. */
  podMetrics(namespace: string, pod: string, tls: boolean, apiKey?: string): Promise<string | undefined>;
  /** The last lines of a container's log (of its previous run when it restarted). */
  log(namespace: string, pod: string, container: string, lines: number): Promise<string>;
}

const describe = (ref: { kind?: string; metadata?: { name?: string; namespace?: string } }) =>
  `${ref.kind ?? 'object'} ${ref.metadata?.namespace === undefined ? '' : `${ref.metadata.namespace}/`}${ref.metadata?.name ?? ''}`;

/** The API server's own words: a Status object's message, else the body as text. */
function serverMessage(body: unknown): string {
  if (typeof body === 'string') {
    try {
      return serverMessage(JSON.parse(body));
    } catch {
      return body.slice(0, 500);
    }
  }
  const message = (body as { message?: unknown } | undefined)?.message;
  return typeof message === 'string' ? message : JSON.stringify(body ?? '').slice(0, 500);
}

/** A failed call as a BerthError naming `what`. */
export function kubeError(error: unknown, what: string, server: string): BerthError {
  if (error instanceof BerthError) return error;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'number' && code >= 400) {
    const message = serverMessage((error as { body?: unknown }).body);
    if (code === 401 || code === 403)
      return new BerthError(
        'BERTH_ERR_KUBE_FORBIDDEN',
        `${what}: the API server refused (${code}): ${message}`,
        { cause: error },
      );
    if (code === 409)
      return new BerthError(
        'BERTH_ERR_KUBE_CONFLICT',
        `${what}: ${message}; pass --force-conflicts to take these fields over from the other manager`,
        { cause: error },
      );
    return new BerthError('BERTH_ERR_KUBE_REFUSED', `${what}: the API server refused (${code}): ${message}`, {
      cause: error,
    });
  }
  const text = error instanceof Error ? error.message : String(error);
  return new BerthError(
    'BERTH_ERR_KUBE_UNREACHABLE',
    `${what}: the API server at ${server} did not answer: ${text}`,
    {
      cause: error,
    },
  );
}

/**
 * A client for the kubeconfig's context.
 *
 * @throws BerthError BERTH_ERR_KUBE_CONFIG when no kubeconfig can be read or the context is unknown.
 */
export async function connectKube(target: KubeTarget = {}): Promise<Kube> {
  let k8s: typeof KubeClientNode;
  try {
    k8s = await import('@kubernetes/client-node');
  } catch (error) {
    // berth's images leave the Kubernetes client out: deploy runs where kubectl would.
    throw new BerthError(
      'BERTH_ERR_KUBE_CONFIG',
      `the Kubernetes client (@kubernetes/client-node) is not installed here (berth images leave it out): run berth deploy where berth is installed with npm`,
      { cause: error },
    );
  }
  const config = new k8s.KubeConfig();
  try {
    if (target.kubeconfig === undefined) config.loadFromDefault();
    else config.loadFromFile(target.kubeconfig);
  } catch (error) {
    throw new BerthError(
      'BERTH_ERR_KUBE_CONFIG',
      `${target.kubeconfig ?? 'the kubeconfig'}: cannot be read (${(error as Error).message})`,
      { cause: error },
    );
  }
  if (target.context !== undefined) {
    if (config.getContextObject(target.context) === null)
      throw new BerthError(
        'BERTH_ERR_KUBE_CONFIG',
        `--context: no context "${target.context}" in the kubeconfig (it has: ${
          config
            .getContexts()
            .map((c) => c.name)
            .join(', ') || 'none'
        })`,
      );
    config.setCurrentContext(target.context);
  }
  const cluster = config.getCurrentCluster();
  if (cluster === null)
    throw new BerthError(
      'BERTH_ERR_KUBE_CONFIG',
      'no cluster: set KUBECONFIG or --kubeconfig to a kubeconfig with a current context (kubectl config current-context)',
    );
  const server = cluster.server;
  const context = config.getContextObject(config.getCurrentContext());
  const namespace = target.namespace ?? context?.namespace ?? 'default';
  const objects = k8s.KubernetesObjectApi.makeApiClient(config);
  // The discovery lookup patch() itself makes (cached per group version); protected in the typings.
  const discovery = objects as unknown as {
    resource(apiVersion: string, kind: string): Promise<{ name: string } | undefined>;
  };
  const core = config.makeApiClient(k8s.CoreV1Api);
  const apps = config.makeApiClient(k8s.AppsV1Api);
  const spec = (ref: ObjectRef) => ({
    apiVersion: ref.apiVersion,
    kind: ref.kind,
    metadata: { name: ref.name, ...(ref.namespace === undefined ? {} : { namespace: ref.namespace }) },
  });
  const notFound = (error: unknown) => (error as { code?: unknown }).code === 404;
  const refText = (ref: ObjectRef) => describe(spec(ref));
  return {
    server,
    namespace,
    async missingApis(list) {
      const missing: string[] = [];
      const kinds = new Map(list.map((o) => [`${o.apiVersion}/${o.kind}`, o]));
      for (const [name, o] of kinds) {
        try {
          if ((await discovery.resource(o.apiVersion, o.kind)) === undefined) missing.push(name);
        } catch (error) {
          if ((error as { code?: unknown }).code === 404) missing.push(name);
          else throw kubeError(error, `discover ${name}`, server);
        }
      }
      return missing;
    },
    async apply(object, options = {}) {
      const o = object as KubeObject;
      try {
        await objects.patch(
          o as never,
          undefined,
          options.dryRun === true ? 'All' : undefined,
          options.manager ?? FIELD_MANAGER,
          options.force === true,
          k8s.PatchStrategy.ServerSideApply,
        );
      } catch (error) {
        throw kubeError(error, `apply ${describe(o)}`, server);
      }
    },
    async read<T>(ref: ObjectRef) {
      try {
        return (await objects.read(spec(ref))) as T;
      } catch (error) {
        if (notFound(error)) return undefined;
        throw kubeError(error, `read ${refText(ref)}`, server);
      }
    },
    async remove(ref) {
      try {
        await objects.delete(spec(ref), undefined, undefined, undefined, undefined, 'Background');
        return true;
      } catch (error) {
        if (notFound(error)) return false;
        throw kubeError(error, `delete ${refText(ref)}`, server);
      }
    },
    async workload(ns, name, kind = 'Deployment') {
      try {
        return kind === 'Deployment'
          ? await apps.readNamespacedDeployment({ name, namespace: ns })
          : await apps.readNamespacedStatefulSet({ name, namespace: ns });
      } catch (error) {
        if (notFound(error)) return undefined;
        throw kubeError(error, `read ${kind} ${ns}/${name}`, server);
      }
    },
    async pods(ns, selector) {
      const labelSelector = Object.entries(selector)
        .map(([k, v]) => `${k}=${v}`)
        .join(',');
      try {
        return (await core.listNamespacedPod({ namespace: ns, labelSelector })).items;
      } catch (error) {
        throw kubeError(error, `list pods in ${ns}`, server);
      }
    },
    async warnings(ns) {
      try {
        return (await core.listNamespacedEvent({ namespace: ns, fieldSelector: 'type=Warning' })).items;
      } catch (error) {
        throw kubeError(error, `list events in ${ns}`, server);
      }
    },
    async podMetrics(ns, pod, tls, apiKey) {
      try {
        return await core.connectGetNamespacedPodProxyWithPath(
          { name: `${tls ? 'https:' : ''}${pod}:8000`, namespace: ns, path: 'metrics' },
          // A key with berth's metrics role, for pods with access control: the API server passes
          // x-api-key on to the pod (it keeps the Authorization header, its own credential).
          apiKey === undefined
            ? undefined
            : {
                middleware: [
                  {
                    pre: (context) => {
                      context.setHeaderParam('x-api-key', apiKey);
                      return new k8s.Observable(Promise.resolve(context));
                    },
                    post: (response) => new k8s.Observable(Promise.resolve(response)),
                  },
                ],
                middlewareMergeStrategy: 'append',
              },
        );
      } catch {
        // A pod that does not answer this once is left out of this window.
        return undefined;
      }
    },
    async log(ns, pod, container, lines) {
      try {
        return await core.readNamespacedPodLog({
          name: pod,
          namespace: ns,
          container,
          tailLines: lines,
          previous: true,
        });
      } catch {
        // A log is a help, never a reason to fail: the container may have no previous run yet.
        return '';
      }
    },
  };
}
