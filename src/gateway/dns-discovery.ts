/**
 * Upstreams found by DNS, as Envoy's STRICT_DNS clusters find theirs: a name is looked up every
 * `intervalMs` and the pool follows the answer. On Kubernetes the name is a headless Service,
 * which answers with one address per ready pod, so a pod that becomes ready joins the balancer and
 * one that goes away leaves it, without the gateway holding any API credential.
 *
 * - An address that appears is added (its REST URL and gRPC address from the target's ports); one
 *   that is gone is removed. The ids are the addresses, so a pod keeps its counts while it stays.
 * - A failed lookup changes nothing: the last answer stands (a DNS hiccup must not empty the
 *   pool), and it is reported once until a lookup succeeds again. An empty answer after a full one
 *   is believed only the second time in a row: every pod is gone (the candidate removed, a scale
 *   to zero).
 *
 * `membership` is the decision, pure; `DnsDiscovery` is the loop, on an injected resolver.
 */
import { lookup } from 'node:dns/promises';
import { BerthError } from '../ground/index.js';
import type { UpstreamPool } from './upstream-pool.js';

/** What to look up, and the ports every address serves on. */
export interface DnsTarget {
  readonly host: string;
  readonly port: number;
  /** The gRPC port of every address; undefined: REST only. */
  readonly grpcPort: number | undefined;
}

/** Looks a name up: every address it has now (IPv4 or IPv6, as text). */
export type Resolve = (host: string) => Promise<readonly string[]>;

const DEFAULT_RESOLVE: Resolve = async (host) =>
  (await lookup(host, { all: true, order: 'verbatim' })).map((a) => a.address);

const HOST = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;

/**
 * `dns:HOST:PORT`, as `berth gateway --upstream` takes it.
 *
 * @throws BerthError BERTH_ERR_CLI_INVALID_OPTION naming `option` and what was expected.
 * @example
 * parseDnsTarget('--upstream', 'dns:fraud-pods:8000', 8001); // { host: 'fraud-pods', port: 8000, grpcPort: 8001 }
 */
export function parseDnsTarget(option: string, text: string, grpcPort: number | undefined): DnsTarget {
  const match = /^dns:([^:]+):(\d{1,5})$/.exec(text);
  const port = Number(match?.[2]);
  if (match === null || !HOST.test(match[1] ?? '') || !(port >= 1 && port <= 65535))
    throw new BerthError(
      'BERTH_ERR_CLI_INVALID_OPTION',
      `${option}: expected dns:HOST:PORT (a name and a port from 1 to 65535, e.g. dns:fraud-pods:8000), got ${JSON.stringify(text)}`,
    );
  return { host: match[1] ?? '', port, grpcPort };
}

/** The REST URL and gRPC address of one address on the target's ports. */
export function endpointOf(
  address: string,
  target: DnsTarget,
): { readonly url: string; readonly grpc: string | undefined } {
  const host = address.includes(':') ? `[${address}]` : address;
  return {
    url: `http://${host}:${target.port}`,
    grpc: target.grpcPort === undefined ? undefined : `${host}:${target.grpcPort}`,
  };
}

/**
 * What changes when a lookup answers `resolved` and the pool holds `current`.
 *
 * @example
 * membership(new Set(['10.0.0.1']), ['10.0.0.2', '10.0.0.1']); // { add: ['10.0.0.2'], remove: [] }
 */
export function membership(
  current: ReadonlySet<string>,
  resolved: readonly string[],
): { readonly add: readonly string[]; readonly remove: readonly string[] } {
  const now = new Set(resolved);
  return {
    add: [...now].filter((a) => !current.has(a)),
    remove: [...current].filter((a) => !now.has(a)),
  };
}

export interface DnsDiscoveryOptions {
  /** Default 5 s (a headless Service's records live 5 s in CoreDNS's cache by default). */
  readonly intervalMs?: number;
  readonly resolve?: Resolve;
  /** Called with every change the pool takes. */
  readonly onChange?: (added: readonly string[], removed: readonly string[]) => void;
  /** Called when a lookup fails (the last answer stands); once per failure, however long it lasts. */
  readonly onError?: (error: Error) => void;
}

/**
 * @example
 * const discovery = new DnsDiscovery({ host: 'fraud-pods', port: 8000, grpcPort: 8001 }, pool);
 * await discovery.refresh(); // the first answer, before the gateway listens
 * discovery.start();
 */
export class DnsDiscovery {
  private readonly members = new Set<string>();
  private readonly resolve: Resolve;
  private timer: ReturnType<typeof setInterval> | undefined;
  private emptyAnswers = 0;
  /** The last lookup failure reported, so that a resolver that stays down is reported once. */
  private lastError: string | undefined;
  private running: Promise<void> | undefined;

  constructor(
    readonly target: DnsTarget,
    private readonly pool: UpstreamPool,
    private readonly options: DnsDiscoveryOptions = {},
  ) {
    this.resolve = options.resolve ?? DEFAULT_RESOLVE;
  }

  /** The addresses in the pool now. */
  get addresses(): readonly string[] {
    return [...this.members];
  }

  /** One lookup, and the pool brought in line with it. Never rejects. */
  refresh(): Promise<void> {
    this.running ??= this.lookOnce().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => void this.refresh(), this.options.intervalMs ?? 5000);
    this.timer.unref();
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async lookOnce(): Promise<void> {
    let resolved: readonly string[];
    try {
      resolved = await this.resolve(this.target.host);
    } catch (error) {
      // ENOTFOUND is how a headless Service with no ready pod answers: an empty answer.
      if ((error as NodeJS.ErrnoException).code === 'ENOTFOUND') resolved = [];
      else {
        const failure = error instanceof Error ? error : new Error(String(error));
        if (failure.message !== this.lastError) this.options.onError?.(failure);
        this.lastError = failure.message;
        return;
      }
    }
    this.lastError = undefined;
    if (resolved.length === 0 && this.members.size > 0 && ++this.emptyAnswers < 2) return;
    this.emptyAnswers = 0;
    const { add, remove } = membership(this.members, resolved);
    for (const address of remove) {
      this.pool.remove(address);
      this.members.delete(address);
    }
    for (const address of add) {
      const { url, grpc } = endpointOf(address, this.target);
      this.pool.add(address, url, grpc);
      this.members.add(address);
    }
    if (add.length > 0 || remove.length > 0) this.options.onChange?.(add, remove);
  }
}
