/**
 * How a rollout's traffic split (tracks.ts) answers one inference, the same for the REST front
 * (gateway-http.ts) and the gRPC front (gateway-grpc.ts), which differ only in how they send a
 * request, read an answer's status and compare two answers (`SplitTransport`):
 *
 * - the track is `chooseTrack`'s: the candidate's share, or the one a caller pinned;
 * - a canaried request that fails with a server fault, or finds the candidate unavailable, is
 *   answered by the stable version instead (it is free of side effects): a bad candidate costs
 *   its callers latency, not errors, while its errors still count against it;
 * - with an agreement policy, a canaried request's answer is compared with the stable version's
 *   answer to a copy; in a shadow rollout, the candidate gets a copy of `mirror` % of requests.
 *   Copies go off the caller's path, with a deadline of their own, bounded to MAX_COPIES in flight.
 */
import { httpStatusOf, toBerthError } from '../ground/index.js';
import type { Agreement, AgreementPolicy } from './prediction-agreement.js';
import { chooseTrack, type TrackName, type Tracks } from './tracks.js';
import type { UpstreamPool } from './upstream-pool.js';

/** What a front gives the split: its way to send a request `R` and read an answer `A`. */
export interface SplitTransport<R, A> {
  /** Sends `request` to a replica of `pool` (through that pool's forwarder). */
  send(pool: UpstreamPool, request: R): Promise<A>;
  /** The answer's status as the track recorders count it: HTTP's, 5xx a server fault. */
  status(answer: A): number;
  /** The two answers compared by `policy`; undefined when they cannot be compared. */
  compare(stable: A, candidate: A, policy: AgreementPolicy): Agreement | undefined;
  /** The copy of `request` sent off the caller's path: its own deadline, not the caller's signal. */
  copy(request: R): R;
  /** A shadow copy's answer to `request`, with how long it took. */
  onShadow?(request: R, answer: A, ms: number): void;
}

/** Copies (shadow, or stable answers to compare a canary with) in flight at most; past it, none. */
export const MAX_COPIES = 64;

/**
 * @example
 * const split = new TrackSplit(tracks, { send, status, compare, copy }, Math.random);
 * const { answer, track } = await split.forward(request, pinnedHeader);
 */
export class TrackSplit<R, A> {
  /** Copies in flight now. */
  private copies = 0;

  constructor(
    private readonly tracks: Tracks,
    private readonly transport: SplitTransport<R, A>,
    private readonly random: () => number,
  ) {}

  /** The answer to `request`, and the track that gave it. `pinned`: the caller's track header. */
  async forward(request: R, pinned: string | undefined): Promise<{ answer: A; track: TrackName }> {
    const { tracks, transport } = this;
    const candidate = tracks.candidate;
    const choice = chooseTrack(
      pinned,
      { weight: tracks.weight, mirror: tracks.mirror, hasCandidate: candidate !== undefined },
      this.random,
    );
    if (choice.track === 'canary' && candidate !== undefined) {
      const tried = performance.now();
      let canaried: A | undefined;
      try {
        canaried = await transport.send(candidate, request);
      } catch {
        canaried = undefined;
      }
      const status = canaried === undefined ? 0 : transport.status(canaried);
      tracks.recorders.canary.record(status, performance.now() - tried);
      if (canaried !== undefined && status < 500) {
        if (tracks.compare !== undefined) this.compareLater(request, canaried, 'stable');
        return { answer: canaried, track: 'canary' };
      }
      // A server fault of the candidate's: the stable version answers instead.
    }
    const tried = performance.now();
    let answer: A;
    try {
      answer = await transport.send(tracks.stable, request);
    } catch (error) {
      if (candidate !== undefined) {
        tracks.recorders.stable.record(httpStatusOf(toBerthError(error)), performance.now() - tried);
      }
      throw error;
    }
    if (candidate !== undefined)
      tracks.recorders.stable.record(transport.status(answer), performance.now() - tried);
    if (choice.mirror) this.compareLater(request, answer, 'canary');
    return { answer, track: 'stable' };
  }

  /**
   * Sends a copy of `request` to the other track and compares its answer with `answer`: a shadow
   * copy to the candidate (`to` canary), or a canaried request's copy to the stable version.
   */
  private compareLater(request: R, answer: A, to: TrackName): void {
    const { tracks, transport } = this;
    const candidate = tracks.candidate;
    const policy = tracks.compare;
    if (candidate === undefined || this.copies >= MAX_COPIES) return;
    this.copies++;
    const started = performance.now();
    void transport
      .send(to === 'canary' ? candidate : tracks.stable, transport.copy(request))
      .then(
        (other) => {
          if (to === 'canary') {
            const ms = performance.now() - started;
            tracks.recorders.canary.record(transport.status(other), ms);
            transport.onShadow?.(request, other, ms);
          }
          if (policy === undefined) return;
          const [stable, next] = to === 'canary' ? [answer, other] : [other, answer];
          const outcome = transport.compare(stable, next, policy);
          if (outcome !== undefined) tracks.recordAgreement(outcome.agree, outcome.reason);
        },
        () => {
          if (to === 'canary') tracks.recorders.canary.record(0, performance.now() - started);
        },
      )
      .finally(() => this.copies--);
  }
}
