/**
 * `berth deploy` and `berth rollback`: apply a revision's objects with server-side apply, record
 * it in the inventory, prune what the revision no longer has, and watch the Deployment's rollout
 * until its pods are ready, failing with the causes in plain words (rollout-status.ts). The time
 * and the pause between looks are injected, so the loop runs on a fake clock in tests.
 */
import { BerthError } from '../ground/index.js';
import {
  inventoryName,
  inventoryObject,
  pruneList,
  readInventory,
  refOf,
  withRevision,
  type Inventory,
  type ObjectRef,
  type Revision,
} from './inventory.js';
import type { Kube } from './kube-client.js';
import { berthLabels, type KubeObject } from './objects.js';
import { assessRollout, type RolloutVerdict, type Seen } from './rollout-status.js';

export interface Timing {
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
}

export interface ApplyRevisionOptions {
  /** The deployment's name (the inventory is `<name>-berth`). */
  readonly name: string;
  readonly objects: readonly KubeObject[];
  readonly image: string;
  readonly dryRun?: boolean;
  readonly prune?: boolean;
  readonly forceConflicts?: boolean;
  readonly onProgress?: (line: string) => void;
  /** The inventory as the caller just read it (else it is read here). */
  readonly inventory?: Inventory;
}

export interface AppliedRevision {
  /** The revision's number in the inventory (0 for a dry run). */
  readonly revision: number;
  readonly applied: readonly ObjectRef[];
  readonly pruned: readonly ObjectRef[];
}

/** Resources a container may ask for that are not an accelerator. */
const PLAIN_RESOURCES = /^(cpu|memory|ephemeral-storage|hugepages-.+)$/;

/**
 * The workload among a revision's objects: its kind (a StatefulSet when each pod keeps its own
 * models claim) and whether its pods ask for a GPU (an extended resource such as nvidia.com/gpu).
 */
