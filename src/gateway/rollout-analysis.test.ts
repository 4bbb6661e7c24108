import { describe, expect, it } from 'vitest';
import {
  analyse,
  RolloutPlan,
  type AnalysisPolicy,
  type Check,
  type RolloutPolicy,
} from './rollout-analysis.js';

const policy: AnalysisPolicy = { errorRate: 0.01, p99Ms: 250, agreement: 0.99, minRequests: 20 };
const healthy = { requests: 1000, errors: 2, p99Ms: 80 };
const agreeing = { compared: 500, agreed: 499 };

describe('analyse', () => {
  it('passes a candidate within every threshold', () => {
    expect(analyse(healthy, { requests: 100, errors: 1, p99Ms: 120 }, agreeing, policy)).toEqual({
      verdict: 'pass',
      reasons: [],
    });
  });

  it('fails on error rate, p99 and agreement, naming each with the stable figure beside it', () => {
    const check = analyse(
      healthy,
      { requests: 100, errors: 5, p99Ms: 300 },
      { compared: 100, agreed: 90 },
      policy,
    );
    expect(check.verdict).toBe('fail');
    expect(check.reasons).toEqual([
      'error rate 5.0 % above 1.0 %; stable 0.20 %',
      'p99 300.0 ms above 250 ms; stable 80.0 ms',
      'agreement 90.0 % below 99.0 % (10 of 100 differ)',
    ]);
  });

  it('is inconclusive with too little traffic, and a failure still wins over that', () => {
    expect(analyse(healthy, { requests: 5, errors: 0, p99Ms: 10 }, agreeing, policy)).toEqual({
      verdict: 'inconclusive',
      reasons: ['5 candidate request(s), at least 20 needed'],
    });
    const shadowStarved = analyse(
      healthy,
      { requests: 100, errors: 50, p99Ms: 10 },
      { compared: 3, agreed: 3 },
      policy,
    );
    expect(shadowStarved.verdict).toBe('fail');
  });

  it('does not check agreement when the policy has none', () => {
    const check = analyse(
      healthy,
      { requests: 100, errors: 0, p99Ms: 10 },
      { compared: 0, agreed: 0 },
      {
        ...policy,
        agreement: undefined,
      },
    );
    expect(check.verdict).toBe('pass');
  });
});

const canary: RolloutPolicy = { strategy: 'canary', steps: [10, 50, 100], intervalMs: 1000, failAfter: 2 };
const pass: Check = { verdict: 'pass', reasons: [] };
const fail: Check = { verdict: 'fail', reasons: ['error rate 5.0 % above 1.0 %'] };
const unsure: Check = { verdict: 'inconclusive', reasons: ['5 candidate request(s), at least 20 needed'] };

describe('RolloutPlan', () => {
  it('moves through the steps on passing checks and promotes after the last', () => {
    const plan = new RolloutPlan(canary, 0);
    expect(plan.state).toMatchObject({ phase: 'progressing', weight: 10, mirror: 0, step: 0 });
    expect(plan.judge(pass, 1000)).toMatchObject({ weight: 50, step: 1, reason: 'passed step 1: now 50 %' });
    expect(plan.judge(pass, 2000)).toMatchObject({ weight: 100, step: 2 });
    expect(plan.judge(pass, 3000)).toMatchObject({
      phase: 'promoted',
      weight: 100,
      reason: 'promoted: every step passed',
    });
    expect(plan.judge(fail, 9000).phase).toBe('promoted');
  });

  it('ignores a check that comes before the step has run its interval', () => {
    const plan = new RolloutPlan(canary, 0);
    expect(plan.judge(pass, 999).weight).toBe(10);
    expect(plan.dueAt()).toBe(1000);
  });

  it('rolls back by itself on the failAfter-th failure in a row, weights to zero', () => {
    const plan = new RolloutPlan(canary, 0);
    plan.judge(pass, 1000);
    expect(plan.judge(fail, 2000)).toMatchObject({
      phase: 'progressing',
      weight: 50,
      consecutiveFailures: 1,
      reason: 'check failed (1 of 2): error rate 5.0 % above 1.0 %',
    });
    expect(plan.judge(fail, 3000)).toEqual({
      phase: 'rolled-back',
      step: 1,
      weight: 0,
      mirror: 0,
      consecutiveFailures: 2,
      stepStartedAt: 3000,
      reason: 'rolled back after 2 failed check(s): error rate 5.0 % above 1.0 %',
    });
  });

  it('holds a step on an inconclusive check without resetting or adding failures', () => {
    const plan = new RolloutPlan(canary, 0);
    plan.judge(fail, 1000);
    expect(plan.judge(unsure, 2000)).toMatchObject({
      weight: 10,
      consecutiveFailures: 1,
      reason: `held: ${unsure.reasons[0]}`,
    });
    expect(plan.judge(fail, 3000).phase).toBe('rolled-back');
  });

  it('a pass clears the failures counted so far', () => {
    const plan = new RolloutPlan(canary, 0);
    plan.judge(fail, 1000);
    plan.judge(pass, 2000);
    expect(plan.judge(fail, 3000)).toMatchObject({ phase: 'progressing', consecutiveFailures: 1 });
  });

  it('mirrors a shadow rollout instead of answering from it, then promotes', () => {
    const plan = new RolloutPlan({ ...canary, strategy: 'shadow', steps: [25, 100] }, 0);
    expect(plan.state).toMatchObject({ weight: 0, mirror: 25 });
    expect(plan.judge(pass, 1000)).toMatchObject({ weight: 0, mirror: 100 });
    expect(plan.judge(pass, 2000)).toMatchObject({ phase: 'promoted', weight: 100, mirror: 0 });
  });

  it('promotes or aborts by hand', () => {
    expect(new RolloutPlan(canary, 0).promote(5)).toMatchObject({ phase: 'promoted', weight: 100 });
    expect(new RolloutPlan(canary, 0).abort(5)).toMatchObject({
      phase: 'rolled-back',
      weight: 0,
      reason: 'aborted by hand',
    });
  });

  it('refuses steps that do not rise to 100, and other impossible plans', () => {
    expect(() => new RolloutPlan({ ...canary, steps: [10, 50] }, 0)).toThrow('end with 100');
    expect(() => new RolloutPlan({ ...canary, steps: [50, 10, 100] }, 0)).toThrow('rise');
    expect(() => new RolloutPlan({ ...canary, intervalMs: 0 }, 0)).toThrow('intervalMs');
    expect(() => new RolloutPlan({ ...canary, failAfter: 0 }, 0)).toThrow('failAfter');
  });
});
