/** The stand-in API server's server-side apply semantics, checked on their own. */
import { describe, expect, it } from 'vitest';
import { applyConfig, leaves, managedFields, type Ownership } from './field-ownership.js';

const config = (replicas: number, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'fraud', labels: { a: '1' } },
  spec: { replicas, ...extra },
});

describe('server-side apply in the stand-in', () => {
  it('owns the leaves a manager applied, lists whole', () => {
    expect(leaves(config(2, { ports: [1, 2] }))).toEqual([
      ['metadata', 'name'],
      ['metadata', 'labels', 'a'],
      ['spec', 'replicas'],
      ['spec', 'ports'],
    ]);
  });

  it('removes what a manager stops applying, keeps what another owns', () => {
    const ownership: Ownership = new Map();
    const first = applyConfig(undefined, ownership, 'berth', config(2, { paused: true }), false);
    const second = applyConfig(first.object, ownership, 'berth', config(2), false);
    expect(second.object['spec']).toEqual({ replicas: 2 });
    expect(managedFields(ownership, 'apps/v1', 't')).toEqual([
      expect.objectContaining({
        manager: 'berth',
        operation: 'Apply',
        fieldsV1: {
          'f:metadata': { 'f:name': {}, 'f:labels': { 'f:a': {} } },
          'f:spec': { 'f:replicas': {} },
        },
      }),
    ]);
  });

  it('conflicts on a field another manager set to another value, and takes it over with force', () => {
    const ownership: Ownership = new Map();
    const { object } = applyConfig(undefined, ownership, 'berth', config(2), false);
    ownership.set(JSON.stringify(['spec', 'replicas']), new Map([['kubectl-scale', 'Update']]));
    (object['spec'] as { replicas: number }).replicas = 5;
    const refused = applyConfig(object, ownership, 'berth', config(2), false);
    expect(refused.conflicts).toEqual([{ manager: 'kubectl-scale', path: ['spec', 'replicas'] }]);
    expect((refused.object['spec'] as { replicas: number }).replicas).toBe(5);
    // The same value is no conflict: both own it.
    expect(applyConfig(object, ownership, 'other', config(5), false).conflicts).toEqual([]);
    // Force takes the field from every manager that held it at another value.
    const forced = applyConfig(object, ownership, 'berth', config(2), true);
    expect((forced.object['spec'] as { replicas: number }).replicas).toBe(2);
    expect([...(ownership.get(JSON.stringify(['spec', 'replicas'])) ?? new Map()).keys()]).toEqual(['berth']);
  });
});
