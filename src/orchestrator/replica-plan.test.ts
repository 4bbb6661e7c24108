import { describe, expect, it } from 'vitest';
import { planReplicas, type RunningReplica } from './replica-plan.js';

const replica = (id: string, current = true, ready = true): RunningReplica => ({
  id,
  current,
  ready,
  order: Number(id.slice(1)),
});

describe('planReplicas', () => {
  it('starts what is missing and drains the surplus: not ready ones first, then the newest', () => {
    expect(planReplicas([replica('r1')], 3)).toEqual({ start: 2, drain: [], rolledOut: true });
    expect(planReplicas([replica('r1'), replica('r2'), replica('r3', true, false)], 1)).toEqual({
      start: 0,
      drain: ['r3', 'r2'],
      rolledOut: true,
    });
    expect(planReplicas([replica('r1'), replica('r2')], 2)).toEqual({ start: 0, drain: [], rolledOut: true });
    expect(planReplicas([replica('r1')], 0)).toEqual({ start: 0, drain: ['r1'], rolledOut: true });
  });

  it('replaces older replicas one at a time, never more than one above the count', () => {
    const old = [replica('r1', false), replica('r2', false)];
    // Surge: one new replica first.
    expect(planReplicas(old, 2)).toEqual({ start: 1, drain: [], rolledOut: false });
    // Until it is ready, nothing else moves.
    expect(planReplicas([...old, replica('r3', true, false)], 2)).toEqual({
      start: 0,
      drain: [],
      rolledOut: false,
    });
    // Ready: one old replica goes and its replacement starts.
    expect(planReplicas([...old, replica('r3')], 2)).toEqual({ start: 1, drain: ['r1'], rolledOut: false });
    // A not-ready old one goes before a ready one.
    expect(planReplicas([replica('r1', false), replica('r2', false, false), replica('r3')], 2).drain).toEqual(
      ['r2'],
    );
    // Done when none is old.
    expect(planReplicas([replica('r3'), replica('r4')], 2)).toEqual({ start: 0, drain: [], rolledOut: true });
  });

  it('drains older replicas first when scaling down during an update, and surges nothing at zero', () => {
    expect(planReplicas([replica('r1', false), replica('r2'), replica('r3')], 1)).toEqual({
      start: 0,
      drain: ['r1'],
      rolledOut: false,
    });
    expect(planReplicas([replica('r1', false)], 0)).toEqual({ start: 0, drain: ['r1'], rolledOut: false });
  });
});
