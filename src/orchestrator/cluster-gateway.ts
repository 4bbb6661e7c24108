/**
 * `berth gateway`: the gateway of `berth up` without the replicas, in front of OIP servers that
 * something else runs: on Kubernetes, the pods of a Deployment found through a headless Service.
 * The same parts as `berth up`'s (balancing, outlier ejection, breakers, safe retries under a
 * budget, the buffer, access control, rate limits, the canary split and its per-track metrics),
 * with two sources of truth instead of a supervisor:
 *
 * - who the upstreams are: DNS, looked up every few seconds (dns-discovery.ts), for the stable
 *   track and, when given, the candidate's;
 * - how traffic is split: the traffic file (traffic-file.ts), read every second, which
 *   `berth deploy` writes through a ConfigMap at each step of a canary.
 */
import {
  createGatewayMetrics,
  DEFAULT_AGREEMENT,
  DnsDiscovery,
  startHealthChecks,
  Tracks,
  UpstreamPool,
  type AgreementPolicy,
  type DnsTarget,
  type GatewayAccess,
  type GatewayMetrics,
  type Resolve,
  type RunningGateway,
  type RunningGatewayGrpc,
  type RunningHealthChecks,
  type UpstreamView,
} from '../gateway/index.js';
import type { TlsFiles } from '../access/index.js';
import type { ResilienceSpec } from '../spec/index.js';
import { healthPolicy, poolPolicies, startFronts } from './gateway-settings.js';
import { NO_ROLLOUT, readTraffic, sameTraffic, type Traffic } from './traffic-file.js';

export interface ClusterGatewayOptions {
  readonly stable: DnsTarget;
  /** The candidate's pods (a canary or shadow rollout); absent: no candidate track. */
  readonly candidate?: DnsTarget;
  /** The traffic file; absent: every request to the stable track. */
  readonly trafficFile?: string;
  /** How answers are compared when the traffic file asks for it (rollout.analysis.compare). */
  readonly compare?: AgreementPolicy;
  readonly resilience: ResilienceSpec;
  readonly host: string;
  readonly port: number;
  /** undefined: no gRPC front. */
  readonly grpcPort?: number;
  readonly maxBodyBytes: number;
  readonly access?: GatewayAccess;
  readonly tls?: TlsFiles;
  /** How often the names are looked up. Default 5 s. */
  readonly discoveryIntervalMs?: number;
  /** How often the traffic file is read. Default 1 s. */
  readonly trafficIntervalMs?: number;
  /** Injected for tests; default: the system's resolver (getaddrinfo, as the pod's resolv.conf says). */
  readonly resolve?: Resolve;
  /** Longest wait for requests in flight at stop before connections are cut. Default 30 s. */
  readonly stopTimeoutMs?: number;
  /** What changed: upstreams found or gone, traffic moved, a file or lookup that failed. */
  readonly onEvent?: (level: 'info' | 'warn', message: string, fields: Record<string, unknown>) => void;
}

export interface ClusterGatewayStatus {
  readonly url: string;
  readonly grpc: string | undefined;
  readonly traffic: Traffic;
  readonly stable: readonly UpstreamView[];
  readonly candidate: readonly UpstreamView[];
}

/**
 * @example
 * const gateway = await ClusterGateway.start({ stable: { host: 'fraud-pods', port: 8000, grpcPort: 8001 }, resilience, host: '0.0.0.0', port: 8000, maxBodyBytes: 64 << 20 });
 * await gateway.stop();
 */
export class ClusterGateway {
  private readonly metrics: GatewayMetrics;
  private readonly stablePool: UpstreamPool;
  private readonly candidatePool: UpstreamPool;
  private readonly tracks: Tracks;
  private readonly discoveries: DnsDiscovery[] = [];
  private candidateChecks: RunningHealthChecks | undefined;
  private gateway: RunningGateway | undefined;
  private grpc: RunningGatewayGrpc | undefined;
  private trafficTimer: ReturnType<typeof setInterval> | undefined;
  private trafficError: string | undefined;
  private current: Traffic = NO_ROLLOUT;
  private stopping = false;

  private constructor(private readonly options: ClusterGatewayOptions) {
    const policies = poolPolicies(options.resilience);
    const onEjected = (id: string) => {
      this.metrics.ejected(id);
      this.event('warn', `upstream ${id} ejected: it kept failing (resilience.outlier)`, { upstream: id });
    };
    this.stablePool = new UpstreamPool({ ...policies, onEjected });
    this.candidatePool = new UpstreamPool({ ...policies, onEjected });
    this.tracks = new Tracks(this.stablePool);
    this.tracks.onCompared = (agree) => this.metrics.compared(agree);
    this.metrics = createGatewayMetrics({
      collect: () => {
        const traffic = this.current;
        return {
          upstreams: [...this.stablePool.view(), ...(this.tracks.candidate?.view() ?? [])],
          desired: this.stablePool.view().length,
          ...(traffic.candidate
            ? { rollout: { phase: 'progressing' as const, step: traffic.step, weight: traffic.weight } }
            : {}),
        };
      },
    });
  }

