/**
 * A canary on a cluster, with `berth up`'s semantics: the candidate runs as its own Deployment
 * (the spec rendered under `<name>-canary`: its own Service, budget and network policy), the
 * routes move the spec's steps of traffic to it, and after each interval the same pure analysis as
 * `berth up` (`analyse`, `RolloutPlan`) judges it on what the two tracks' pods counted (their
 * /metrics, read through the API server). Every step passed: the stable Deployment takes the new
 * revision and the candidate goes. `failAfter` failed checks in a row, or no verdict in time: the
 * traffic returns to the stable pods, the candidate goes, and the command fails with the reasons.
 */
import { analyse, RolloutPlan, type AnalysisPolicy, type RolloutState } from '../gateway/index.js';
import { BerthError } from '../ground/index.js';
import type { RolloutSpec } from '../spec/index.js';
import { canaryRoutes } from './canary-traffic.js';
import { applyRevision, watchRollout, workloadOf, type Timing } from './deploy.js';
import { TRAFFIC_KEY, trafficConfigMapName } from './gateway-render.js';
import { inventoryName, refOf } from './inventory.js';
import type { Kube } from './kube-client.js';
import { berthLabels, type KubeObject } from './objects.js';
import {
  agreementWindow,
  comparisonCounts,
  inferCounts,
  trackWindow,
  type ComparisonCounts,
} from './pod-metrics.js';

/** The kinds of the candidate's own render that it runs with (the rest stay the stable's). */
const CANDIDATE_KINDS = new Set([
  'ServiceAccount',
  'ConfigMap',
  'Deployment',
  'StatefulSet',
  'Service',
  'PodDisruptionBudget',
  'NetworkPolicy',
]);

export interface CanaryOptions {
  readonly name: string;
  /** The new revision, rendered under `name`, and the candidate, rendered under `<name>-canary`. */
  readonly objects: readonly KubeObject[];
  readonly candidateObjects: readonly KubeObject[];
  /** The revision now serving: its routes come back on a rollback. */
  readonly stableObjects: readonly KubeObject[];
  readonly image: string;
  readonly rollout: RolloutSpec;
  /** Longest wait for pods to be ready, and for the whole analysis. */
  readonly timeoutMs: number;
  /** Pause between looks at a rollout. */
  readonly intervalMs?: number;
  /** REST over TLS (the metrics are read over HTTPS). */
  readonly tls: boolean;
  /** A key with berth's metrics role, sent as x-api-key when the pods have access control. */
  readonly metricsKey?: string;
  /** The gateway pods' REST is over TLS (serve.tls with kubernetes.gateway). */
  readonly gatewayTls?: boolean;
  readonly gpu?: boolean;
  readonly prune?: boolean;
  readonly onProgress?: (line: string) => void;
}

export interface CanaryResult {
  readonly state: RolloutState;
  readonly revision: number;
}

/** The annotation on the inventory ConfigMap where a running canary says where it stands. */
export const CANARY_ANNOTATION = 'berth.dev/canary';
/** Its own field manager, so that the inventory's other fields stay `berth`'s. */
const CANARY_MANAGER = 'berth-canary';

/** What `berth status --kube` shows of a canary: the last state the command recorded. */
export interface CanaryRecord {
  readonly image: string;
  readonly phase: RolloutState['phase'];
  readonly step: number;
  readonly steps: readonly number[];
  readonly weight: number;
  readonly reason: string;
  /** ISO 8601. */
  readonly at: string;
}

/** The last canary the inventory records, if any. */
export async function canaryRecord(kube: Kube, name: string): Promise<CanaryRecord | undefined> {
  const configMap = await kube.read<{ metadata?: { annotations?: Record<string, string> } }>({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    name: inventoryName(name),
    namespace: kube.namespace,
  });
  const text = configMap?.metadata?.annotations?.[CANARY_ANNOTATION];
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as CanaryRecord;
  } catch {
    return undefined;
  }
}

