/**
 * `berth up`'s deployment on one machine: the gateway in front, replicas (`berth serve` child
 * processes, supervisor.ts) behind it, and the loop that keeps them in step:
 *
 * - a replica that became ready joins the balancer; one that exited leaves it, and the
 *   supervisor restarts it;
 * - a replica to stop (scale down, shutdown) leaves the balancer first, then drains (SIGTERM);
 * - every `syncPeriodMs` the autoscaler (autoscaler.ts, HPA semantics) reads the load the gateway
 *   sees (requests in flight at the replicas plus those waiting in its buffer, averaged over the
 *   period) and decides the replica count, unless the count is fixed (`--replicas`, or min = max)
 *   or pinned (`berth scale N`);
 * - a request that arrives with no replica (scale from zero) wakes the loop at once, and the
 *   cold start it paid for is measured and reported.
 *
 * The decisions are pure (autoscaler.ts, restart-backoff.ts, the gateway's); this file is where
 * they meet processes and sockets.
 */
import {
  createGatewayMetrics,
  UpstreamPool,
  type BreakerState,
  Tracks,
  type GatewayAccess,
  type GatewayMetrics,
  type RunningGateway,
  type RunningGatewayGrpc,
} from '../gateway/index.js';
import type { ReplicasSpec, ResilienceSpec, RolloutSpec } from '../spec/index.js';
import { BerthError } from '../ground/index.js';
import type { TlsFiles } from '../access/index.js';
import { Autoscaler, HPA_DEFAULTS } from './autoscaler.js';
import { healthPolicy, poolPolicies, startFronts } from './gateway-settings.js';
import { planReplicas } from './replica-plan.js';
import { socketFolder } from './socket-folder.js';
import { RolloutRun, type CandidateReplica, type Revision } from './rollout-run.js';
import type { BackoffPolicy } from './restart-backoff.js';
import { Supervisor, type ReplicaEvent, type ReplicaExit, type ReplicaState } from './supervisor.js';

export interface LocalDeploymentOptions {
  /** The berth command's script (bin/berth.js), run with this Node.js for each replica. */
  readonly berthBin: string;
  readonly nodePath?: string;
  /** `berth serve` arguments for every replica (models, serve flags), without ports. */
  readonly serveArgs: readonly string[];
  readonly replicas: ReplicasSpec;
  /** `--replicas N`: exactly N replicas, no autoscaling. */
  readonly fixedReplicas?: number;
  readonly resilience: ResilienceSpec;
  readonly rollout: RolloutSpec;
  /** The gateway's public address. */
  readonly host: string;
  readonly port: number;
  /** The gateway's gRPC port (0: a free one); undefined: no gRPC front. */
  readonly grpcPort?: number;
  readonly maxBodyBytes: number;
  /** API keys, roles and rate limits on both fronts of the gateway; absent for none. */
  readonly access?: GatewayAccess;
  /** TLS (mTLS with a client CA) on both fronts of the gateway; absent for plaintext. */
  readonly tls?: TlsFiles;
  /** How often the autoscaler decides. Default 1 s (it samples ten times per period). */
  readonly syncPeriodMs?: number;
  readonly backoff?: BackoffPolicy;
  /** How long a stopping replica may drain before it is killed. */
  readonly stopTimeoutMs?: number;
  /** Each line a replica writes, with its id. */
  readonly onLine?: (id: string, line: string, stream: 'stdout' | 'stderr') => void;
  readonly onEvent?: (event: DeploymentEvent) => void;
}

export type DeploymentEvent =
  | ReplicaEvent
  | { readonly type: 'scaled'; readonly from: number; readonly to: number; readonly reason: string }
  | { readonly type: 'cold-start'; readonly ms: number }
  | { readonly type: 'draining'; readonly id: string }
  | { readonly type: 'ejected'; readonly id: string }
  | { readonly type: 'health'; readonly id: string; readonly healthy: boolean }
  | { readonly type: 'rollout'; readonly message: string; readonly fields: Record<string, unknown> };

export type ScaleMode = 'fixed' | 'auto' | 'pinned';

