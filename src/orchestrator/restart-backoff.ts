/**
 * When to restart a replica that exited: at once the first time, then after exponentially longer
 * waits with jitter, as Kubernetes' CrashLoopBackOff does (there: 10 s doubling up to 5 min,
 * reset after 10 min running; berth's defaults are shorter, since a local replica starts in
 * about a second). A replica that stays up for `resetAfterMs` has its count cleared. Pure: time
 * and randomness come from the caller.
 */

export interface BackoffPolicy {
  /** The wait before the second restart in a row; each next one doubles it. */
  readonly baseMs: number;
  readonly maxMs: number;
  /** Each wait is scaled by a random factor in [1 - jitter, 1 + jitter]. */
  readonly jitter: number;
  /** Running this long counts as a recovery: the next exit restarts at once again. */
  readonly resetAfterMs: number;
  /** Exits in a row from which the replica is reported as crash-looping. */
  readonly crashLoopAfter: number;
}

export const DEFAULT_BACKOFF_POLICY: BackoffPolicy = {
  baseMs: 500,
  maxMs: 30_000,
  jitter: 0.2,
  resetAfterMs: 60_000,
  crashLoopAfter: 3,
};

export interface RestartDecision {
  /** How long to wait before starting the replica again. */
  readonly delayMs: number;
  /** Exits in a row, this one included. */
  readonly exitsInARow: number;
  readonly crashLooping: boolean;
}

/**
 * @example
 * const backoff = new RestartBackoff(DEFAULT_BACKOFF_POLICY, Math.random);
 * backoff.started(clock.now());
 * // ...the process exits:
 * const { delayMs } = backoff.exited(clock.now());
 */
export class RestartBackoff {
  private exits = 0;
  private startedAt: number | undefined;

  constructor(
    private readonly policy: BackoffPolicy = DEFAULT_BACKOFF_POLICY,
    private readonly random: () => number = Math.random,
  ) {
    if (!(policy.baseMs > 0 && policy.maxMs >= policy.baseMs)) {
      throw new RangeError('baseMs must be positive and at most maxMs');
    }
    if (!(policy.jitter >= 0 && policy.jitter < 1)) throw new RangeError('jitter must be in [0, 1)');
  }

  /** The replica's process started (or was seen running) at `now`. */
  started(now: number): void {
    this.startedAt = now;
  }

  /** The replica's process exited at `now`: when to start it again. */
  exited(now: number): RestartDecision {
    if (this.startedAt !== undefined && now - this.startedAt >= this.policy.resetAfterMs) this.exits = 0;
    this.startedAt = undefined;
    this.exits++;
    const crashLooping = this.exits >= this.policy.crashLoopAfter;
    if (this.exits === 1) return { delayMs: 0, exitsInARow: 1, crashLooping };
    const wait = Math.min(this.policy.maxMs, this.policy.baseMs * 2 ** (this.exits - 2));
    const factor = 1 + this.policy.jitter * (2 * this.random() - 1);
    return {
      delayMs: Math.round(Math.min(this.policy.maxMs, wait * factor)),
      exitsInARow: this.exits,
      crashLooping,
    };
  }

  /** Exits in a row so far (0 once the replica has recovered). */
  get exitsInARow(): number {
    return this.exits;
  }
}
