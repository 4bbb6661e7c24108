/**
 * One grpc-js channel (Client) per replica address, made on first use and reused by every call
 * to it, so that calls share one HTTP/2 connection per replica. A channel is closed once every
 * upstream at its address has left the pool (`pool.holds`) and no call of it is in flight:
 * checked at each lease and every `sweepMs`, since the pool tells no one when it drops one.
 */
import { Client, credentials } from '@grpc/grpc-js';
import type { Upstream, UpstreamPool } from './upstream-pool.js';

export interface ChannelLease {
  readonly client: Client;
  /** The call is over (call once). */
  done(): void;
}

export interface GrpcChannelsOptions {
  /** Largest message sent to or taken from a replica. */
  readonly maxMessageBytes: number;
  /** How often channels of replicas gone from the pool are looked for (default 5 s). */
  readonly sweepMs?: number;
}

interface Channel {
  readonly client: Client;
  /** The pool's upstreams at this address (a replica restarted on it is a new one). */
  readonly upstreams: Set<Upstream>;
  calls: number;
}

/**
 * @example
 * const channels = new GrpcChannels(pool, { maxMessageBytes: 64 << 20 });
 * const lease = channels.lease(upstream, '127.0.0.1:41235');
 * lease.client.makeUnaryRequest(...); // then lease.done() when its status came
 */
export class GrpcChannels {
  private readonly channels = new Map<string, Channel>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pool: UpstreamPool,
    private readonly options: GrpcChannelsOptions,
  ) {
    this.timer = setInterval(() => this.sweep(), options.sweepMs ?? 5000);
    this.timer.unref();
  }

  /** Channels open now. */
  get size(): number {
    return this.channels.size;
  }

  lease(upstream: Upstream, address: string): ChannelLease {
    this.sweep();
    let channel = this.channels.get(address);
    if (channel === undefined) {
      const max = this.options.maxMessageBytes;
      channel = {
        client: new Client(address, credentials.createInsecure(), {
          'grpc.max_send_message_length': max,
          'grpc.max_receive_message_length': max,
        }),
        upstreams: new Set(),
        calls: 0,
      };
      this.channels.set(address, channel);
    }
    channel.upstreams.add(upstream);
    channel.calls++;
    const leased = channel;
    let ended = false;
    return {
      client: leased.client,
      done: () => {
        if (ended) return;
        ended = true;
        leased.calls--;
      },
    };
  }

  /** Closes the channels whose replicas all left the pool and that carry no call. */
  sweep(): void {
    for (const [address, channel] of this.channels) {
      for (const upstream of channel.upstreams) {
        if (!this.pool.holds(upstream)) channel.upstreams.delete(upstream);
      }
      if (channel.upstreams.size === 0 && channel.calls === 0) {
        channel.client.close();
        this.channels.delete(address);
      }
    }
  }

  /** Closes every channel; calls still in flight on them end with CANCELLED or UNAVAILABLE. */
  close(): void {
    clearInterval(this.timer);
    for (const channel of this.channels.values()) channel.client.close();
    this.channels.clear();
  }
}
