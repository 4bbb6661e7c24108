/**
 * Canary and shadow rollouts: the analysis that judges a candidate version against the stable one
 * at every interval, and the plan that moves its traffic through the steps, promotes it, or rolls
 * it back on its own after `failAfter` failed checks in a row. Argo Rollouts' analysis is the
 * anchor (thresholds on the candidate's error rate and latency, an inconclusive result when there
 * is too little traffic to judge); berth adds prediction agreement, since its gateway reads the
 * tensors both versions answer (prediction-agreement.ts). Pure: the caller supplies the windows
 * and the time.
 */

/** What one track (stable or candidate) did in the last interval. */
export interface TrackWindow {
  readonly requests: number;
  /** Requests answered with a server error (5xx or the gRPC equivalents), or not at all. */
  readonly errors: number;
  /** The 99th percentile of latency, ms; undefined without requests. */
  readonly p99Ms: number | undefined;
}

/** Requests both versions answered (canaried with a shadow copy, or shadowed), compared. */
export interface AgreementWindow {
  readonly compared: number;
  readonly agreed: number;
}

export interface AnalysisPolicy {
  /** Highest error rate (0..1) the candidate may have. */
  readonly errorRate: number;
  /** Highest p99 latency the candidate may have, ms. */
  readonly p99Ms: number;
  /** Lowest share (0..1) of compared answers that must agree; undefined: not checked. */
  readonly agreement: number | undefined;
  /** Requests (and comparisons) below which a check is inconclusive. */
  readonly minRequests: number;
}

export type Verdict = 'pass' | 'fail' | 'inconclusive';

export interface Check {
  readonly verdict: Verdict;
  /** Each threshold missed, or what there was too little of; empty when it passed. */
  readonly reasons: readonly string[];
}

const percent = (share: number) => `${(share * 100).toFixed(share < 0.01 ? 2 : 1)} %`;

/**
 * @example
 * analyse(stableWindow, candidateWindow, { compared: 180, agreed: 179 }, policy);
 * // { verdict: 'pass', reasons: [] }
 */
export function analyse(
  stable: TrackWindow,
  candidate: TrackWindow,
  agreement: AgreementWindow,
  policy: AnalysisPolicy,
): Check {
  const failures: string[] = [];
  const missing: string[] = [];
  if (candidate.requests < policy.minRequests) {
    missing.push(`${candidate.requests} candidate request(s), at least ${policy.minRequests} needed`);
  } else {
    const rate = candidate.errors / candidate.requests;
    if (rate > policy.errorRate) {
      const context = stable.requests > 0 ? `; stable ${percent(stable.errors / stable.requests)}` : '';
      failures.push(`error rate ${percent(rate)} above ${percent(policy.errorRate)}${context}`);
    }
    if (candidate.p99Ms !== undefined && candidate.p99Ms > policy.p99Ms) {
      const context = stable.p99Ms === undefined ? '' : `; stable ${stable.p99Ms.toFixed(1)} ms`;
      failures.push(`p99 ${candidate.p99Ms.toFixed(1)} ms above ${policy.p99Ms} ms${context}`);
    }
  }
  if (policy.agreement !== undefined) {
    if (agreement.compared < policy.minRequests) {
      missing.push(`${agreement.compared} answer(s) compared, at least ${policy.minRequests} needed`);
    } else {
      const share = agreement.agreed / agreement.compared;
      if (share < policy.agreement) {
        failures.push(
          `agreement ${percent(share)} below ${percent(policy.agreement)} (${agreement.compared - agreement.agreed} of ${agreement.compared} differ)`,
        );
      }
    }
  }
  if (failures.length > 0) return { verdict: 'fail', reasons: failures };
  if (missing.length > 0) return { verdict: 'inconclusive', reasons: missing };
  return { verdict: 'pass', reasons: [] };
}

export interface RolloutPolicy {
  /** `canary`: the candidate answers its step's share of live traffic. `shadow`: it gets a copy
   * of that share, and its answers are only compared, never returned. */
  readonly strategy: 'canary' | 'shadow';
  /** Shares in percent, rising, the last 100. */
  readonly steps: readonly number[];
  /** How long each step runs before it is judged, ms. */
  readonly intervalMs: number;
  /** Failed checks in a row that roll the candidate back. */
  readonly failAfter: number;
}

export type RolloutPhase = 'progressing' | 'promoted' | 'rolled-back';

