/**
 * Which replicas `berth up` starts and which it drains, given the ones it runs and how many it
 * wants: the decision behind scaling and behind a rolling update, pure.
 *
 * - fewer than wanted: start the difference, of the current revision;
 * - more than wanted: drain the surplus, replicas of an older revision first, then those not
 *   ready (they serve nobody), then the newest;
 * - replicas of an older revision (a rolling update): one replica above the count (surge 1, so a
 *   machine never needs double capacity); once every current one is ready, drain one old one (a
 *   not-ready one first) and start its replacement; the update is over when none is left.
 */

export interface RunningReplica {
  readonly id: string;
  /** Whether it serves the revision new replicas get. */
  readonly current: boolean;
  readonly ready: boolean;
  /** Its start order: higher is newer. */
  readonly order: number;
}

export interface ReplicaPlan {
  /** Replicas of the current revision to start. */
  readonly start: number;
  /** Replicas to take out of the balancer and drain, in this order. */
  readonly drain: readonly string[];
  /** Whether every replica serves the current revision (no rolling update in progress). */
  readonly rolledOut: boolean;
}

/**
 * @example
 * planReplicas([{ id: 'r1', current: false, ready: true, order: 1 }, { id: 'r2', current: true, ready: true, order: 2 }], 1);
 * // { start: 1, drain: ['r1'], rolledOut: false }: r2 is the surge; r1 goes, its replacement starts
 */
export function planReplicas(replicas: readonly RunningReplica[], desired: number): ReplicaPlan {
  const outdated = replicas.filter((r) => !r.current);
  const target = desired + (outdated.length > 0 && desired > 0 ? 1 : 0);
  if (replicas.length < target) {
    return { start: target - replicas.length, drain: [], rolledOut: outdated.length === 0 };
  }
  if (replicas.length > target) {
    const byPriority = [...replicas].sort(
      (a, b) =>
        Number(a.current) - Number(b.current) || Number(a.ready) - Number(b.ready) || b.order - a.order,
    );
    return {
      start: 0,
      drain: byPriority.slice(0, replicas.length - target).map((r) => r.id),
      rolledOut: outdated.length === 0,
    };
  }
  if (outdated.length === 0) return { start: 0, drain: [], rolledOut: true };
  if (!replicas.filter((r) => r.current).every((r) => r.ready)) {
    return { start: 0, drain: [], rolledOut: false };
  }
  // A not-ready old replica first: it serves nobody. (outdated is not empty here.)
  const victim = outdated.find((r) => !r.ready) ?? outdated[0];
  return victim === undefined
    ? { start: 0, drain: [], rolledOut: true }
    : { start: 1, drain: [victim.id], rolledOut: false };
}
