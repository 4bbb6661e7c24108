/**
 * One thing per upstream pool a front sends to (a forwarder, with its connections or channels):
 * the stable pool's, and a rollout's candidate's while it runs. A candidate's pool comes and goes
 * with its rollout, so when a new pool is first used, the things of pools that are neither the
 * stable one nor the current candidate any more are closed. Both fronts use it
 * (gateway-http.ts, gateway-grpc.ts).
 */
import type { Tracks } from './tracks.js';
import type { UpstreamPool } from './upstream-pool.js';

/**
 * @example
 * const forwarders = new PerPool(pool, tracks, (of, stable) => new HttpForwarder(of, options), (f) => f.close());
 * await forwarders.of(tracks.candidate ?? pool).forward(request);
 */
export class PerPool<T> {
  private readonly made = new Map<UpstreamPool, T>();

  constructor(
    private readonly stable: UpstreamPool,
    private readonly tracks: Tracks | undefined,
    /** Makes the thing of `pool`; `stable` says whether it is the stable pool. */
    private readonly make: (pool: UpstreamPool, stable: boolean) => T,
    private readonly close: (thing: T) => void,
  ) {}

  of(pool: UpstreamPool): T {
    let thing = this.made.get(pool);
    if (thing === undefined) {
      for (const [known, old] of this.made) {
        if (known !== this.stable && known !== this.tracks?.candidate) {
          this.close(old);
          this.made.delete(known);
        }
      }
      thing = this.make(pool, pool === this.stable);
      this.made.set(pool, thing);
    }
    return thing;
  }

  /** Closes every one made: the front stops. */
  closeAll(): void {
    for (const thing of this.made.values()) this.close(thing);
    this.made.clear();
  }
}
