import { describe, expect, it } from 'vitest';
import { BerthError } from '../ground/index.js';
import {
  inventoryObject,
  KEPT_REVISIONS,
  pruneList,
  readInventory,
  refOf,
  withRevision,
  type Inventory,
} from './inventory.js';
import type { KubeObject } from './objects.js';

const object = (kind: 'ConfigMap' | 'Service' | 'Namespace', name: string): KubeObject => ({
  apiVersion: 'v1',
  kind,
  metadata: { name },
});

describe('inventory', () => {
  it('keeps the last revisions, numbered on from the newest', () => {
    let inventory: Inventory = { revisions: [] };
    for (let i = 0; i < KEPT_REVISIONS + 2; i++)
      inventory = withRevision(inventory, {
        appliedAt: 't',
        image: `i${i}`,
        objects: [object('Service', 's')],
      });
    expect(inventory.revisions.map((r) => r.revision)).toEqual([3, 4, 5, 6, 7]);
  });

  it('round-trips through its ConfigMap, and names a broken one', () => {
    const inventory = withRevision(
      { revisions: [] },
      { appliedAt: 't', image: 'i', objects: [object('ConfigMap', 'c')] },
    );
    const configMap = inventoryObject('fraud', 'ml', { a: 'b' }, inventory);
    expect(configMap.metadata).toMatchObject({
      name: 'fraud-berth',
      namespace: 'ml',
      annotations: { 'berth.dev/revision': '1' },
    });
    expect(JSON.parse(configMap.data?.['objects.json'] ?? '')).toEqual([
      { apiVersion: 'v1', kind: 'ConfigMap', name: 'c', namespace: 'ml' },
    ]);
    expect(readInventory(configMap as { data: Record<string, string> })).toEqual(inventory);
    expect(readInventory(undefined)).toEqual({ revisions: [] });
    expect(() => readInventory({ data: { 'revisions.json': '{' } })).toThrow(BerthError);
  });

  it('prunes what the new revision lacks, never a namespace', () => {
    const before = [object('Namespace', 'ml'), object('Service', 'a'), object('ConfigMap', 'b')].map((o) =>
      refOf(o, 'ml'),
    );
    const after = [refOf(object('Service', 'a'), 'ml')];
    expect(pruneList(before, after)).toEqual([
      { apiVersion: 'v1', kind: 'ConfigMap', name: 'b', namespace: 'ml' },
    ]);
  });
});
