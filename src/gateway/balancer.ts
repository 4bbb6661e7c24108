/**
 * Which upstream takes a request: the one with fewer requests outstanding of two drawn at random
 * ("power of two choices", Envoy's LEAST_REQUEST with its default choice count of 2). It spreads
 * load almost as well as scanning every upstream for the least loaded, without the herd that
 * scanning causes when many requests pick at once, and it needs no shared state. Which track a
 * request belongs to (stable or canary) is decided before, by weight (pickWeighted).
 */

export interface Candidate {
  readonly id: string;
  /** Requests sent to it and not yet answered. */
  readonly outstanding: number;
}

/** A number in [0, 1), injected so that tests choose the draws. */
export type Random = () => number;

/**
 * @returns the chosen candidate, or undefined when there is none
 * @example
 * const upstream = pickUpstream(ready, Math.random);
 */
export function pickUpstream<T extends Candidate>(candidates: readonly T[], random: Random): T | undefined {
  const n = candidates.length;
  if (n <= 1) return candidates[0];
  const i = Math.min(n - 1, Math.floor(random() * n));
  // The second draw is among the others, so the two are always distinct.
  let j = Math.min(n - 2, Math.floor(random() * (n - 1)));
  if (j >= i) j++;
  const a = candidates[i] as T;
  const b = candidates[j] as T;
  return b.outstanding < a.outstanding ? b : a;
}

/**
 * One of `weights`' keys, each with a chance proportional to its weight; undefined when every
 * weight is zero (or there are none). Negative and non-finite weights count as zero.
 *
 * @example
 * pickWeighted(new Map([['stable', 90], ['canary', 10]]), Math.random); // 'canary' one time in ten
 */
export function pickWeighted<K>(weights: ReadonlyMap<K, number>, random: Random): K | undefined {
  let total = 0;
  for (const weight of weights.values()) if (weight > 0 && Number.isFinite(weight)) total += weight;
  if (total === 0) return undefined;
  let point = random() * total;
  let last: K | undefined;
  for (const [key, weight] of weights) {
    if (!(weight > 0 && Number.isFinite(weight))) continue;
    last = key;
    if (point < weight) return key;
    point -= weight;
  }
  return last;
}
