/**
 * The gateway's upstreams and their health: which may take a request now (added, ready, not
 * ejected by the outlier detector, breaker not open), and the request counts the balancer reads.
 * Decisions stay in their pure modules; this holds their state per upstream, on the caller's
 * clock.
 *
 * It is also where a request waits when none can take it (a cold start, a scale from zero, every
 * replica restarting): `whenAvailable` resolves, first come first served, as soon as an upstream
 * is added or comes back, and `waiting` is what the autoscaler adds to the load it sees.
 */
import { pickUpstream, type Random } from './balancer.js';
import {
  CircuitBreaker,
  DEFAULT_BREAKER_POLICY,
  type BreakerPolicy,
  type BreakerState,
} from './circuit-breaker.js';
import { DEFAULT_OUTLIER_POLICY, OutlierDetector, type OutlierPolicy } from './outlier-detector.js';

export interface Upstream {
  readonly id: string;
  /** Its REST base URL, e.g. http://127.0.0.1:41234. */
  readonly url: string;
  /** Its gRPC address (host:port), when it serves gRPC. */
  readonly grpc: string | undefined;
  /** Requests sent and not answered. */
  outstanding: number;
  /** Whether it may take requests (ready, not draining): what its owner says. */
  ready: boolean;
  /** Whether its health checks pass and its connections hold: what the gateway observed. */
  healthy: boolean;
  readonly breaker: CircuitBreaker;
}

export interface UpstreamView {
  readonly id: string;
  readonly url: string;
  readonly ready: boolean;
  readonly healthy: boolean;
  readonly outstanding: number;
  readonly ejected: boolean;
  readonly breaker: BreakerState;
}

export interface UpstreamPoolOptions {
  readonly outlier?: OutlierPolicy;
  readonly breaker?: BreakerPolicy;
  readonly random?: Random;
  /** ms, monotonic; injected for tests. */
  readonly now?: () => number;
  /** Called when a request starts waiting for an upstream: the cue to scale from zero. */
  readonly onWaiting?: () => void;
  /** Called when the outlier detector ejects an upstream (for metrics and logs). */
  readonly onEjected?: (id: string) => void;
}

interface Waiter {
  readonly wake: (available: boolean) => void;
}

/**
 * @example
 * const pool = new UpstreamPool();
 * pool.add('r1', 'http://127.0.0.1:41234');
 * const upstream = pool.acquire();            // undefined when none may take a request
 * try { ...; pool.release(upstream, true); } catch { pool.release(upstream, false); }
 */
export class UpstreamPool {
  private readonly upstreams = new Map<string, Upstream>();
  private readonly outliers: OutlierDetector;
  private readonly random: Random;
  private readonly now: () => number;
  private readonly waiters: Waiter[] = [];
  /** When a request last asked for an upstream (the autoscaler's idle clock), on `now`. */
  lastRequestAt: number | undefined;
  /** Set by close(). */
  closed = false;
  /** Told when markLost() takes an upstream out, so that health checks bring it back. */
  onLost: ((upstream: Upstream) => void) | undefined;

  constructor(private readonly options: UpstreamPoolOptions = {}) {
    this.outliers = new OutlierDetector(options.outlier ?? DEFAULT_OUTLIER_POLICY);
    this.random = options.random ?? Math.random;
    this.now = options.now ?? (() => performance.now());
  }

  add(id: string, url: string, grpc?: string): void {
    this.upstreams.set(id, {
      id,
      url,
      grpc,
      outstanding: 0,
      ready: true,
      healthy: true,
      breaker: new CircuitBreaker(this.options.breaker ?? DEFAULT_BREAKER_POLICY),
    });
    this.outliers.add(id, this.now());
    this.wakeWaiters();
  }

  remove(id: string): void {
    this.upstreams.delete(id);
    this.outliers.remove(id);
  }

  /** Whether `upstream` is still this pool's (it was not removed, or replaced, since). */
  holds(upstream: Upstream): boolean {
    return this.upstreams.get(upstream.id) === upstream;
  }

  /** Takes an upstream out of (or back into) the balancer, as its readiness or a drain says. */
  setReady(id: string, ready: boolean): void {
    const upstream = this.upstreams.get(id);
    if (upstream === undefined) return;
    upstream.ready = ready;
    if (ready) this.wakeWaiters();
  }

  /** Active health's verdict (active-health.ts): an unhealthy upstream takes no request. */
  setHealthy(id: string, healthy: boolean): void {
    const upstream = this.upstreams.get(id);
    if (upstream === undefined) return;
    upstream.healthy = healthy;
    if (healthy) this.wakeWaiters();
  }

