import { describe, expect, it } from 'vitest';
import type { DeploymentStatus } from '../orchestrator/index.js';
import { ago, formatStatus } from './status-command.js';

const now = 1_800_000_000_000;

function status(overrides: Partial<DeploymentStatus> = {}): DeploymentStatus {
  return {
    gateway: { url: 'http://127.0.0.1:8000', grpc: '127.0.0.1:8001' },
    startedAt: now - 65_000,
    replicas: [
      {
        id: 'r1',
        track: 'stable',
        revision: 1,
        state: 'ready',
        pid: 101,
        url: 'http://127.0.0.1:41001',
        inBalancer: true,
        healthy: true,
        outstanding: 3,
        ejected: false,
        breaker: 'closed',
        restarts: 1,
        crashLooping: false,
        lastExit: { code: null, signal: 'SIGKILL', at: now - 4000 },
      },
      {
        id: 'r2',
        track: 'stable',
        revision: 1,
        state: 'restarting',
        pid: undefined,
        url: undefined,
        inBalancer: false,
        healthy: false,
        outstanding: 0,
        ejected: false,
        breaker: undefined,
        restarts: 4,
        crashLooping: true,
        lastExit: { code: 2, signal: null, at: now - 1000 },
      },
    ],
    scaling: {
      mode: 'auto',
      min: 1,
      max: 4,
      desired: 2,
      targetInflightPerReplica: 8,
      reason: '17 in flight over 1 replica(s) = 17 each, target 8: scale up to 2',
    },
    traffic: { inflight: 3, waiting: 0, lastRequestAt: now - 500 },
    lastColdStartMs: undefined,
    revision: { id: 1, args: ['/models'] },
    rollout: undefined,
    ...overrides,
  };
}

describe('formatStatus', () => {
  it('shows scaling, its reason, the load, and one row per replica', () => {
    const text = formatStatus(status(), now);
    expect(text).toMatch(/scaling\s+auto, 1 to 4 replica\(s\), 2 desired, target 8 in flight per replica/);
    expect(text).toMatch(/why\s+17 in flight over 1 replica/);
    expect(text).toMatch(/traffic\s+3 in flight, 0 waiting for a replica, last request 1s ago/);
    expect(text).toMatch(/r1\s+ready\s+1\s+101\s+3\s+in\s+1\s+SIGKILL, 4s ago/);
    expect(text).toMatch(/r2\s+restarting \(crash loop\)\s+1\s+-\s+0\s+out\s+4\s+status 2, 1s ago/);
    expect(text).not.toMatch(/cold start/);
    expect(text).not.toMatch(/rollout/);
  });

  it('shows a rollout: its step, weight, last check and reason', () => {
    const text = formatStatus(
      status({
        rollout: {
          strategy: 'canary',
          revision: 2,
          phase: 'progressing',
          step: 1,
          steps: [10, 50, 100],
          weight: 10,
          mirror: 0,
          reason: 'check failed (1 of 2): error rate 12.0 % above 1.0 %',
          lastCheck: { verdict: 'fail', reasons: ['error rate 12.0 % above 1.0 %'] },
        },
      }),
      now,
    );
    expect(text).toMatch(/rollout\s+canary to revision 2: progressing, step 1 of 3 \(10 % of traffic\)/);
    expect(text).toMatch(/check failed \(1 of 2\): error rate 12.0 %/);
  });

  it('says when there is no replica, and what the last cold start cost', () => {
    const text = formatStatus(status({ replicas: [], lastColdStartMs: 850 }), now);
    expect(text).toMatch(/no replica \(scaled to zero/);
    expect(text).toMatch(/cold start\s+850 ms/);
  });
});

describe('ago', () => {
  it('reads as seconds, minutes or hours', () => {
    expect(ago(4200)).toBe('4s');
    expect(ago(185_000)).toBe('3m5s');
    expect(ago(120_000)).toBe('2m');
    expect(ago(7_300_000)).toBe('2h1m');
    expect(ago(-5)).toBe('0s');
  });
});
