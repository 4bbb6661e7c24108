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
  DEFAULT_BREAKER_POLICY,
  DEFAULT_OUTLIER_POLICY,
  startGatewayHttp,
  UpstreamPool,
  type BreakerState,
  type GatewayMetrics,
  type RunningGateway,
} from '../gateway/index.js';
import type { ReplicasSpec, ResilienceSpec } from '../spec/index.js';
import { Autoscaler, HPA_DEFAULTS } from './autoscaler.js';
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
  /** The gateway's public address. */
  readonly host: string;
  readonly port: number;
  readonly maxBodyBytes: number;
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
  | { readonly type: 'health'; readonly id: string; readonly healthy: boolean };

export type ScaleMode = 'fixed' | 'auto' | 'pinned';

export interface ReplicaView {
  readonly id: string;
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
  readonly gateway: { readonly url: string };
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
  private readonly startedAt = Date.now();
  /** Replicas the supervisor runs that are not being stopped. */
  private readonly active = new Set<string>();
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
    this.metrics = createGatewayMetrics({
      collect: () => ({ upstreams: this.pool.view(), desired: this.desired }),
    });
    this.pool = new UpstreamPool({
      outlier: {
        ...DEFAULT_OUTLIER_POLICY,
        consecutiveFailures: resilience.outlier.consecutive5xx,
        baseEjectionMs: resilience.outlier.ejectFor,
        maxEjectionMs: resilience.outlier.maxEjectFor,
        maxEjectionPercent: resilience.outlier.maxEjectionPercent,
      },
      breaker: {
        ...DEFAULT_BREAKER_POLICY,
        failures: resilience.breaker.failures,
        coolDownMs: resilience.breaker.coolDown,
        maxCoolDownMs: resilience.breaker.maxCoolDown,
      },
      onWaiting: () => this.onWaiting(),
      onEjected: (id) => {
        this.metrics.ejected(id);
        options.onEvent?.({ type: 'ejected', id });
      },
    });
    this.supervisor = new Supervisor({
      berthBin: options.berthBin,
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
    deployment.gateway = await startGatewayHttp({
      pool: deployment.pool,
      host: options.host,
      port: options.port,
      timeoutMs: resilience.timeoutMs,
      retries: resilience.retries,
      retryBudget: { share: resilience.retryBudget, minConcurrent: 3 },
      maxBodyBytes: options.maxBodyBytes,
      buffer: { maxRequests: resilience.buffer.maxRequests, maxWaitMs: resilience.buffer.maxWait },
      healthCheck: {
        intervalMs: resilience.healthCheck.interval,
        timeoutMs: resilience.healthCheck.timeout,
        unhealthyAfter: resilience.healthCheck.unhealthyAfter,
      },
      ...(resilience.perTryTimeout === undefined ? {} : { perTryTimeoutMs: resilience.perTryTimeout }),
      metrics: deployment.metrics,
      onHealth: (id, verdict) => options.onEvent?.({ type: 'health', id, healthy: verdict === 'healthy' }),
    });
    deployment.reconcile();
    const period = options.syncPeriodMs ?? 1000;
    deployment.timer = setInterval(() => deployment.sample(), period / 10);
    deployment.timer.unref();
    return deployment;
  }

  get url(): string {
    return this.gateway?.url ?? '';
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
    const views = new Map(this.pool.view().map((u) => [u.id, u]));
    const replicas = this.supervisor.status().map((r): ReplicaView => {
      const upstream = views.get(r.id);
      return {
        id: r.id,
        state: this.active.has(r.id) || r.state === 'stopped' ? r.state : 'stopping',
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
      gateway: { url: this.url },
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
    const gateway = this.gateway;
    if (gateway !== undefined) {
      const grace = setTimeout(() => gateway.closeAll(), this.options.stopTimeoutMs ?? 35_000);
      await gateway.close();
      clearTimeout(grace);
    }
    for (const id of this.active) this.pool.setReady(id, false);
    this.active.clear();
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

  /** Starts or stops replicas until as many run as are desired. */
  private reconcile(): void {
    if (this.stopping) return;
    while (this.active.size < this.desired) {
      const id = `r${this.nextId++}`;
      this.active.add(id);
      this.supervisor.add({ id, args: this.options.serveArgs });
    }
    if (this.active.size <= this.desired) return;
    const byState = this.supervisor.status().filter((r) => this.active.has(r.id));
    // Not ready ones first (they serve nobody), then the newest.
    byState.sort((a, b) => {
      const readyA = a.state === 'ready' ? 1 : 0;
      const readyB = b.state === 'ready' ? 1 : 0;
      if (readyA !== readyB) return readyA - readyB;
      return Number(b.id.slice(1)) - Number(a.id.slice(1));
    });
    for (const replica of byState.slice(0, this.active.size - this.desired)) this.drain(replica.id);
  }

  /** Out of the balancer first, then SIGTERM: the replica finishes what it holds. */
  private drain(id: string): void {
    this.active.delete(id);
    this.pool.setReady(id, false);
    this.options.onEvent?.({ type: 'draining', id });
    void this.supervisor.stop(id);
  }

  private onReplicaEvent(event: ReplicaEvent): void {
    if (event.type === 'ready') {
      if (this.active.has(event.id)) {
        this.pool.add(event.id, event.url, event.grpc);
        if (this.coldStartSince !== undefined) {
          this.lastColdStartMs = Math.round(performance.now() - this.coldStartSince);
          this.coldStartSince = undefined;
          this.options.onEvent?.({ type: 'cold-start', ms: this.lastColdStartMs });
        }
      }
    } else if (event.type === 'exited' || event.type === 'stopped') {
      this.pool.remove(event.id);
      if (event.type === 'stopped') this.metrics.upstreamRemoved(event.id);
    }
    this.options.onEvent?.(event);
  }
}
