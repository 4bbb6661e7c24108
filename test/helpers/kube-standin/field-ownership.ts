/**
 * Server-side apply's field ownership, as the stand-in API server keeps it: which field manager
 * owns which leaf field of an object, what an apply by one manager does to the object, and when
 * it conflicts with another manager. Lists are atomic here (the real API server merges lists with
 * a merge key, such as containers by name, field by field); see README.md.
 */

/** A leaf's path: object keys, a list counts as one leaf. */
export type FieldPath = readonly string[];

const SERVER_FIELDS = new Set(['uid', 'resourceVersion', 'generation', 'creationTimestamp', 'managedFields']);

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every leaf of an applied configuration (apiVersion and kind left out, as the API server does). */
export function leaves(value: unknown, prefix: string[] = []): string[][] {
  if (!isObject(value)) return [prefix];
  const found: string[][] = [];
  for (const [key, child] of Object.entries(value)) {
    if (prefix.length === 0 && (key === 'apiVersion' || key === 'kind' || key === 'status')) continue;
    if (prefix.length === 1 && prefix[0] === 'metadata' && SERVER_FIELDS.has(key)) continue;
    if (isObject(child) && Object.keys(child).length > 0) found.push(...leaves(child, [...prefix, key]));
    else found.push([...prefix, key]);
  }
  return found;
}

export function getPath(value: unknown, path: FieldPath): unknown {
  let at = value;
  for (const key of path) {
    if (!isObject(at)) return undefined;
    at = at[key];
  }
  return at;
}

export function setPath(target: Record<string, unknown>, path: FieldPath, value: unknown): void {
  let at = target;
  for (const key of path.slice(0, -1)) {
    if (!isObject(at[key])) at[key] = {};
    at = at[key] as Record<string, unknown>;
  }
  at[path[path.length - 1] as string] = structuredClone(value);
}

export function deletePath(target: Record<string, unknown>, path: FieldPath): void {
  const parents: Record<string, unknown>[] = [];
  let at: unknown = target;
  for (const key of path.slice(0, -1)) {
    if (!isObject(at)) return;
    parents.push(at);
    at = at[key];
  }
  if (!isObject(at)) return;
  Reflect.deleteProperty(at, path[path.length - 1] as string);
  // Empty maps left behind go too, as the API server prunes them.
  for (let i = path.length - 2; i >= 0; i--) {
    const parent = parents[i] as Record<string, unknown>;
    const key = path[i] as string;
    if (isObject(parent[key]) && Object.keys(parent[key]).length === 0) Reflect.deleteProperty(parent, key);
    else break;
  }
}

/** Owned fields per manager: path text → manager names. */
export type Ownership = Map<string, Map<string, 'Apply' | 'Update'>>;

const key = (path: FieldPath) => JSON.stringify(path);

export interface ApplyResult {
  readonly object: Record<string, unknown>;
  readonly conflicts: readonly { readonly manager: string; readonly path: FieldPath }[];
}

/**
 * The object after `manager` applies `config` to `current` (undefined: a create). Conflicts: a
 * field another manager owns whose value `config` changes; with `force`, the field changes hands.
 */
export function applyConfig(
  current: Record<string, unknown> | undefined,
  ownership: Ownership,
  manager: string,
  config: Record<string, unknown>,
  force: boolean,
): ApplyResult {
  const object = structuredClone(
    current ?? { apiVersion: config['apiVersion'], kind: config['kind'], metadata: {} },
  );
  const applied = leaves(config);
  const appliedKeys = new Set(applied.map(key));
  const conflicts: { manager: string; path: FieldPath }[] = [];
  for (const path of applied) {
    const owners = ownership.get(key(path));
    if (owners === undefined) continue;
    for (const [other] of owners) {
      if (other === manager) continue;
      if (JSON.stringify(getPath(object, path)) !== JSON.stringify(getPath(config, path)))
        conflicts.push({ manager: other, path });
    }
  }
  if (conflicts.length > 0 && !force) return { object: current ?? object, conflicts };
  // Fields this manager applied before and no longer does: removed unless someone else owns them.
  for (const [pathKey, owners] of ownership) {
    if (!owners.has(manager) || appliedKeys.has(pathKey)) continue;
    owners.delete(manager);
    if (owners.size === 0) {
      deletePath(object, JSON.parse(pathKey) as string[]);
      ownership.delete(pathKey);
    }
  }
  for (const path of applied) {
    setPath(object, path, getPath(config, path));
    const owners = ownership.get(key(path)) ?? new Map<string, 'Apply' | 'Update'>();
    if (force)
      for (const { manager: other, path: p } of conflicts) if (key(p) === key(path)) owners.delete(other);
    owners.set(manager, 'Apply');
    ownership.set(key(path), owners);
  }
  return { object, conflicts: [] };
}

/** managedFields as the API server writes them: one entry per manager, fieldsV1 in its `f:` form. */
export function managedFields(ownership: Ownership, apiVersion: string, time: string): unknown[] {
  const byManager = new Map<string, { operation: string; fields: Record<string, unknown> }>();
  for (const [pathKey, owners] of ownership) {
    const path = JSON.parse(pathKey) as string[];
    for (const [manager, operation] of owners) {
      const entry = byManager.get(manager) ?? { operation, fields: {} };
      let at = entry.fields;
      for (const part of path) {
        const f = `f:${part}`;
        at[f] ??= {};
        at = at[f] as Record<string, unknown>;
      }
      byManager.set(manager, entry);
    }
  }
  return [...byManager].map(([manager, { operation, fields }]) => ({
    manager,
    operation,
    apiVersion,
    time,
    fieldsType: 'FieldsV1',
    fieldsV1: fields,
  }));
}