  /**
   * Looks the names up once, reads the traffic file, and starts both fronts. Resolves when the
   * gateway listens; requests that come before a pod is found wait in the buffer.
   */
  static async start(options: ClusterGatewayOptions): Promise<ClusterGateway> {
    const gateway = new ClusterGateway(options);
    try {
      await gateway.begin();
    } catch (error) {
      await gateway.stop();
      throw error;
    }
    return gateway;
  }

  get url(): string {
    return this.gateway?.url ?? '';
  }

  get grpcAddress(): string | undefined {
    return this.grpc?.address;
  }

  status(): ClusterGatewayStatus {
    return {
      url: this.url,
      grpc: this.grpcAddress,
      traffic: this.current,
      stable: this.stablePool.view(),
      candidate: this.candidatePool.view(),
    };
  }

  /** Reads the traffic file now and applies it (also done every trafficIntervalMs). */
  async readTraffic(): Promise<void> {
    const file = this.options.trafficFile;
    if (file === undefined || this.stopping) return;
    let traffic: Traffic;
    try {
      traffic = await readTraffic(file);
      if (traffic.candidate && this.options.candidate === undefined)
        throw new Error('it names a candidate, but the gateway has no --canary-upstream');
    } catch (error) {
      const message = (error as Error).message;
      // Said once per distinct failure, not every second.
      if (message !== this.trafficError)
        this.event('warn', `traffic file ${file}: ${message}; the traffic stays as it was`, { file });
      this.trafficError = message;
      return;
    }
    this.trafficError = undefined;
    this.apply(traffic);
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    clearInterval(this.trafficTimer);
    for (const discovery of this.discoveries) discovery.close();
    this.candidateChecks?.stop();
    this.stablePool.close();
    this.candidatePool.close();
    const grace = setTimeout(() => {
      this.gateway?.closeAll();
      this.grpc?.closeAll();
    }, this.options.stopTimeoutMs ?? 30_000);
    await Promise.all([this.gateway?.close(), this.grpc?.close()]);
    clearTimeout(grace);
    this.tracks.clear();
  }

  private async begin(): Promise<void> {
    const { options } = this;
    const watch = (target: DnsTarget, pool: UpstreamPool, track: 'stable' | 'canary') => {
      const discovery = new DnsDiscovery(target, pool, {
        ...(options.discoveryIntervalMs === undefined ? {} : { intervalMs: options.discoveryIntervalMs }),
        ...(options.resolve === undefined ? {} : { resolve: options.resolve }),
        onChange: (added, removed) => {
          for (const id of removed) this.metrics.upstreamRemoved(id);
          this.event('info', `${track}: ${discovery.addresses.length} upstream(s) at ${target.host}`, {
            track,
            added,
            removed,
          });
        },
        onError: (error) =>
          this.event(
            'warn',
            `${track}: looking up ${target.host} failed (${error.message}); upstreams kept`,
            {
              track,
            },
          ),
      });
      this.discoveries.push(discovery);
      return discovery;
    };
    const firstLookups = [watch(options.stable, this.stablePool, 'stable').refresh()];
    if (options.candidate !== undefined) {
      firstLookups.push(watch(options.candidate, this.candidatePool, 'canary').refresh());
      // DNS lists ready pods only; the checks catch one that stops answering between lookups.
      this.candidateChecks = startHealthChecks(this.candidatePool, healthPolicy(options.resilience));
    }
    await Promise.all(firstLookups);
    await this.readTraffic();
    const fronts = await startFronts({
      pool: this.stablePool,
      tracks: this.tracks,
      metrics: this.metrics,
      resilience: options.resilience,
      host: options.host,
      port: options.port,
      grpcPort: options.grpcPort,
      maxBodyBytes: options.maxBodyBytes,
      access: options.access,
      tls: options.tls,
      onHealth: (id, verdict) =>
        this.event(verdict === 'healthy' ? 'info' : 'warn', `upstream ${id} is ${verdict}`, { upstream: id }),
    });
    this.gateway = fronts.http;
    this.grpc = fronts.grpc;
    for (const discovery of this.discoveries) discovery.start();
    if (options.trafficFile !== undefined) {
      this.trafficTimer = setInterval(() => void this.readTraffic(), options.trafficIntervalMs ?? 1000);
      this.trafficTimer.unref();
    }
  }

  private apply(traffic: Traffic): void {
    if (sameTraffic(traffic, this.current)) return;
    const { tracks } = this;
    if (traffic.candidate) {
      tracks.candidate = this.candidatePool;
      tracks.weight = traffic.weight;
      tracks.mirror = traffic.mirror;
      tracks.compare = traffic.compare ? (this.options.compare ?? DEFAULT_AGREEMENT) : undefined;
    } else tracks.clear();
    this.current = traffic;
    this.event(
      'info',
      traffic.candidate
        ? `traffic: ${traffic.weight} % to the candidate${traffic.mirror > 0 ? `, ${traffic.mirror} % copied to it` : ''}${traffic.compare ? ', answers compared' : ''} (step ${traffic.step})`
        : 'traffic: every request to the stable track',
      { ...traffic },
    );
  }

  private event(level: 'info' | 'warn', message: string, fields: Record<string, unknown>): void {
    this.options.onEvent?.(level, message, fields);
  }
}