export interface ReplicaView {
  readonly id: string;
  /** `canary`: the candidate of a canary or shadow rollout. */
  readonly track: 'stable' | 'canary';
  /** The revision it serves (1 at start, one more per rollout); undefined once it stops. */
  readonly revision: number | undefined;
  readonly state: ReplicaState;
  readonly pid: number | undefined;
  readonly url: string | undefined;
  /** Whether the gateway sends it requests now. */
  readonly inBalancer: boolean;
  /** Whether its active health checks pass (and its connections hold). */
  readonly healthy: boolean;
  readonly outstanding: number;
  readonly ejected: boolean;
  readonly breaker: BreakerState | undefined;
  readonly restarts: number;
  readonly crashLooping: boolean;
  readonly lastExit: ReplicaExit | undefined;
}

export interface DeploymentStatus {
  readonly gateway: { readonly url: string; readonly grpc: string | undefined };
  /** ms since the epoch. */
  readonly startedAt: number;
  readonly replicas: readonly ReplicaView[];
  readonly scaling: {
    readonly mode: ScaleMode;
    readonly min: number;
    readonly max: number;
    readonly desired: number;
    readonly targetInflightPerReplica: number;
    /** Why the count is what it is: the autoscaler's last reason, or the pin. */
    readonly reason: string;
  };
  readonly traffic: {
    readonly inflight: number;
    /** Requests waiting in the gateway's buffer for a replica. */
    readonly waiting: number;
    /** ms since the epoch; undefined before the first request. */
    readonly lastRequestAt: number | undefined;
  };
  /** The last scale from zero: how long its first request waited for a replica. */
  readonly lastColdStartMs: number | undefined;
  /** The revision new stable replicas serve, and what it serves. */
  readonly revision: { readonly id: number; readonly args: readonly string[] };
  /** The rollout in progress, or the last one; undefined before any. */
  readonly rollout: Record<string, unknown> | undefined;
}

/**
 * @example
 * const deployment = await LocalDeployment.start({ berthBin, serveArgs: ['models/'], replicas, resilience, host: '127.0.0.1', port: 8000, maxBodyBytes: 64 << 20 });
 * console.log(deployment.status());
 * await deployment.stop();
 */
export class LocalDeployment {
  private readonly pool: UpstreamPool;
  private readonly metrics: GatewayMetrics;
  private readonly supervisor: Supervisor;
  private readonly autoscaler: Autoscaler | undefined;
  private gateway: RunningGateway | undefined;
  private grpc: RunningGatewayGrpc | undefined;
  private readonly startedAt = Date.now();
  /** Replicas of the stable track the supervisor runs and is not stopping, with their revision. */
  private readonly active = new Map<string, Revision>();
  private readonly tracks: Tracks;
  /** What new stable replicas serve; a rolling update changes it, and replaces the others. */
  private stable: Revision;
  private previous: Revision | undefined;
  private nextRevision = 2;
  private nextCandidate = 1;
  private run: RolloutRun | undefined;
  private rolling: RollingUpdate | undefined;
  /** The last rollout's status, once it ended. */
  private lastRollout: Record<string, unknown> | undefined;
  /** Stable replicas that became ready at least once (a rolling update counts failed starts). */
  private readonly everReady = new Set<string>();
  private nextId = 1;
  private mode: ScaleMode;
  private desired: number;
  private reason: string;
  private timer: ReturnType<typeof setInterval> | undefined;
  private samples = { sum: 0, count: 0 };
  private ticks = 0;
  private coldStartSince: number | undefined;
  private lastColdStartMs: number | undefined;
  private stopping = false;

