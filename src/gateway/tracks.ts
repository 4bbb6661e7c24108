/**
 * Traffic tracks for a rollout: `stable` (the version serving now) and, while a rollout runs,
 * `candidate`. Which track answers a request is decided here (`chooseTrack`, pure), and what each
 * track did is counted here (`TrackRecorder`: requests, server errors, p99; agreement between the
 * two versions' answers), for the rollout analysis (rollout-analysis.ts) to judge at every
 * interval.
 *
 * - canary: the candidate answers `weight` % of requests; a request with `x-berth-track: canary`
 *   (or `stable`) is pinned to that track;
 * - shadow: the stable version answers every request, and `mirror` % are also copied to the
 *   candidate, whose answers are only compared;
 * - with an agreement policy, a canaried inference is also sent to the stable version, so that
 *   the two answers can be compared: model-aware analysis, since the gateway reads the tensors.
 */
import type { AgreementPolicy } from './prediction-agreement.js';
import type { AgreementWindow, TrackWindow } from './rollout-analysis.js';
import type { UpstreamPool } from './upstream-pool.js';

export type TrackName = 'stable' | 'canary';

/** The header that pins a request to a track. */
export const TRACK_HEADER = 'x-berth-track';

export interface TrackChoice {
  readonly track: TrackName;
  /** Also send a copy to the candidate (shadow), whose answer is only compared. */
  readonly mirror: boolean;
}

/**
 * Which track answers one request.
 *
 * @example
 * chooseTrack(undefined, { weight: 10, mirror: 0, hasCandidate: true }, Math.random); // { track: 'stable', mirror: false } 9 times in 10
 */
export function chooseTrack(
  pinned: string | undefined,
  split: { readonly weight: number; readonly mirror: number; readonly hasCandidate: boolean },
  random: () => number,
): TrackChoice {
  if (!split.hasCandidate) return { track: 'stable', mirror: false };
  if (pinned === 'canary') return { track: 'canary', mirror: false };
  if (pinned === 'stable') return { track: 'stable', mirror: false };
  if (split.weight > 0 && random() * 100 < split.weight) return { track: 'canary', mirror: false };
  return { track: 'stable', mirror: split.mirror > 0 && random() * 100 < split.mirror };
}

/** Latencies kept per window at most; past it, a uniform sample of them (reservoir). */
const MAX_SAMPLES = 4096;

/**
 * Counts one track's requests over a window.
 *
 * @example
 * const recorder = new TrackRecorder();
 * recorder.record(200, 3.2);
 * const window = recorder.take(); // { requests: 1, errors: 0, p99Ms: 3.2 }, and starts a new window
 */
export class TrackRecorder {
  private requests = 0;
  private errors = 0;
  private samples: number[] = [];

  constructor(private readonly random: () => number = Math.random) {}

  /** One answer: its HTTP status (0 when there was none) and latency. */
  record(status: number, ms: number): void {
    this.requests++;
    if (status === 0 || status >= 500) this.errors++;
    if (this.samples.length < MAX_SAMPLES) this.samples.push(ms);
    else {
      const slot = Math.floor(this.random() * this.requests);
      if (slot < MAX_SAMPLES) this.samples[slot] = ms;
    }
  }

  /** The window so far, and a new one begun. */
  take(): TrackWindow {
    const window: TrackWindow = {
      requests: this.requests,
      errors: this.errors,
      p99Ms: percentile(this.samples, 0.99),
    };
    this.requests = 0;
    this.errors = 0;
    this.samples = [];
    return window;
  }
}

/** The q-quantile (nearest rank) of `values`; undefined when empty. */
export function percentile(values: readonly number[], q: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/**
 * The gateway's traffic state: the stable pool, and while a rollout runs the candidate's with its
 * share. The deployment changes it; the gateway reads it on every request.
 */
export class Tracks {
  candidate: UpstreamPool | undefined;
  /** Percent of requests the candidate answers (canary). */
  weight = 0;
  /** Percent of requests copied to the candidate (shadow). */
  mirror = 0;
  /** How answers are compared; undefined: they are not. */
  compare: AgreementPolicy | undefined;
  readonly recorders = { stable: new TrackRecorder(), canary: new TrackRecorder() };
  private compared = 0;
  private agreed = 0;
  /** The last disagreement, for status and logs. */
  lastDisagreement: string | undefined;
  /** Told of every comparison (the gateway's metrics count them). */
  onCompared: ((agree: boolean) => void) | undefined;

  constructor(readonly stable: UpstreamPool) {}

  poolOf(track: TrackName): UpstreamPool {
    return track === 'canary' && this.candidate !== undefined ? this.candidate : this.stable;
  }

  recordAgreement(agree: boolean, reason?: string): void {
    this.onCompared?.(agree);
    this.compared++;
    if (agree) this.agreed++;
    else if (reason !== undefined) this.lastDisagreement = reason;
  }

  /** The windows since the last call, and new ones begun. */
  takeWindows(): { stable: TrackWindow; candidate: TrackWindow; agreement: AgreementWindow } {
    const agreement = { compared: this.compared, agreed: this.agreed };
    this.compared = 0;
    this.agreed = 0;
    return { stable: this.recorders.stable.take(), candidate: this.recorders.canary.take(), agreement };
  }

  /** Ends a rollout's split: every request to stable again, counts cleared. */
  clear(): void {
    this.candidate = undefined;
    this.weight = 0;
    this.mirror = 0;
    this.compare = undefined;
    this.lastDisagreement = undefined;
    this.takeWindows();
  }
}