export interface RolloutState {
  readonly phase: RolloutPhase;
  /** Index into the steps (the last one reached when promoted). */
  readonly step: number;
  /** Share of live traffic (percent) the candidate answers. */
  readonly weight: number;
  /** Share of live traffic (percent) copied to the candidate, answers discarded. */
  readonly mirror: number;
  readonly consecutiveFailures: number;
  /** When the current step began, ms. */
  readonly stepStartedAt: number;
  /** What happened last, for status and the event log. */
  readonly reason: string;
}

/**
 * @example
 * const plan = new RolloutPlan({ strategy: 'canary', steps: [10, 50, 100], intervalMs: 30_000, failAfter: 2 }, now);
 * // every interval:
 * const state = plan.judge(analyse(stable, candidate, agreement, policy), clock.now());
 */
export class RolloutPlan {
  private current: RolloutState;

  constructor(
    private readonly policy: RolloutPolicy,
    now: number,
  ) {
    const { steps } = policy;
    if (steps.length === 0 || steps[steps.length - 1] !== 100) {
      throw new RangeError('steps must end with 100');
    }
    if (steps.some((s, i) => !(s > 0 && s <= 100) || (i > 0 && s <= (steps[i - 1] as number)))) {
      throw new RangeError('steps must rise, each above 0 and at most 100');
    }
    if (!(policy.intervalMs > 0)) throw new RangeError('intervalMs must be positive');
    if (!(Number.isInteger(policy.failAfter) && policy.failAfter >= 1)) {
      throw new RangeError('failAfter must be an integer >= 1');
    }
    this.current = this.at(0, now, 0, `started: step 1 of ${steps.length}`);
  }

  get state(): RolloutState {
    return this.current;
  }

  /** When the current step is due to be judged. */
  dueAt(): number {
    return this.current.stepStartedAt + this.policy.intervalMs;
  }

  /**
   * Applies one check. Before the step's interval is over the check is ignored; a pass moves to
   * the next step (or promotes after the last), an inconclusive check holds the step, and the
   * failAfter-th failure in a row rolls back.
   */
  judge(check: Check, now: number): RolloutState {
    const state = this.current;
    if (state.phase !== 'progressing' || now < this.dueAt()) return state;
    const { steps } = this.policy;
    if (check.verdict === 'fail') {
      const failures = state.consecutiveFailures + 1;
      const why = check.reasons.join('; ');
      if (failures >= this.policy.failAfter) {
        return this.end(
          'rolled-back',
          now,
          `rolled back after ${failures} failed check(s): ${why}`,
          failures,
        );
      }
      this.current = this.at(
        state.step,
        now,
        failures,
        `check failed (${failures} of ${this.policy.failAfter}): ${why}`,
      );
      return this.current;
    }
    if (check.verdict === 'inconclusive') {
      this.current = this.at(state.step, now, state.consecutiveFailures, `held: ${check.reasons.join('; ')}`);
      return this.current;
    }
    const next = state.step + 1;
    if (next >= steps.length) return this.end('promoted', now, 'promoted: every step passed');
    this.current = this.at(next, now, 0, `passed step ${state.step + 1}: now ${steps[next]} %`);
    return this.current;
  }

  /** Skips the remaining steps (`berth rollout promote`). */
  promote(now: number): RolloutState {
    if (this.current.phase === 'progressing') this.end('promoted', now, 'promoted by hand');
    return this.current;
  }

  /** Sends all traffic back to the stable version (`berth rollout abort`). */
  abort(now: number, reason = 'aborted by hand'): RolloutState {
    if (this.current.phase === 'progressing') this.end('rolled-back', now, reason);
    return this.current;
  }

  private at(step: number, now: number, failures: number, reason: string): RolloutState {
    const share = this.policy.steps[step] as number;
    const canary = this.policy.strategy === 'canary';
    return {
      phase: 'progressing',
      step,
      weight: canary ? share : 0,
      mirror: canary ? 0 : share,
      consecutiveFailures: failures,
      stepStartedAt: now,
      reason,
    };
  }

  private end(
    phase: 'promoted' | 'rolled-back',
    now: number,
    reason: string,
    failures = this.current.consecutiveFailures,
  ): RolloutState {
    const promoted = phase === 'promoted';
    this.current = {
      phase,
      step: promoted ? this.policy.steps.length - 1 : this.current.step,
      weight: promoted ? 100 : 0,
      mirror: 0,
      consecutiveFailures: promoted ? 0 : failures,
      stepStartedAt: now,
      reason,
    };
    return this.current;
  }
}
