import { describe, expect, it } from 'vitest';
import { rollbackTarget, watchRollout, workloadOf, type Timing } from './deploy.js';
import { renderKubernetes } from '../../test/helpers/kube-render.js';
import type { Kube } from './kube-client.js';
import type { DeploymentView } from './rollout-status.js';

/** A Kube whose Deployment is whatever `deployments` yields next; the rest is empty. */
function fakeKube(deployments: (DeploymentView | undefined)[]): Kube {
  let i = 0;
  return {
    server: 'https://fake',
    namespace: 'ml',
    missingApis: () => Promise.resolve([]),
    apply: () => Promise.resolve(),
    read: () => Promise.resolve(undefined),
    remove: () => Promise.resolve(false),
    workload: () => Promise.resolve(deployments[Math.min(i++, deployments.length - 1)]),
    pods: () => Promise.resolve([]),
    warnings: () => Promise.resolve([]),
    podMetrics: () => Promise.resolve(undefined),
    log: () => Promise.resolve(''),
  };
}

/** A fake clock: sleep moves it on. */
function fakeTiming(): Timing & { slept: number[] } {
  let now = 0;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: (ms) => {
      slept.push(ms);
      now += ms;
      return Promise.resolve();
    },
  };
}

const progressing: DeploymentView = {
  metadata: { generation: 1 },
  spec: { replicas: 1 },
  status: { observedGeneration: 1 },
};
const done: DeploymentView = {
  metadata: { generation: 1 },
  spec: { replicas: 1 },
  status: { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1 },
};

describe('watchRollout', () => {
  it('looks every interval until the rollout is complete, reporting each change once', async () => {
    const timing = fakeTiming();
    const lines: string[] = [];
    const verdict = await watchRollout(
      fakeKube([undefined, progressing, progressing, done]),
      { name: 'fraud', namespace: 'ml', image: 'i', timeoutMs: 60_000, onProgress: (l) => lines.push(l) },
      timing,
    );
    expect(verdict.state).toBe('complete');
    expect(timing.slept).toEqual([2000, 2000, 2000]);
    expect(lines).toEqual([
      'rollout: waiting for the Deployment',
      'rollout: 0 of 1 updated, 0 available',
      'rollout: 1 of 1 updated, 1 available',
    ]);
  });

  it('gives up at the timeout, saying the rollout goes on', async () => {
    const timing = fakeTiming();
    await expect(
      watchRollout(
        fakeKube([progressing]),
        { name: 'fraud', namespace: 'ml', image: 'i', timeoutMs: 10_000 },
        timing,
      ),
    ).rejects.toMatchObject({
      code: 'BERTH_ERR_KUBE_ROLLOUT_TIMEOUT',
      message: expect.stringMatching(
        /still in progress after 10 s \(0 of 1 updated, 0 available\); it goes on in the cluster/,
      ),
    });
    expect(timing.now()).toBe(10_000);
  });
});

describe('rollbackTarget', () => {
  const revision = (n: number) => ({ revision: n, appliedAt: 't', image: `i${n}`, objects: [] });
  it('is the revision before the current, or the one asked for', () => {
    const inventory = { revisions: [revision(3), revision(4), revision(5)] };
    expect(rollbackTarget(inventory).revision).toBe(4);
    expect(rollbackTarget(inventory, 3).revision).toBe(3);
    expect(() => rollbackTarget(inventory, 5)).toThrow(/no revision 5 to return to \(kept: 3, 4, 5\)/);
    expect(() => rollbackTarget({ revisions: [revision(1)] })).toThrow(/no revision before revision 1/);
  });
});

describe('workloadOf', () => {
  const objects = renderKubernetes;

  it('names the workload kind and whether its pods ask for a GPU, whatever the resource is called', () => {
    expect(workloadOf(objects('{}'))).toEqual({ kind: 'Deployment', gpu: false });
    expect(workloadOf(objects('{ resources: { gpu: 1, gpuResource: amd.com/gpu } }'))).toEqual({
      kind: 'Deployment',
      gpu: true,
    });
    const image = `r/m@sha256:${'b'.repeat(64)}`;
    expect(workloadOf(objects(`{ models: { source: oci, image: "${image}", cache: true } }`))).toEqual({
      kind: 'StatefulSet',
      gpu: false,
    });
    expect(workloadOf([])).toEqual({ kind: 'Deployment', gpu: false });
  });
});
