import { describe, expect, it } from 'vitest';
import {
  assessRollout,
  PROBLEM_GRACE_MS,
  type DeploymentView,
  type PodView,
  type RolloutObservation,
  type Seen,
} from './rollout-status.js';

function deployment(
  updated: number,
  available: number,
  extra: Partial<NonNullable<DeploymentView['status']>> = {},
): DeploymentView {
  return {
    metadata: { name: 'fraud', generation: 2 },
    spec: { replicas: 2 },
    status: {
      observedGeneration: 2,
      replicas: updated,
      updatedReplicas: updated,
      availableReplicas: available,
      ...extra,
    },
  };
}

const waitingPod = (reason: string, message: string, restartCount = 0): PodView => ({
  metadata: { name: 'fraud-abc-1' },
  status: {
    phase: 'Pending',
    containerStatuses: [
      { name: 'berth', ready: false, restartCount, state: { waiting: { reason, message } } },
    ],
  },
});

/** Runs the judgement at each time, carrying what it saw, as the watch loop does. */
function over(observation: RolloutObservation, times: readonly number[]) {
  let seen: Seen = new Map();
  return times.map((t) => {
    const verdict = assessRollout(observation, t, seen);
    seen = verdict.seen;
    return verdict;
  });
}

describe('assessRollout', () => {
  it('is complete when every pod is updated and available and no old one runs', () => {
    expect(assessRollout({ deployment: deployment(2, 2), pods: [], events: [] }, 0, new Map()).state).toBe(
      'complete',
    );
    const old = assessRollout(
      { deployment: deployment(2, 2, { replicas: 3 }), pods: [], events: [] },
      0,
      new Map(),
    );
    expect(old).toMatchObject({
      state: 'progressing',
      summary: '2 of 2 updated, 2 available, 1 old still running',
    });
  });

  it('waits until the controller has seen the new generation', () => {
    const stale = { ...deployment(2, 2), status: { ...deployment(2, 2).status, observedGeneration: 1 } };
    expect(assessRollout({ deployment: stale, pods: [], events: [] }, 0, new Map()).state).toBe(
      'progressing',
    );
    expect(assessRollout({ deployment: undefined, pods: [], events: [] }, 0, new Map()).state).toBe(
      'progressing',
    );
  });

  it('fails an image pull only once it has lasted its grace, quoting the kubelet', () => {
    const observation: RolloutObservation = {
      deployment: deployment(1, 0),
      pods: [waitingPod('ImagePullBackOff', 'Back-off pulling image "r/x@sha256:1"')],
      events: [
        {
          type: 'Warning',
          reason: 'Failed',
          message: 'Failed to pull image "r/x@sha256:1": not found',
          involvedObject: { kind: 'Pod', name: 'fraud-abc-1' },
        },
      ],
    };
    const [first, before, after] = over(observation, [
      1000,
      1000 + PROBLEM_GRACE_MS.imagePull - 1,
      1000 + PROBLEM_GRACE_MS.imagePull,
    ]);
    expect(first?.state).toBe('progressing');
    expect(first?.problems).toEqual([
      'pod fraud-abc-1: the image cannot be pulled: Failed to pull image "r/x@sha256:1": not found',
    ]);
    expect(before?.state).toBe('progressing');
    expect(after?.state).toBe('failed');
  });

  it('forgets a problem that went away: its grace starts again', () => {
    const failing: RolloutObservation = {
      deployment: deployment(1, 0),
      pods: [waitingPod('ErrImagePull', 'pull failed')],
      events: [],
    };
    let seen: Seen = assessRollout(failing, 0, new Map()).seen;
    seen = assessRollout({ ...failing, pods: [] }, 20_000, seen).seen;
    expect(assessRollout(failing, 40_000, seen).state).toBe('progressing');
  });

  it('fails a crash loop at once after three restarts, with the last log lines', () => {
    const pod: PodView = {
      metadata: { name: 'fraud-abc-1' },
      status: {
        containerStatuses: [
          {
            name: 'berth',
            restartCount: 3,
            state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 40s' } },
            lastState: { terminated: { exitCode: 2, reason: 'Error' } },
          },
        ],
      },
    };
    const verdict = assessRollout(
      { deployment: deployment(1, 0), pods: [pod], events: [], logs: { 'fraud-abc-1': 'berth: no model\n' } },
      0,
      new Map(),
    );
    expect(verdict.state).toBe('failed');
    expect(verdict.problems).toEqual([
      'pod fraud-abc-1: crash loop: container berth exited 2 (Error), 3 restarts; last log lines:\nberth: no model',
    ]);
    const once = {
      ...pod,
      status: { containerStatuses: [{ ...pod.status!.containerStatuses![0]!, restartCount: 1 }] },
    };
    expect(
      assessRollout({ deployment: deployment(1, 0), pods: [once], events: [] }, 1e9, new Map()).state,
    ).toBe('progressing');
  });

  it('names an unschedulable pod, with the GPU hint when the pods ask for one', () => {
    const pod: PodView = {
      metadata: { name: 'resnet-abc-1' },
      status: {
        conditions: [
          {
            type: 'PodScheduled',
            status: 'False',
            reason: 'Unschedulable',
            message: '0/3 nodes are available: 3 Insufficient nvidia.com/gpu.',
          },
        ],
      },
    };
    const [, late] = over({ deployment: deployment(1, 0), pods: [pod], events: [], gpu: true }, [
      0,
      PROBLEM_GRACE_MS.unschedulable,
    ]);
    expect(late?.state).toBe('failed');
    expect(late?.problems[0]).toMatch(
      /^no node can run the pods: 0\/3 nodes are available: 3 Insufficient nvidia\.com\/gpu\. No GPU node matches/,
    );
  });

  it('names a failing readiness probe of a running pod, and fails at the progress deadline with the causes', () => {
    const pod: PodView = {
      metadata: { name: 'fraud-abc-1' },
      status: { containerStatuses: [{ name: 'berth', ready: false, state: {} }] },
    };
    const events = [
      {
        type: 'Warning',
        reason: 'Unhealthy',
        message: 'Readiness probe failed: HTTP probe failed with statuscode: 503',
        involvedObject: { name: 'fraud-abc-1' },
      },
    ];
    expect(
      assessRollout({ deployment: deployment(1, 0), pods: [pod], events }, 0, new Map()).problems,
    ).toEqual(['pod fraud-abc-1: Readiness probe failed: HTTP probe failed with statuscode: 503']);
    const deadline = deployment(1, 0, {
      conditions: [
        {
          type: 'Progressing',
          status: 'False',
          reason: 'ProgressDeadlineExceeded',
          message: 'ReplicaSet "fraud-abc" has timed out progressing.',
        },
      ],
    });
    const verdict = assessRollout({ deployment: deadline, pods: [pod], events }, 0, new Map());
    expect(verdict.state).toBe('failed');
    expect(verdict.problems).toEqual([
      'the rollout made no progress within the deadline: ReplicaSet "fraud-abc" has timed out progressing.',
      'pod fraud-abc-1: Readiness probe failed: HTTP probe failed with statuscode: 503',
    ]);
  });
});