  private constructor(private readonly options: LocalDeploymentOptions) {
    const { resilience, replicas } = options;
    this.stable = { id: 1, args: options.serveArgs };
    this.metrics = createGatewayMetrics({
      collect: () => {
        const state = this.run?.state;
        return {
          upstreams: [...this.pool.view(), ...(this.tracks.candidate?.view() ?? [])],
          desired: this.desired,
          ...(state === undefined ? {} : { rollout: state }),
        };
      },
    });
    this.pool = new UpstreamPool({
      ...poolPolicies(resilience),
      onWaiting: () => this.onWaiting(),
      onEjected: (id) => {
        this.metrics.ejected(id);
        options.onEvent?.({ type: 'ejected', id });
      },
    });
    this.tracks = new Tracks(this.pool);
    this.tracks.onCompared = (agree) => this.metrics.compared(agree);
    // The replicas serve REST and gRPC on unix sockets in a folder only this user can enter: the
    // gateway reaches them without a TCP loopback hop, and no other local user can reach them at
    // all, so the gateway is the one way in (where access control is).
    const socketDir = socketFolder();
    this.supervisor = new Supervisor({
      berthBin: options.berthBin,
      socketDir,
      ...(options.nodePath === undefined ? {} : { nodePath: options.nodePath }),
      ...(options.backoff === undefined ? {} : { backoff: options.backoff }),
      ...(options.stopTimeoutMs === undefined ? {} : { stopTimeoutMs: options.stopTimeoutMs }),
      ...(options.onLine === undefined ? {} : { onLine: options.onLine }),
      onEvent: (event) => this.onReplicaEvent(event),
    });
    if (options.fixedReplicas !== undefined) {
      this.mode = 'fixed';
      this.desired = options.fixedReplicas;
      this.reason = `fixed at ${options.fixedReplicas} (--replicas)`;
    } else if (replicas.max === replicas.min) {
      this.mode = 'fixed';
      this.desired = replicas.min;
      this.reason = `fixed at ${replicas.min} (replicas.min = replicas.max)`;
    } else {
      this.mode = 'auto';
      this.desired = replicas.min;
      this.reason = `starting at replicas.min (${replicas.min})`;
      this.autoscaler = new Autoscaler({
        ...HPA_DEFAULTS,
        min: replicas.min,
        max: replicas.max,
        targetInflightPerReplica: replicas.target.inflightPerReplica,
        scaleDownAfterMs: replicas.scaleDownAfter,
        idleToZeroMs: replicas.min === 0 ? replicas.idleToZero : undefined,
      });
    }
  }

  /** Starts the replicas and the gateway; resolves when the gateway listens (not when ready). */
  static async start(options: LocalDeploymentOptions): Promise<LocalDeployment> {
    const deployment = new LocalDeployment(options);
    const { resilience } = options;
    const fronts = await startFronts({
      pool: deployment.pool,
      tracks: deployment.tracks,
      metrics: deployment.metrics,
      resilience,
      host: options.host,
      port: options.port,
      grpcPort: options.grpcPort,
      maxBodyBytes: options.maxBodyBytes,
      access: options.access,
      tls: options.tls,
      onHealth: (id, verdict) => options.onEvent?.({ type: 'health', id, healthy: verdict === 'healthy' }),
    });
    deployment.gateway = fronts.http;
    deployment.grpc = fronts.grpc;
    deployment.reconcile();
    const period = options.syncPeriodMs ?? 1000;
    deployment.timer = setInterval(() => deployment.sample(), period / 10);
    deployment.timer.unref();
    return deployment;
  }

  get url(): string {
    return this.gateway?.url ?? '';
  }

  /** The gateway's gRPC address (host:port), when it serves gRPC. */
  get grpcAddress(): string | undefined {
    return this.grpc?.address;
  }

  /** Resolves when `count` replicas (default: as many as desired) are ready, or none is starting. */
  async whenReady(count = this.desired): Promise<void> {
    for (;;) {
      const replicas = this.supervisor.status().filter((r) => this.active.has(r.id));
      if (this.stopping || replicas.filter((r) => r.state === 'ready').length >= count) return;
      const starting = replicas.filter((r) => r.state !== 'ready');
      if (starting.length === 0) return;
      await Promise.race(starting.map((r) => this.supervisor.whenReady(r.id).catch(() => undefined)));
    }
  }

  /**
   * `berth scale N`: exactly N replicas from now on, autoscaling off; `undefined` hands the count
   * back to the autoscaler (or to the spec's fixed count).
   */
  scale(replicas: number | undefined): void {
    if (replicas === undefined) {
      if (this.autoscaler !== undefined) {
        this.mode = 'auto';
        this.reason = 'autoscaling resumed by berth scale auto';
      } else {
        this.mode = 'fixed';
        this.desired = this.options.fixedReplicas ?? this.options.replicas.min;
        this.reason = `fixed at ${this.desired}`;
      }
    } else {
      this.mode = 'pinned';
      this.reason = `pinned at ${replicas} by berth scale`;
      this.setDesired(replicas, this.reason);
    }
    this.reconcile();
  }

