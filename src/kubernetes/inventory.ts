/**
 * What berth applied, kept in the cluster: a ConfigMap `<name>-berth` beside the objects, holding
 * the references of the current revision (so that a later deploy prunes what it no longer
 * renders) and the last revisions' objects in full (so that `berth rollback` re-applies the one
 * before). Pure: building and reading the ConfigMap; the API calls are deploy.ts's.
 */
import { BerthError } from '../ground/index.js';
import type { IConfigMap, KubeObject } from './objects.js';

/** Revisions kept for rollback. */
export const KEPT_REVISIONS = 5;
/** A ConfigMap holds at most 1 MiB; the inventory stays well under it. */
const MAX_INVENTORY_BYTES = 768 * 1024;

export interface ObjectRef {
  readonly apiVersion: string;
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
}

export interface Revision {
  readonly revision: number;
  /** ISO 8601 time it was applied. */
  readonly appliedAt: string;
  readonly image: string;
  readonly objects: readonly KubeObject[];
}

export interface Inventory {
  readonly revisions: readonly Revision[];
}

export function inventoryName(name: string): string {
  return `${name}-berth`;
}

export function refOf(object: KubeObject, namespace: string): ObjectRef {
  const ns = object.kind === 'Namespace' ? undefined : (object.metadata?.namespace ?? namespace);
  return {
    apiVersion: object.apiVersion,
    kind: object.kind,
    name: object.metadata?.name ?? '',
    ...(ns === undefined ? {} : { namespace: ns }),
  };
}

export const refKey = (r: ObjectRef) => `${r.apiVersion}/${r.kind}/${r.namespace ?? ''}/${r.name}`;

/** Reads an inventory ConfigMap's data; an absent one is an empty inventory. */
export function readInventory(configMap: { data?: Record<string, string> } | undefined): Inventory {
  const text = configMap?.data?.['revisions.json'];
  if (text === undefined) return { revisions: [] };
  try {
    const revisions = JSON.parse(text) as Revision[];
    if (!Array.isArray(revisions)) throw new Error('not a list');
    return { revisions };
  } catch (error) {
    throw new BerthError(
      'BERTH_ERR_KUBE_INVENTORY',
      `the inventory ConfigMap's revisions.json cannot be read (${(error as Error).message}); delete the ConfigMap to start a new history`,
      { cause: error },
    );
  }
}

/** The inventory with `revision` added as the newest, the oldest dropped past KEPT_REVISIONS or the size limit. */
export function withRevision(inventory: Inventory, revision: Omit<Revision, 'revision'>): Inventory {
  const last = inventory.revisions[inventory.revisions.length - 1]?.revision ?? 0;
  const revisions = [...inventory.revisions, { ...revision, revision: last + 1 }].slice(-KEPT_REVISIONS);
  while (revisions.length > 1 && JSON.stringify(revisions).length > MAX_INVENTORY_BYTES) revisions.shift();
  return { revisions };
}

/** The ConfigMap that stores `inventory`. */
export function inventoryObject(
  name: string,
  namespace: string,
  labels: Readonly<Record<string, string>>,
  inventory: Inventory,
): IConfigMap {
  const current = inventory.revisions[inventory.revisions.length - 1];
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: inventoryName(name),
      namespace,
      labels: { ...labels, 'berth.dev/inventory': 'true' },
      annotations: { 'berth.dev/revision': String(current?.revision ?? 0) },
    },
    data: {
      'objects.json': JSON.stringify((current?.objects ?? []).map((o) => refOf(o, namespace))),
      'revisions.json': JSON.stringify(inventory.revisions),
    },
  };
}

/**
 * What a new set of objects no longer has: to delete when pruning. Namespaces are never pruned
 * (deleting one deletes everything in it, berth's or not).
 */
export function pruneList(previous: readonly ObjectRef[], next: readonly ObjectRef[]): ObjectRef[] {
  const keep = new Set(next.map(refKey));
  return previous.filter((r) => r.kind !== 'Namespace' && !keep.has(refKey(r)));
}
