/**
 * Whether a Deployment's rollout is done, still going, or failed, and why in plain words: the
 * judgement `berth deploy --wait` makes from what the API server says (the Deployment's status
 * and conditions, its pods, their events), as `kubectl rollout status` does, but naming the cause
 * (the image cannot be pulled, no node fits, a probe fails with the probe's output, a crash loop
 * with the last log lines) instead of waiting for the progress deadline.
 *
 * Pure: the caller passes what it read and the time; problems must persist for a while before they
 * fail the rollout (an image pull can fail once and work on the retry), which `Seen` remembers
 * between calls.
 */

/** The fields of a Deployment the judgement reads (a client-node V1Deployment has them). */
export interface DeploymentView {
  readonly metadata?: { readonly generation?: number; readonly name?: string };
  readonly spec?: { readonly replicas?: number };
  readonly status?: {
    readonly observedGeneration?: number;
    readonly replicas?: number;
    readonly updatedReplicas?: number;
    readonly readyReplicas?: number;
    readonly availableReplicas?: number;
    readonly unavailableReplicas?: number;
    readonly conditions?: readonly {
      readonly type: string;
      readonly status: string;
      readonly reason?: string;
      readonly message?: string;
    }[];
  };
}

interface ContainerStateView {
  readonly waiting?: { readonly reason?: string; readonly message?: string };
  readonly terminated?: { readonly exitCode?: number; readonly reason?: string; readonly message?: string };
}

export interface PodView {
  readonly metadata?: { readonly name?: string };
  readonly status?: {
    readonly phase?: string;
    readonly conditions?: readonly {
      readonly type: string;
      readonly status: string;
      readonly reason?: string;
      readonly message?: string;
    }[];
    readonly containerStatuses?: readonly {
      readonly name: string;
      readonly ready?: boolean;
      readonly restartCount?: number;
      readonly state?: ContainerStateView;
      readonly lastState?: ContainerStateView;
    }[];
  };
}

export interface EventView {
  readonly type?: string;
  readonly reason?: string;
  readonly message?: string;
  readonly count?: number;
  readonly involvedObject?: { readonly name?: string; readonly kind?: string };
}

export interface RolloutObservation {
  readonly deployment: DeploymentView | undefined;
  /** The pods of the new revision (the newest ReplicaSet's), or all of the Deployment's. */
  readonly pods: readonly PodView[];
  /** Warning events of those pods. */
  readonly events: readonly EventView[];
  /** Last log lines of each crash-looping container, by pod name. */
  readonly logs?: Readonly<Record<string, string>>;
  /** Whether the pods ask for a GPU (for the unschedulable hint). */
  readonly gpu?: boolean;
}

/** When each problem (by key) was first seen; carried from one call to the next. */
export type Seen = ReadonlyMap<string, number>;

export interface RolloutVerdict {
  readonly state: 'progressing' | 'complete' | 'failed';
  /** One line per replica count or problem, for a progress display. */
  readonly summary: string;
  /** The causes, in plain words; on failure, why. */
  readonly problems: readonly string[];
  readonly seen: Seen;
}

/** How long a problem must last before it fails the rollout. */
export const PROBLEM_GRACE_MS = {
  imagePull: 30_000,
  unschedulable: 60_000,
  crashLoop: 0,
  probe: 120_000,
} as const;
/** Restarts in a crash loop before it fails the rollout. */
const CRASH_RESTARTS = 3;

function condition(d: DeploymentView, type: string) {
  return d.status?.conditions?.find((c) => c.type === type);
}

interface Problem {
  readonly key: string;
  readonly graceMs: number;
  readonly text: string;
}