  status(): DeploymentStatus {
    const views = new Map(
      [...(this.tracks.candidate?.view() ?? []), ...this.pool.view()].map((u) => [u.id, u]),
    );
    const run = this.run !== undefined && !this.run.done ? this.run : undefined;
    const replicas = this.supervisor.status().map((r): ReplicaView => {
      const upstream = views.get(r.id);
      const candidate = run !== undefined && run.owns(r.id);
      const revision = candidate ? run.revision : this.active.get(r.id);
      return {
        id: r.id,
        track: candidate ? 'canary' : 'stable',
        revision: revision?.id,
        state: this.active.has(r.id) || candidate || r.state === 'stopped' ? r.state : 'stopping',
        pid: r.pid,
        url: r.url,
        inBalancer:
          upstream?.ready === true && upstream.healthy && !upstream.ejected && upstream.breaker !== 'open',
        healthy: upstream?.healthy ?? false,
        outstanding: upstream?.outstanding ?? 0,
        ejected: upstream?.ejected ?? false,
        breaker: upstream?.breaker,
        restarts: r.restarts,
        crashLooping: r.crashLooping,
        lastExit: r.lastExit,
      };
    });
    const { min, max, target } = this.options.replicas;
    const fixed = this.mode === 'fixed' ? this.desired : undefined;
    const lastRequest = this.pool.lastRequestAt;
    return {
      gateway: { url: this.url, grpc: this.grpcAddress },
      startedAt: this.startedAt,
      replicas,
      scaling: {
        mode: this.mode,
        min: fixed ?? min,
        max: fixed ?? max,
        desired: this.desired,
        targetInflightPerReplica: target.inflightPerReplica,
        reason: this.reason,
      },
      traffic: {
        inflight: this.inflight(),
        waiting: this.pool.waiting,
        lastRequestAt:
          lastRequest === undefined ? undefined : Math.round(Date.now() - (performance.now() - lastRequest)),
      },
      lastColdStartMs: this.lastColdStartMs,
      revision: { id: this.stable.id, args: this.stable.args },
      rollout: this.rolloutStatus(),
    };
  }

