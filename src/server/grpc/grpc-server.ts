/**
 * The gRPC endpoint: `inference.GRPCInferenceService` (grpc-handlers.ts), the standard
 * `grpc.health.v1.Health` service (grpc-health.ts, for Kubernetes gRPC probes) and server
 * reflection (grpc-reflection.ts, v1 and v1alpha, for grpcurl and friends), on @grpc/grpc-js.
 *
 * Messages are decoded and encoded by protobufjs (protocol/grpc-schema.ts) straight from and to
 * buffers, without an intermediate object conversion.
 */
import type { EventEmitter } from 'node:events';
import { Server, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { grpcServerCredentials, type TlsFiles } from '../../access/index.js';
import {
  addReflection,
  BerthError,
  forServer,
  HEALTH_SERVICE,
  healthMethods,
  INFERENCE_SERVICE,
  inferenceMethods,
  REFLECTED_FILES,
} from '../../protocol/index.js';
import { InFlightCount } from '../../ground/index.js';
import { createGrpcHandlers, type GrpcHandlerOptions } from './grpc-handlers.js';
import { HealthService } from './grpc-health.js';

export interface GrpcServerOptions extends GrpcHandlerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** Listen on this unix socket instead of host and port (a replica of `berth up`). */
  readonly socketPath?: string;
  /** Largest request message accepted, in bytes (RESOURCE_EXHAUSTED past it). */
  readonly maxMessageBytes: number;
  /** Serve TLS (mTLS with a client CA) from these watched files; plain gRPC without. */
  readonly tls?: TlsFiles;
}

export interface RunningGrpcServer {
  /** The TCP port; undefined on a unix socket. */
  readonly port: number | undefined;
  /** Where clients reach it, as a grpc-js target: `host:port`, or `unix:PATH`. */
  readonly address: string;
  /** Tells the health service whether berth is ready (SERVING) or not (NOT_SERVING). */
  setServing(serving: boolean): void;

  /** Refuses new calls, waits up to `graceMs` for running ones, then cuts the rest. */
  close(graceMs: number): Promise<{ drained: boolean }>;
}

/** Counts the calls in progress, so a drain knows when every accepted call has its answer. */
class CallTracker extends InFlightCount {
  /** The same handlers, counted: unary ones until they answer, streams until they end. */
  track(handlers: UntypedServiceImplementation): UntypedServiceImplementation {
    const out: UntypedServiceImplementation = {};
    for (const [name, handler] of Object.entries(handlers)) {
      const fn = handler as (call: EventEmitter, callback?: (...args: unknown[]) => void) => void;
      out[name] = ((call: EventEmitter, callback?: (...args: unknown[]) => void) => {
        const end = this.begin();
        if (callback === undefined) {
          for (const event of ['finish', 'close', 'cancelled', 'error']) call.once(event, end);
          fn(call);
          return;
        }
        call.once('cancelled', end);
        fn(call, (...args: unknown[]) => {
          end();
          callback(...args);
        });
      }) as UntypedServiceImplementation[string];
    }
    return out;
  }
}

/**
 * @example
 * const grpc = await startGrpcServer({ ...handlerOptions, host: '127.0.0.1', port: 8001, maxMessageBytes: 64 << 20 });
 * grpc.setServing(true);
 */
export async function startGrpcServer(options: GrpcServerOptions): Promise<RunningGrpcServer> {
  const server = new Server({
    'grpc.max_receive_message_length': options.maxMessageBytes,
    'grpc.max_send_message_length': -1,
  });
  const calls = new CallTracker();
  // Requests that do not decode reach the handlers as MalformedMessage: INVALID_ARGUMENT, not
  // grpc-js's INTERNAL.
  server.addService(forServer(inferenceMethods()), calls.track(createGrpcHandlers(options)));
  const health = new HealthService(['', INFERENCE_SERVICE], 'NOT_SERVING');
  server.addService(forServer(healthMethods()), health.handlers());
  addReflection(server, REFLECTED_FILES, [INFERENCE_SERVICE, HEALTH_SERVICE]);

  const where =
    options.socketPath === undefined ? `${options.host}:${options.port}` : `unix:${options.socketPath}`;
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(where, grpcServerCredentials(options.tls), (error, bound) => {
      if (error === null) resolve(bound);
      else {
        reject(
          new BerthError(
            'BERTH_ERR_SERVER_LISTEN_FAILED',
            `cannot listen for gRPC on ${where}: ${error.message}`,
            { cause: error },
          ),
        );
      }
    });
  });

  const tcp = options.socketPath === undefined;
  return {
    port: tcp ? port : undefined,
    address: tcp ? `${options.host}:${port}` : where,
    setServing: (serving) => {
      const status = serving ? 'SERVING' : 'NOT_SERVING';
      health.set('', status);
      health.set(INFERENCE_SERVICE, status);
    },
    close: async (graceMs) => {
      health.endWatches();
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), graceMs);
      });
      // New calls are refused from here; idle client connections would hold tryShutdown open
      // forever, so the server is shut once the calls it has are answered.
      const closed = new Promise<'closed'>((resolve) => server.tryShutdown(() => resolve('closed')));
      const outcome = await Promise.race([calls.idle().then(() => 'answered' as const), closed, timedOut]);
      clearTimeout(timer);
      // forceShutdown ends every session at once; tryShutdown's callback is not waited for after
      // it, since a client's half-closed connection can keep that from ever firing.
      if (outcome !== 'closed') server.forceShutdown();
      return { drained: outcome !== 'timeout' };
    },
  };
}