export function workloadOf(objects: readonly KubeObject[]): {
  kind: 'Deployment' | 'StatefulSet';
  gpu: boolean;
} {
  const workload = objects.find((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet');
  const containers =
    workload?.kind === 'Deployment' || workload?.kind === 'StatefulSet'
      ? (workload.spec?.template.spec?.containers ?? [])
      : [];
  return {
    kind: workload?.kind === 'StatefulSet' ? 'StatefulSet' : 'Deployment',
    gpu: containers.some((c) => Object.keys(c.resources?.limits ?? {}).some((r) => !PLAIN_RESOURCES.test(r))),
  };
}

/** What the inventory says now, read from the cluster. */
export async function loadInventory(kube: Kube, name: string): Promise<Inventory> {
  const configMap = await kube.read<{ data?: Record<string, string> }>({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    name: inventoryName(name),
    namespace: kube.namespace,
  });
  return readInventory(configMap);
}

const show = (r: ObjectRef) => `${r.kind} ${r.namespace === undefined ? '' : `${r.namespace}/`}${r.name}`;

/**
 * Applies `objects` as the newest revision: every object (in order, so a Namespace comes before
 * what it holds), then the inventory, then the pruning of what the previous revision had and this
 * one does not.
 */
export async function applyRevision(kube: Kube, options: ApplyRevisionOptions): Promise<AppliedRevision> {
  const progress = options.onProgress ?? (() => undefined);
  const missing = await kube.missingApis(options.objects);
  if (missing.length > 0)
    throw new BerthError(
      'BERTH_ERR_KUBE_MISSING_API',
      `the cluster at ${kube.server} does not serve ${missing.join(', ')}: install what provides ${missing.length === 1 ? 'it' : 'them'} (docs/kubernetes.md, "What each option needs") or change the spec; nothing was applied`,
    );
  const inventory = options.inventory ?? (await loadInventory(kube, options.name));
  const applied: ObjectRef[] = [];
  for (const object of options.objects) {
    const ref = refOf(object, kube.namespace);
    const withNamespace =
      ref.namespace === undefined
        ? object
        : { ...object, metadata: { ...object.metadata, namespace: ref.namespace } };
    await kube.apply(withNamespace, {
      dryRun: options.dryRun === true,
      force: options.forceConflicts === true,
    });
    applied.push(ref);
    progress(`${options.dryRun === true ? 'checked' : 'applied'} ${show(ref)}`);
  }
  if (options.dryRun === true) return { revision: 0, applied, pruned: [] };
  const previous = inventory.revisions[inventory.revisions.length - 1];
  const next = withRevision(inventory, {
    appliedAt: new Date().toISOString(),
    image: options.image,
    objects: options.objects,
  });
  const labels = berthLabels(options.name).all;
  await kube.apply(inventoryObject(options.name, kube.namespace, labels, next), { force: true });
  const pruned: ObjectRef[] = [];
  if (options.prune === true && previous !== undefined) {
    for (const ref of pruneList(
      previous.objects.map((o) => refOf(o, kube.namespace)),
      applied,
    )) {
      if (await kube.remove(ref)) progress(`pruned ${show(ref)}`);
      pruned.push(ref);
    }
  }
  const revision = next.revisions[next.revisions.length - 1]?.revision ?? 0;
  return { revision, applied, pruned };
}

/** The revision `berth rollback` returns to: the one before the current, or `to`. */
export function rollbackTarget(inventory: Inventory, to?: number): Revision {
  const revisions = inventory.revisions;
  const current = revisions[revisions.length - 1];
  const target =
    to === undefined
      ? revisions[revisions.length - 2]
      : revisions.find((r) => r.revision === to && r !== current);
  if (target === undefined)
    throw new BerthError(
      'BERTH_ERR_KUBE_NO_REVISION',
      to === undefined
        ? `no revision before ${current === undefined ? 'the first deploy' : `revision ${current.revision}`} in the inventory`
        : `no revision ${to} to return to (kept: ${revisions.map((r) => r.revision).join(', ') || 'none'})`,
    );
  return target;
}

export interface WatchOptions {
  readonly name: string;
  readonly namespace: string;
  /** The image the new pods run (to tell them from the old ones). */
  readonly image: string;
  /** The workload's kind. Default Deployment. */
  readonly kind?: 'Deployment' | 'StatefulSet';
  readonly timeoutMs: number;
  readonly gpu?: boolean;
  /** Pause between looks. Default 2 s. */
  readonly intervalMs?: number;
  readonly onProgress?: (line: string) => void;
}

/**
 * Looks at the rollout until it completes, fails or times out.
 *
 * @throws BerthError BERTH_ERR_KUBE_ROLLOUT_FAILED with the causes, or BERTH_ERR_KUBE_ROLLOUT_TIMEOUT.
 */
export async function watchRollout(
  kube: Kube,
  options: WatchOptions,
  timing: Timing,
): Promise<RolloutVerdict> {
  const progress = options.onProgress ?? (() => undefined);
  const started = timing.now();
  const selector = berthLabels(options.name).selector;
  let seen: Seen = new Map();
  let last = '';
  for (;;) {
    const deployment = await kube.workload(options.namespace, options.name, options.kind ?? 'Deployment');
    const pods = (await kube.pods(options.namespace, selector)).filter(
      (pod) =>
        (pod as { spec?: { containers?: { image?: string }[] } }).spec?.containers?.some(
          (c) => c.image === options.image,
        ) ?? true,
    );
    const names = new Set(pods.map((p) => p.metadata?.name));
    const events = (await kube.warnings(options.namespace)).filter((e) => names.has(e.involvedObject?.name));
    const logs: Record<string, string> = {};
    for (const pod of pods) {
      for (const c of pod.status?.containerStatuses ?? []) {
        if (c.state?.waiting?.reason === 'CrashLoopBackOff' && pod.metadata?.name !== undefined)
          logs[pod.metadata.name] = await kube.log(options.namespace, pod.metadata.name, c.name, 20);
      }
    }
    const verdict = assessRollout(
      { deployment, pods, events, logs, gpu: options.gpu === true },
      timing.now(),
      seen,
    );
    seen = verdict.seen;
    const line = [verdict.summary, ...verdict.problems].join('; ');
    if (line !== last) progress(`rollout: ${line}`);
    last = line;
    if (verdict.state === 'complete') return verdict;
    if (verdict.state === 'failed')
      throw new BerthError(
        'BERTH_ERR_KUBE_ROLLOUT_FAILED',
        `the rollout of ${options.kind ?? 'Deployment'} ${options.namespace}/${options.name} failed:\n  ${verdict.problems.join('\n  ')}`,
      );
    if (timing.now() - started >= options.timeoutMs)
      throw new BerthError(
        'BERTH_ERR_KUBE_ROLLOUT_TIMEOUT',
        `the rollout of ${options.kind ?? 'Deployment'} ${options.namespace}/${options.name} was still in progress after ${Math.round(options.timeoutMs / 1000)} s (${verdict.summary}${verdict.problems.length > 0 ? `; ${verdict.problems.join('; ')}` : ''}); it goes on in the cluster`,
      );
    await timing.sleep(options.intervalMs ?? 2000);
  }
}
