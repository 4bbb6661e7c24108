/**
 * `grpc.health.v1.Health` (grpc/grpc-proto, grpc/health/v1/health.proto) answered by the gateway
 * itself, not a replica: Kubernetes gRPC probes and grpc_health_probe ask whether the gateway can
 * serve, which is whether its pool has a replica that can take a call now.
 */
import {
  status,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServerWritableStream,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { INFERENCE_SERVICE } from '../protocol/index.js';
import type { UpstreamPool } from './upstream-pool.js';

const SERVING_STATUS = { SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 } as const;
const HEALTH_SERVICES = new Set(['', INFERENCE_SERVICE]);

/**
 * `grpc.health.v1.Health` (grpc/grpc-proto health.proto) for the gateway: the whole server ("")
 * and the inference service are SERVING while the pool has a replica that can take a call. A
 * Check of another service is NOT_FOUND; Watch streams hear of a change within `pollMs`.
 *
 * @example
 * server.addService(healthMethods(), new GatewayHealth(pool).handlers());
 */
export class GatewayHealth {
  private readonly watchers = new Set<ServerWritableStream<{ service?: string }, unknown>>();
  private timer: NodeJS.Timeout | undefined;
  private last: boolean | undefined;

  constructor(
    private readonly pool: UpstreamPool,
    private readonly pollMs = 500,
  ) {}

  private statusOf(service: string): number {
    if (!HEALTH_SERVICES.has(service)) return SERVING_STATUS.SERVICE_UNKNOWN;
    return this.pool.available ? SERVING_STATUS.SERVING : SERVING_STATUS.NOT_SERVING;
  }

  handlers(): UntypedServiceImplementation {
    return {
      Check: (call: ServerUnaryCall<{ service?: string }, unknown>, callback: sendUnaryData<unknown>) => {
        const service = call.request.service ?? '';
        if (!HEALTH_SERVICES.has(service)) {
          callback({ code: status.NOT_FOUND, details: `unknown service "${service}"` });
          return;
        }
        callback(null, { status: this.statusOf(service) });
      },
      Watch: (call: ServerWritableStream<{ service?: string }, unknown>) => {
        call.write({ status: this.statusOf(call.request.service ?? '') });
        this.watchers.add(call);
        const leave = () => {
          this.watchers.delete(call);
          if (this.watchers.size === 0) clearInterval(this.timer);
        };
        call.on('cancelled', leave);
        call.on('error', leave);
        if (this.watchers.size === 1) {
          this.last = this.pool.available;
          this.timer = setInterval(() => this.poll(), this.pollMs);
          this.timer.unref();
        }
      },
      List: (_call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
        const statuses: Record<string, { status: number }> = {};
        for (const service of HEALTH_SERVICES) statuses[service] = { status: this.statusOf(service) };
        callback(null, { statuses });
      },
    };
  }

  private poll(): void {
    const available = this.pool.available;
    if (available === this.last) return;
    this.last = available;
    for (const call of this.watchers) {
      const service = call.request.service ?? '';
      if (HEALTH_SERVICES.has(service)) call.write({ status: this.statusOf(service) });
    }
  }

  /** Ends every Watch stream (shutdown), so that connections can close. */
  endWatches(): void {
    clearInterval(this.timer);
    for (const call of this.watchers) call.end();
    this.watchers.clear();
  }
}