function podProblems(observation: RolloutObservation): Problem[] {
  const problems: Problem[] = [];
  for (const pod of observation.pods) {
    const name = pod.metadata?.name ?? 'a pod';
    const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
    if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
      const hint = observation.gpu
        ? ' No GPU node matches: check that GPU nodes run the device plugin, and kubernetes.scheduling.nodeSelector and tolerations.'
        : '';
      problems.push({
        key: 'unschedulable',
        graceMs: PROBLEM_GRACE_MS.unschedulable,
        text: `no node can run the pods: ${scheduled.message ?? 'unschedulable'}.${hint}`.replace('..', '.'),
      });
    }
    for (const c of pod.status?.containerStatuses ?? []) {
      const waiting = c.state?.waiting;
      if (
        waiting?.reason === 'ErrImagePull' ||
        waiting?.reason === 'ImagePullBackOff' ||
        waiting?.reason === 'InvalidImageName'
      ) {
        const pulled = observation.events.find(
          (e) => e.involvedObject?.name === name && e.reason === 'Failed' && /pull/i.test(e.message ?? ''),
        );
        problems.push({
          key: `image:${name}`,
          graceMs: waiting.reason === 'InvalidImageName' ? 0 : PROBLEM_GRACE_MS.imagePull,
          text: `pod ${name}: the image cannot be pulled: ${pulled?.message ?? waiting.message ?? waiting.reason}`,
        });
      }
      if (waiting?.reason === 'CrashLoopBackOff' || (c.restartCount ?? 0) >= CRASH_RESTARTS) {
        const last = c.lastState?.terminated ?? c.state?.terminated;
        const log = observation.logs?.[name];
        const exit =
          last?.exitCode === undefined
            ? ''
            : ` exited ${last.exitCode}${last.reason === undefined ? '' : ` (${last.reason})`}`;
        problems.push({
          key: `crash:${name}`,
          graceMs:
            (c.restartCount ?? 0) >= CRASH_RESTARTS ? PROBLEM_GRACE_MS.crashLoop : Number.POSITIVE_INFINITY,
          text: `pod ${name}: crash loop: container ${c.name}${exit}, ${c.restartCount ?? 0} restarts${log === undefined || log === '' ? '' : `; last log lines:\n${log.trimEnd()}`}`,
        });
      }
      if (waiting?.reason === 'CreateContainerConfigError' || waiting?.reason === 'CreateContainerError') {
        problems.push({
          key: `config:${name}`,
          graceMs: PROBLEM_GRACE_MS.imagePull,
          text: `pod ${name}: the container cannot be created: ${waiting.message ?? waiting.reason}`,
        });
      }
    }
    const unhealthy = observation.events.filter(
      (e) => e.involvedObject?.name === name && e.reason === 'Unhealthy',
    );
    const latest = unhealthy[unhealthy.length - 1];
    const running =
      pod.status?.containerStatuses?.some((c) => c.ready !== true && c.state?.waiting === undefined) ?? false;
    if (latest !== undefined && running) {
      problems.push({
        key: `probe:${name}`,
        graceMs: PROBLEM_GRACE_MS.probe,
        text: `pod ${name}: ${latest.message ?? 'a probe fails'}`,
      });
    }
  }
  return problems;
}

/**
 * The rollout's state now.
 *
 * @example
 * let seen: Seen = new Map();
 * const verdict = assessRollout(observation, Date.now(), seen); seen = verdict.seen;
 */
export function assessRollout(observation: RolloutObservation, now: number, seen: Seen): RolloutVerdict {
  const d = observation.deployment;
  if (d === undefined)
    return { state: 'progressing', summary: 'waiting for the Deployment', problems: [], seen };
  const wanted = d.spec?.replicas ?? 1;
  const status = d.status ?? {};
  const updated = status.updatedReplicas ?? 0;
  const available = status.availableReplicas ?? 0;
  const total = status.replicas ?? 0;
  const summary = `${updated} of ${wanted} updated, ${available} available${total > updated ? `, ${total - updated} old still running` : ''}`;
  const observed = (status.observedGeneration ?? 0) >= (d.metadata?.generation ?? 1);
  const progressing = condition(d, 'Progressing');
  if (observed && progressing?.reason === 'ProgressDeadlineExceeded') {
    const causes = podProblems(observation).map((p) => p.text);
    return {
      state: 'failed',
      summary,
      problems: [
        `the rollout made no progress within the deadline: ${progressing.message ?? ''}`.trimEnd(),
        ...causes,
      ],
      seen,
    };
  }
  if (observed && updated >= wanted && available >= wanted && total <= updated) {
    return { state: 'complete', summary, problems: [], seen: new Map() };
  }
  const problems = podProblems(observation);
  const next = new Map<string, number>();
  for (const p of problems) next.set(p.key, seen.get(p.key) ?? now);
  const failing = problems.filter((p) => now - (next.get(p.key) ?? now) >= p.graceMs);
  return {
    state: failing.length > 0 ? 'failed' : 'progressing',
    summary,
    problems: (failing.length > 0 ? failing : problems).map((p) => p.text),
    seen: next,
  };
}
