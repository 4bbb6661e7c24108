/**
 * One canary or shadow rollout under `berth up`: a candidate replica (the new revision's
 * `berth serve`) in a pool of its own, the gateway's traffic split moved through the spec's steps
 * (tracks.ts), and at every interval the analysis (rollout-analysis.ts) of what each track did:
 * error rate, p99, and agreement of the two versions' answers. A pass moves to the next step, the
 * last promotes; `failAfter` failed checks in a row roll back on their own (weights to 0, the
 * candidate drained). The decisions are the gateway's pure ones; this is their loop.
 */
import {
  analyse,
  RolloutPlan,
  startHealthChecks,
  UpstreamPool,
  type Check,
  type HealthCheckPolicy,
  type RolloutState,
  type RunningHealthChecks,
  type Tracks,
} from '../gateway/index.js';
import type { RolloutSpec } from '../spec/index.js';
import type { ReplicaEvent, Supervisor } from './supervisor.js';

export interface Revision {
  /** 1, 2, ...: each `berth rollout start` makes one. */
  readonly id: number;
  /** `berth serve` arguments: what the revision serves. */
  readonly args: readonly string[];
}

export interface RolloutRunOptions {
  readonly strategy: 'canary' | 'shadow';
  readonly spec: RolloutSpec;
  readonly revision: Revision;
  readonly replicaId: string;
  readonly supervisor: Supervisor;
  readonly tracks: Tracks;
  readonly healthCheck: HealthCheckPolicy;
  readonly onEvent: (message: string, fields: Record<string, unknown>) => void;
  /** The end: promoted (the candidate replica is handed over, with its URLs) or rolled back. */
  readonly onEnd: (phase: 'promoted' | 'rolled-back', candidate: CandidateReplica | undefined) => void;
}

export interface CandidateReplica {
  readonly id: string;
  readonly url: string;
  readonly grpc: string | undefined;
}

/** Exits before ready that end a rollout: the candidate does not start. */
const MAX_START_FAILURES = 3;

export class RolloutRun {
  private readonly pool = new UpstreamPool();
  private plan: RolloutPlan | undefined;
  private checks: RunningHealthChecks | undefined;
  private candidate: CandidateReplica | undefined;
  private startFailures = 0;
  private ended = false;
  private lastCheck: Check | undefined;
  private endState: RolloutState | undefined;
  readonly startedAt = Date.now();

  constructor(private readonly options: RolloutRunOptions) {}

  start(): void {
    const { supervisor, replicaId, revision } = this.options;
    supervisor.add({ id: replicaId, args: revision.args });
    this.checks = startHealthChecks(this.pool, this.options.healthCheck);
  }

  /** The supervisor's events for the candidate replica. */
  onReplicaEvent(event: ReplicaEvent): void {
    if (this.ended || event.id !== this.options.replicaId) return;
    if (event.type === 'ready') {
      this.candidate = { id: event.id, url: event.url, grpc: event.grpc };
      this.pool.add(event.id, event.url, event.grpc);
      if (this.plan === undefined) this.begin();
    } else if (event.type === 'exited') {
      this.pool.remove(event.id);
      if (this.plan === undefined && ++this.startFailures >= MAX_START_FAILURES) {
        this.finish('rolled-back', `the candidate exited ${this.startFailures} times before it was ready`);
      }
    }
  }

  /** Judges the step when its interval is over. Called often; cheap when not due. */
  tick(now = performance.now()): void {
    const plan = this.plan;
    if (this.ended || plan === undefined || now < plan.dueAt()) return;
    const { stable, candidate, agreement } = this.options.tracks.takeWindows();
    const { analysis } = this.options.spec;
    this.lastCheck = analyse(stable, candidate, agreement, {
      errorRate: analysis.errorRate,
      p99Ms: analysis.p99Ms,
      agreement: analysis.agreement,
      minRequests: analysis.minRequests,
    });
    const state = plan.judge(this.lastCheck, now);
    this.options.onEvent(`rollout: ${state.reason}`, {
      verdict: this.lastCheck.verdict,
      stable,
      candidate,
      agreement,
      weight: state.weight,
      mirror: state.mirror,
    });
    if (state.phase === 'progressing') this.apply(state);
    else this.finish(state.phase, state.reason);
  }

  promote(): void {
    if (this.ended) return;
    if (this.plan === undefined || this.candidate === undefined) {
      throw new Error('the candidate is not ready yet: wait for it, or abort');
    }
    const state = this.plan.promote(performance.now());
    this.finish('promoted', state.reason);
  }

  abort(reason = 'aborted by hand'): void {
    if (this.ended) return;
    this.plan?.abort(performance.now(), reason);
    this.finish('rolled-back', reason);
  }

  /** The plan's state (undefined until the candidate is ready), or how it ended. */
  get state(): RolloutState | undefined {
    return this.endState ?? this.plan?.state;
  }

  get revision(): Revision {
    return this.options.revision;
  }

  /** Whether this replica id is the candidate's. */
  owns(id: string): boolean {
    return id === this.options.replicaId;
  }

  get done(): boolean {
    return this.ended;
  }

  status(): Record<string, unknown> {
    const state = this.endState ?? this.plan?.state;
    return {
      strategy: this.options.strategy,
      revision: this.options.revision.id,
      phase: state?.phase ?? 'starting',
      step: state === undefined ? undefined : state.step + 1,
      steps: this.options.spec.steps,
      weight: state?.weight ?? 0,
      mirror: state?.mirror ?? 0,
      consecutiveFailures: state?.consecutiveFailures ?? 0,
      reason: state?.reason ?? 'starting the candidate replica',
      lastCheck: this.lastCheck,
      lastDisagreement: this.options.tracks.lastDisagreement,
      candidate: this.candidate,
    };
  }

  private begin(): void {
    const { strategy, spec, tracks } = this.options;
    this.plan = new RolloutPlan(
      { strategy, steps: spec.steps, intervalMs: spec.interval, failAfter: spec.failAfter },
      performance.now(),
    );
    tracks.takeWindows();
    tracks.candidate = this.pool;
    // A shadow's answers are only ever compared; a canary's when agreement is checked.
    const compare = strategy === 'shadow' || spec.analysis.agreement !== undefined;
    tracks.compare = compare ? spec.analysis.compare : undefined;
    this.apply(this.plan.state);
    this.options.onEvent(
      `rollout: the candidate (revision ${this.options.revision.id}) is ready; ${this.plan.state.reason}`,
      {
        weight: this.plan.state.weight,
        mirror: this.plan.state.mirror,
      },
    );
  }

  private apply(state: RolloutState): void {
    this.options.tracks.weight = state.weight;
    this.options.tracks.mirror = state.mirror;
  }

  private finish(phase: 'promoted' | 'rolled-back', reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.endState = this.plan?.state ?? {
      phase,
      step: 0,
      weight: 0,
      mirror: 0,
      consecutiveFailures: 0,
      stepStartedAt: performance.now(),
      reason,
    };
    const lastDisagreement = this.options.tracks.lastDisagreement;
    this.options.tracks.clear();
    this.options.tracks.lastDisagreement = lastDisagreement;
    this.checks?.stop();
    this.pool.close();
    this.options.onEvent(`rollout ${phase}: ${reason}`, { phase });
    if (phase === 'rolled-back') void this.options.supervisor.stop(this.options.replicaId);
    this.options.onEnd(phase, phase === 'promoted' ? this.candidate : undefined);
  }
}
