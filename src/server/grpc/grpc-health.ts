/**
 * `grpc.health.v1.Health` (grpc/grpc-proto health.proto): Check, Watch and List over the statuses
 * berth sets: the whole server ("") and `inference.GRPCInferenceService`, SERVING when berth is
 * ready and NOT_SERVING otherwise (loading, draining). A Check of another service is NOT_FOUND,
 * as the protocol says; a Watch of one gets SERVICE_UNKNOWN until it is known.
 */
import { status, type ServerUnaryCall, type ServerWritableStream, type sendUnaryData } from '@grpc/grpc-js';
import type { UntypedServiceImplementation } from '@grpc/grpc-js';
import { MalformedMessage } from '../../protocol/index.js';

export type ServingStatus = 'SERVING' | 'NOT_SERVING';

const STATUS_NUMBER = { UNKNOWN: 0, SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 } as const;

interface HealthRequest {
  readonly service?: string;
}

export class HealthService {
  private readonly statuses = new Map<string, ServingStatus>();
  private readonly watchers = new Map<string, Set<ServerWritableStream<HealthRequest, unknown>>>();

  constructor(services: readonly string[], initial: ServingStatus) {
    for (const service of services) this.statuses.set(service, initial);
  }

  /** Sets a service's status and tells its watchers when it changed. */
  set(service: string, serving: ServingStatus): void {
    if (this.statuses.get(service) === serving) return;
    this.statuses.set(service, serving);
    for (const call of this.watchers.get(service) ?? []) call.write({ status: STATUS_NUMBER[serving] });
  }

  handlers(): UntypedServiceImplementation {
    return {
      Check: (call: ServerUnaryCall<HealthRequest, unknown>, callback: sendUnaryData<unknown>) => {
        if (call.request instanceof MalformedMessage) {
          callback(malformed(call.request));
          return;
        }
        const service = call.request.service ?? '';
        const serving = this.statuses.get(service);
        if (serving === undefined) {
          callback({ code: status.NOT_FOUND, details: `unknown service "${service}"` });
          return;
        }
        callback(null, { status: STATUS_NUMBER[serving] });
      },
      Watch: (call: ServerWritableStream<HealthRequest, unknown>) => {
        if (call.request instanceof MalformedMessage) {
          call.emit('error', malformed(call.request));
          return;
        }
        const service = call.request.service ?? '';
        const serving = this.statuses.get(service);
        call.write({
          status: serving === undefined ? STATUS_NUMBER.SERVICE_UNKNOWN : STATUS_NUMBER[serving],
        });
        let set = this.watchers.get(service);
        if (set === undefined) {
          set = new Set();
          this.watchers.set(service, set);
        }
        set.add(call);
        call.on('cancelled', () => set.delete(call));
        call.on('error', () => set.delete(call));
      },
      List: (_call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
        const statuses: Record<string, { status: number }> = {};
        for (const [service, serving] of this.statuses)
          statuses[service] = { status: STATUS_NUMBER[serving] };
        callback(null, { statuses });
      },
    };
  }

  /** Ends every Watch stream (shutdown), so connections can close. */
  endWatches(): void {
    for (const set of this.watchers.values()) for (const call of set) call.end();
    this.watchers.clear();
  }
}

/** A request that did not decode (protocol's forServer): the caller's error. */
function malformed(request: MalformedMessage): { code: status; details: string } {
  return {
    code: status.INVALID_ARGUMENT,
    details: `the request is not a valid grpc.health.v1.HealthCheckRequest: ${request.reason}`,
  };
}