/** What each running pod of `selector` counted now, by pod name, and how many running pods did not answer. */
async function scrape<T>(
  kube: Kube,
  selector: Readonly<Record<string, string>>,
  tls: boolean,
  apiKey: string | undefined,
  parse: (text: string) => T,
): Promise<{ counts: Map<string, T>; unread: number }> {
  const counts = new Map<string, T>();
  let unread = 0;
  for (const pod of await kube.pods(kube.namespace, { ...selector })) {
    const name = pod.metadata?.name;
    if (name === undefined || pod.status?.phase !== 'Running') continue;
    const text = await kube.podMetrics(kube.namespace, name, tls, apiKey);
    if (text !== undefined) counts.set(name, parse(text));
    else unread++;
  }
  return { counts, unread };
}

/**
 * Runs the canary to its end.
 *
 * @throws BerthError BERTH_ERR_KUBE_ROLLOUT_FAILED when it is rolled back (the reasons named).
 */
export async function runCanary(kube: Kube, options: CanaryOptions, timing: Timing): Promise<CanaryResult> {
  const progress = options.onProgress ?? (() => undefined);
  const candidateName = `${options.name}-canary`;
  const candidate = options.candidateObjects.filter((o) => CANDIDATE_KINDS.has(o.kind));
  const host = (service: string) => {
    const vs = options.objects.find((o) => o.kind === 'VirtualService');
    const stableHost = vs?.kind === 'VirtualService' ? (vs.spec?.hosts?.[0] ?? options.name) : options.name;
    return stableHost.replace(new RegExp(`^${options.name}`), service);
  };
  const split = (weight: number) =>
    canaryRoutes(options.objects, {
      stable: options.name,
      candidate: candidateName,
      weight,
      candidateHost: host(candidateName),
    });
  // With berth's gateway, the gateway weighs the tracks: its traffic file is this ConfigMap.
  const trafficMap = options.objects.find(
    (o) => o.kind === 'ConfigMap' && o.metadata?.name === trafficConfigMapName(options.name),
  );
  // The whole rendered object under berth's own field manager, as the routes are: a later deploy
  // that writes `{}` again (even after a canary that was stopped midway) meets no conflict.
  const setTraffic = async (traffic: object) => {
    if (trafficMap === undefined) return;
    await kube.apply(
      { ...trafficMap, data: { [TRAFFIC_KEY]: `${JSON.stringify(traffic)}\n` } },
      { force: true },
    );
  };
  const { kind } = workloadOf(options.objects);
  const watch = (name: string) =>
    watchRollout(
      kube,
      {
        name,
        namespace: kube.namespace,
        image: options.image,
        timeoutMs: options.timeoutMs,
        gpu: options.gpu === true,
        kind,
        onProgress: progress,
        ...(options.intervalMs === undefined ? {} : { intervalMs: options.intervalMs }),
      },
      timing,
    );
  const removeCandidate = async () => {
    for (const object of [...candidate].reverse()) await kube.remove(refOf(object, kube.namespace));
    progress(`removed the candidate ${candidateName}`);
  };

  for (const object of candidate) await kube.apply(object);
  progress(`candidate ${candidateName} applied (${options.image})`);
  try {
    await watch(candidateName);
  } catch (error) {
    await removeCandidate();
    throw error;
  }

  const { rollout } = options;
  // Agreement is judged on what berth's gateway compared: only with the gateway in front.
  const agreement = trafficMap === undefined ? undefined : rollout.analysis.agreement;
  const policy: AnalysisPolicy = {
    errorRate: rollout.analysis.errorRate,
    p99Ms: rollout.analysis.p99Ms,
    agreement,
    minRequests: rollout.analysis.minRequests,
  };
  const started = timing.now();
  const strategy = rollout.strategy === 'shadow' ? 'shadow' : 'canary';
  const plan = new RolloutPlan(
    { strategy, steps: rollout.steps, intervalMs: rollout.interval, failAfter: rollout.failAfter },
    started,
  );
  let state = plan.state;
  let moved = '';
  const record = async (s: RolloutState) => {
    const value: CanaryRecord = {
      image: options.image,
      phase: s.phase,
      step: s.step,
      steps: rollout.steps,
      weight: s.weight,
      reason: s.reason,
      at: new Date().toISOString(),
    };
    await kube.apply(
      {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: {
          name: inventoryName(options.name),
          namespace: kube.namespace,
          annotations: { [CANARY_ANNOTATION]: JSON.stringify(value) },
        },
      },
      { manager: CANARY_MANAGER, force: true },
    );
  };
  await record(state);
  let warnedUnread = false;
  const read = async () => {
    const pods = (instance: string) =>
      scrape(kube, berthLabels(instance).selector, options.tls, options.metricsKey, inferCounts);
    const [stable, candidate] = [await pods(options.name), await pods(candidateName)];
    const gateways =
      agreement === undefined
        ? new Map<string, ComparisonCounts>()
        : (
            await scrape(
              kube,
              berthLabels(options.name, 'gateway').selector,
              options.gatewayTls === true,
              options.metricsKey,
              comparisonCounts,
            )
          ).counts;
    // No pod answering at all is a path problem, not the candidate's: say where to look, once.
    if (!warnedUnread && candidate.counts.size === 0 && candidate.unread > 0) {
      warnedUnread = true;
      progress(
        `canary: the API server could not read /metrics from any pod of ${candidateName}; with the NetworkPolicy, list the control plane's addresses in kubernetes.network.apiServer, and with access control give --metrics-key (every check stays inconclusive until then)`,
      );
    }
    return { stable: stable.counts, candidate: candidate.counts, gateways };
  };
  let before = await read();
  while (state.phase === 'progressing') {
    if (`${state.weight} ${state.mirror}` !== moved) {
      moved = `${state.weight} ${state.mirror}`;
      if (trafficMap === undefined) {
        for (const route of split(state.weight)) await kube.apply(route, { force: true });
        progress(`canary: ${state.weight} % of traffic to ${candidateName}`);
      } else {
        await setTraffic({
          candidate: true,
          weight: state.weight,
          mirror: state.mirror,
          step: state.step,
          ...(agreement === undefined ? {} : { compare: true }),
        });
        progress(
          strategy === 'shadow'
            ? `shadow: ${state.mirror} % of traffic copied to ${candidateName} by the gateway`
            : `canary: ${state.weight} % of traffic to ${candidateName}, weighed by the gateway`,
        );
      }
    }
    if (timing.now() - started >= options.timeoutMs) {
      state = plan.abort(
        timing.now(),
        `no verdict within ${Math.round(options.timeoutMs / 1000)} s: ${state.reason}`,
      );
      break;
    }
    await timing.sleep(Math.max(0, plan.dueAt() - timing.now()));
    const after = await read();
    const stableWindow = trackWindow(before.stable, after.stable);
    const candidateWindow = trackWindow(before.candidate, after.candidate);
    const agreed = agreementWindow(before.gateways, after.gateways);
    before = after;
    const check = analyse(stableWindow, candidateWindow, agreed, policy);
    state = plan.judge(check, timing.now());
    await record(state);
    const p99 = candidateWindow.p99Ms === undefined ? '-' : `${candidateWindow.p99Ms.toFixed(1)} ms`;
    progress(
      `canary: ${candidateWindow.requests} requests, ${candidateWindow.errors} errors, p99 ${p99}${agreement === undefined ? '' : `, ${agreed.agreed} of ${agreed.compared} answers agree`} (stable ${stableWindow.requests}, ${stableWindow.errors}): ${state.reason}`,
    );
  }

  if (state.phase === 'rolled-back') {
    await record(state);
    const routes = options.stableObjects.filter((o) =>
      ['HTTPRoute', 'GRPCRoute', 'VirtualService'].includes(o.kind),
    );
    for (const route of routes) await kube.apply(route, { force: true });
    await setTraffic({});
    progress('canary: all traffic back to the stable pods');
    await removeCandidate();
    throw new BerthError(
      'BERTH_ERR_KUBE_ROLLOUT_FAILED',
      `the canary of ${kube.namespace}/${options.name} was ${state.reason}`,
    );
  }
  progress(`canary: ${state.reason}; the stable Deployment takes the new revision`);
  const applied = await applyRevision(kube, {
    name: options.name,
    objects: options.objects,
    image: options.image,
    forceConflicts: true,
    prune: options.prune === true,
    onProgress: progress,
  });
  await watch(options.name);
  // The revision applied the traffic file back to `{}`; the gateways follow once the kubelet
  // updates their mounted copy, and until then a request for a candidate that is gone is
  // answered by the stable pods.
  await removeCandidate();
  return { state, revision: applied.revision };
}