  /**
   * Stops taking requests, lets those in flight finish (up to the replicas' stop timeout), then
   * drains and stops every replica.
   */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.pool.close();
    // A rollout in progress ends with the deployment: its health checks stop, its replica drains.
    if (this.run !== undefined && !this.run.done) this.run.abort('berth up is stopping');
    const gateway = this.gateway;
    const grpc = this.grpc;
    const grace = setTimeout(() => {
      gateway?.closeAll();
      grpc?.closeAll();
    }, this.options.stopTimeoutMs ?? 35_000);
    await Promise.all([gateway?.close(), grpc?.close()]);
    clearTimeout(grace);
    for (const id of this.active.keys()) this.pool.setReady(id, false);
    this.active.clear();
    this.tracks.clear();
    await this.supervisor.stopAll();
  }

  private inflight(): number {
    let sum = this.pool.waiting;
    for (const upstream of this.pool.view()) sum += upstream.outstanding;
    return sum;
  }

  /** Samples the load ten times per period; decides once per period. */
  private sample(): void {
    this.samples.sum += this.inflight();
    this.samples.count++;
    if (++this.ticks % 10 === 0) this.decide();
    this.run?.tick();
  }

  private decide(): void {
    if (this.autoscaler === undefined || this.mode !== 'auto' || this.stopping) return;
    const { sum, count } = this.samples;
    this.samples = { sum: 0, count: 0 };
    // The average over the period, but never below what waits now: a queue is demand.
    const inflight = Math.max(count === 0 ? 0 : sum / count, this.pool.waiting);
    const lastRequest = this.pool.lastRequestAt;
    const decision = this.autoscaler.decide({
      now: performance.now(),
      replicas: this.active.size,
      inflight: Math.round(inflight * 10) / 10,
      lastRequestAt: lastRequest,
    });
    this.reason = decision.reason;
    this.setDesired(decision.desired, decision.reason);
    this.reconcile();
  }

  private setDesired(desired: number, reason: string): void {
    if (desired !== this.desired) {
      this.options.onEvent?.({ type: 'scaled', from: this.desired, to: desired, reason });
    }
    this.desired = desired;
  }

  /** A request waits with no replica to take it: with none running, scale from zero now. */
  private onWaiting(): void {
    if (this.stopping || this.active.size > 0) return;
    this.coldStartSince ??= performance.now();
    this.decide();
  }

  /**
   * Starts or drains stable replicas as replica-plan.ts decides: as many as desired, all of the
   * stable revision, an older one's replaced one at a time (surge 1).
   */
  private reconcile(): void {
    if (this.stopping) return;
    const states = new Map(this.supervisor.status().map((r) => [r.id, r.state]));
    const plan = planReplicas(
      [...this.active].map(([id, revision]) => ({
        id,
        current: revision === this.stable,
        ready: states.get(id) === 'ready',
        order: Number(id.slice(1)),
      })),
      this.desired,
    );
    for (const id of plan.drain) this.drain(id);
    for (let i = 0; i < plan.start; i++) {
      const id = `r${this.nextId++}`;
      this.active.set(id, this.stable);
      this.supervisor.add({ id, args: this.stable.args });
    }
    if (plan.rolledOut && this.rolling !== undefined) {
      this.endRolling('promoted', 'every replica serves the new revision');
    }
  }

  /** Out of the balancer first, then SIGTERM: the replica finishes what it holds. */
  private drain(id: string): void {
    this.active.delete(id);
    this.pool.setReady(id, false);
    this.options.onEvent?.({ type: 'draining', id });
    void this.supervisor.stop(id);
  }

  /** Whether a rollout (canary, shadow or rolling) is in progress. */
  get rolloutBusy(): boolean {
    return (this.run !== undefined && !this.run.done) || this.rolling !== undefined;
  }

  /**
   * `berth rollout start`: a new revision (what `berth serve` is given), by the spec's strategy
   * or `strategy`.
   */
  startRollout(args: readonly string[], strategy?: RolloutSpec['strategy']): Record<string, unknown> {
    if (this.stopping) throw controlError('berth up is shutting down');
    if (this.rolloutBusy) {
      throw controlError('a rollout is in progress: promote or abort it first (berth rollout status)');
    }
    const spec = this.options.rollout;
    const revision: Revision = { id: this.nextRevision++, args };
    const chosen = strategy ?? spec.strategy;
    this.lastRollout = undefined;
    if (chosen === 'rolling' || this.active.size === 0) {
      this.beginRolling(revision, 'rollout started');
      return this.rolloutStatus() ?? {};
    }
    const replicaId = `c${this.nextCandidate++}`;
    this.run = new RolloutRun({
      strategy: chosen,
      spec,
      revision,
      replicaId,
      supervisor: this.supervisor,
      tracks: this.tracks,
      healthCheck: healthPolicy(this.options.resilience),
      onEvent: (message, fields) => this.options.onEvent?.({ type: 'rollout', message, fields }),
      onEnd: (phase, candidate) => this.endRun(phase, revision, candidate),
    });
    this.run.start();
    this.options.onEvent?.({
      type: 'rollout',
      message: `rollout started: revision ${revision.id}, ${chosen}, steps ${spec.steps.join(' → ')} %`,
      fields: { revision: revision.id, strategy: chosen, args },
    });
    return this.rolloutStatus() ?? {};
  }

  /** `berth rollout promote`: the candidate takes all traffic now. */
  promoteRollout(): Record<string, unknown> {
    if (this.run !== undefined && !this.run.done) {
      try {
        this.run.promote();
      } catch (error) {
        throw controlError(error instanceof Error ? error.message : String(error));
      }
    } else if (this.rolling !== undefined) {
      throw controlError('a rolling update promotes itself, one replica at a time; abort it to go back');
    } else throw controlError('no rollout is in progress');
    return this.rolloutStatus() ?? {};
  }

  /** `berth rollout abort`: back to the stable revision. */
  abortRollout(): Record<string, unknown> {
    if (this.run !== undefined && !this.run.done) this.run.abort();
    else if (this.rolling !== undefined) this.rollBackRolling('aborted by hand');
    else throw controlError('no rollout is in progress');
    return this.rolloutStatus() ?? {};
  }

  /** `berth rollout undo`: a rolling update back to the revision before the last one. */
  undoRollout(): Record<string, unknown> {
    const previous = this.previous;
    if (previous === undefined) throw controlError('there is no earlier revision to go back to');
    if ((this.run !== undefined && !this.run.done) || this.rolling !== undefined) {
      throw controlError('a rollout is in progress: abort it instead');
    }
    this.lastRollout = undefined;
    this.beginRolling(
      { id: this.nextRevision++, args: previous.args },
      `undo: back to revision ${previous.id}`,
    );
    return this.rolloutStatus() ?? {};
  }

  private rolloutStatus(): Record<string, unknown> | undefined {
    if (this.run !== undefined && !this.run.done) return this.run.status();
    if (this.rolling !== undefined) {
      const { from, to, reason } = this.rolling;
      const replaced = [...this.active.values()].filter((r) => r === to).length;
      return {
        strategy: 'rolling',
        revision: to.id,
        from: from.id,
        phase: 'progressing',
        replaced,
        of: this.desired,
        reason,
      };
    }
    return this.lastRollout;
  }

  private beginRolling(revision: Revision, reason: string): void {
    this.rolling = { from: this.stable, to: revision, startFailures: 0, reason };
    this.previous = this.stable;
    this.stable = revision;
    this.options.onEvent?.({
      type: 'rollout',
      message: `rolling update to revision ${revision.id}: one replica at a time (${reason})`,
      fields: { revision: revision.id, args: revision.args },
    });
    this.reconcile();
  }

  private endRolling(phase: 'promoted' | 'rolled-back', reason: string): void {
    const rolling = this.rolling;
    if (rolling === undefined) return;
    this.rolling = undefined;
    this.lastRollout = {
      strategy: 'rolling',
      revision: rolling.to.id,
      from: rolling.from.id,
      phase,
      reason,
    };
    this.options.onEvent?.({ type: 'rollout', message: `rollout ${phase}: ${reason}`, fields: { phase } });
  }

  /** A rolling update whose new replicas do not start: the old revision comes back. */
  private rollBackRolling(reason: string): void {
    const rolling = this.rolling;
    if (rolling === undefined) return;
    this.stable = rolling.from;
    this.previous = undefined;
    this.endRolling('rolled-back', reason);
    this.reconcile();
  }

  /** A canary's or shadow's end: promoted, its replica joins the stable track and the rest roll. */
  private endRun(
    phase: 'promoted' | 'rolled-back',
    revision: Revision,
    candidate: CandidateReplica | undefined,
  ): void {
    this.lastRollout = this.run?.status();
    if (phase === 'rolled-back' || candidate === undefined || this.stopping) return;
    this.previous = this.stable;
    this.stable = revision;
    this.active.set(candidate.id, revision);
    this.everReady.add(candidate.id);
    this.pool.add(candidate.id, candidate.url, candidate.grpc);
    this.reconcile();
  }

  private onReplicaEvent(event: ReplicaEvent): void {
    const run = this.run;
    if (run !== undefined && !run.done && run.owns(event.id)) {
      run.onReplicaEvent(event);
      this.options.onEvent?.(event);
      return;
    }
    if (event.type === 'ready') {
      if (this.active.has(event.id)) {
        this.everReady.add(event.id);
        this.pool.add(event.id, event.url, event.grpc);
        if (this.coldStartSince !== undefined) {
          this.lastColdStartMs = Math.round(performance.now() - this.coldStartSince);
          this.coldStartSince = undefined;
          this.options.onEvent?.({ type: 'cold-start', ms: this.lastColdStartMs });
        }
        this.reconcile();
      }
    } else if (event.type === 'exited' || event.type === 'stopped') {
      this.pool.remove(event.id);
      if (event.type === 'stopped') {
        this.metrics.upstreamRemoved(event.id);
        this.everReady.delete(event.id);
      }
      const rolling = this.rolling;
      if (
        event.type === 'exited' &&
        rolling !== undefined &&
        this.active.get(event.id) === rolling.to &&
        !this.everReady.has(event.id) &&
        ++rolling.startFailures >= this.options.rollout.failAfter + 1
      ) {
        this.rollBackRolling(
          `the new revision's replica ${event.id} exited ${rolling.startFailures} times before it was ready`,
        );
      }
    }
    this.options.onEvent?.(event);
  }
}

interface RollingUpdate {
  readonly from: Revision;
  readonly to: Revision;
  startFailures: number;
  readonly reason: string;
}

function controlError(message: string): BerthError {
  return new BerthError('BERTH_ERR_CONTROL_INVALID_REQUEST', message);
}