  /**
   * A connection to `upstream` was lost, or it said it drains: out of the balancer at once, until
   * a health check passes (or it leaves the pool).
   */
  markLost(upstream: Upstream): void {
    if (!this.holds(upstream) || !upstream.healthy) return;
    upstream.healthy = false;
    this.onLost?.(upstream);
  }

  /** The URL of the upstream with this id now; undefined when there is none. */
  urlOf(id: string): string | undefined {
    return this.upstreams.get(id)?.url;
  }

  /** Requests waiting in `whenAvailable` now. */
  get waiting(): number {
    return this.waiters.length;
  }

  /**
   * Resolves true when some upstream could take a request (at once if one can), false when
   * `timeoutMs` passes or `signal` aborts first. All waiters wake, in the order they came, when an
   * upstream is added, comes back, or answers well; each then races acquire() like any request.
   */
  whenAvailable(timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    this.lastRequestAt = this.now();
    if (this.available) return Promise.resolve(true);
    if (timeoutMs <= 0 || signal?.aborted === true || this.closed) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const waiter: Waiter = {
        wake: (available) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', abort);
          resolve(available);
        },
      };
      const leave = () => {
        const index = this.waiters.indexOf(waiter);
        if (index >= 0) this.waiters.splice(index, 1);
        waiter.wake(false);
      };
      const abort = () => leave();
      const timer = setTimeout(leave, timeoutMs);
      signal?.addEventListener('abort', abort, { once: true });
      this.waiters.push(waiter);
      this.options.onWaiting?.();
    });
  }

  /** Shutting down: waiters give up now, and no request waits from here on. */
  close(): void {
    this.closed = true;
    for (const waiter of this.waiters.splice(0)) waiter.wake(false);
  }

  /** Wakes every waiter when an upstream became available (each retries acquire()). */
  private wakeWaiters(): void {
    if (this.waiters.length === 0 || !this.available) return;
    for (const waiter of this.waiters.splice(0)) waiter.wake(true);
  }

  /**
   * An upstream for one request, its outstanding count taken; undefined when none may take one.
   * `exclude` skips upstreams a retry of the same request already tried (a replica restarted
   * under the same id is a new upstream, and may be tried again).
   */
  acquire(exclude?: ReadonlySet<Upstream>): Upstream | undefined {
    const now = this.now();
    this.lastRequestAt = now;
    const usable: Upstream[] = [];
    for (const upstream of this.upstreams.values()) {
      if (!upstream.ready || !upstream.healthy || exclude?.has(upstream) === true) continue;
      if (this.outliers.isEjected(upstream.id, now)) continue;
      if (upstream.breaker.state(now) === 'open') continue;
      usable.push(upstream);
    }
    // Draw among those whose breaker lets the request through (a half-open one has few probes).
    while (usable.length > 0) {
      const chosen = pickUpstream(usable, this.random);
      if (chosen === undefined) return undefined;
      if (chosen.breaker.tryAcquire(now)) {
        chosen.outstanding++;
        return chosen;
      }
      usable.splice(usable.indexOf(chosen), 1);
    }
    return undefined;
  }

  /**
   * The outcome of a request acquire() handed out. `ok` false is a failure of the upstream (a
   * 5xx other than a drain's 503, a reset or refused connection, a timeout), not of the request.
   */
  release(upstream: Upstream, ok: boolean): void {
    upstream.outstanding = Math.max(0, upstream.outstanding - 1);
    const now = this.now();
    upstream.breaker.record(ok, now);
    if (
      this.upstreams.get(upstream.id) === upstream &&
      this.outliers.record(upstream.id, ok, now) === 'ejected'
    ) {
      this.options.onEjected?.(upstream.id);
    }
    if (ok) this.wakeWaiters();
  }

  /** Whether any upstream could take a request now. */
  get available(): boolean {
    const now = this.now();
    for (const upstream of this.upstreams.values()) {
      if (
        upstream.ready &&
        upstream.healthy &&
        !this.outliers.isEjected(upstream.id, now) &&
        upstream.breaker.state(now) !== 'open'
      ) {
        return true;
      }
    }
    return false;
  }

  view(): UpstreamView[] {
    const now = this.now();
    return [...this.upstreams.values()].map((u) => ({
      id: u.id,
      url: u.url,
      ready: u.ready,
      healthy: u.healthy,
      outstanding: u.outstanding,
      ejected: this.outliers.isEjected(u.id, now),
      breaker: u.breaker.state(now),
    }));
  }
}
