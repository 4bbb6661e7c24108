/**
 * The gRPC endpoint: `inference.GRPCInferenceService` (grpc-handlers.ts), the standard
 * `grpc.health.v1.Health` service (grpc-health.ts, for Kubernetes gRPC probes) and server
 * reflection (grpc-reflection.ts, v1 and v1alpha, for grpcurl and friends), on @grpc/grpc-js.
 *
 * Messages are decoded and encoded by protobufjs (protocol/grpc-schema.ts) straight from and to
 * buffers, without an intermediate object conversion.
 */
import { Server, ServerCredentials } from '@grpc/grpc-js';
import {
  BerthError,
  HEALTH_SERVICE,
  healthMethods,
  healthRoot,
  INFERENCE_SERVICE,
  inferenceMethods,
  inferenceRoot,
} from '../../protocol/index.js';
import { createGrpcHandlers, type GrpcHandlerOptions } from './grpc-handlers.js';
import { HealthService } from './grpc-health.js';
import { addReflection } from './grpc-reflection.js';

export interface GrpcServerOptions extends GrpcHandlerOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** Largest request message accepted, in bytes (RESOURCE_EXHAUSTED past it). */
  readonly maxMessageBytes: number;
}

export interface RunningGrpcServer {
  readonly port: number;
  /** Tells the health service whether berth is ready (SERVING) or not (NOT_SERVING). */
  setServing(serving: boolean): void;

  /** Refuses new calls, waits up to `graceMs` for running ones, then cuts the rest. */
  close(graceMs: number): Promise<{ drained: boolean }>;
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
  server.addService(inferenceMethods(), createGrpcHandlers(options));
  const health = new HealthService(['', INFERENCE_SERVICE], 'NOT_SERVING');
  server.addService(healthMethods(), health.handlers());
  addReflection(
    server,
    [
      { file: 'inference/grpc_service.proto', root: inferenceRoot },
      { file: 'grpc/health/v1/health.proto', root: healthRoot },
    ],
    [INFERENCE_SERVICE, HEALTH_SERVICE],
  );

  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(
      `${options.host}:${options.port}`,
      ServerCredentials.createInsecure(),
      (error, bound) => {
        if (error === null) resolve(bound);
        else {
          reject(
            new BerthError(
              'BERTH_ERR_SERVER_LISTEN_FAILED',
              `cannot listen for gRPC on ${options.host}:${options.port}: ${error.message}`,
              { cause: error },
            ),
          );
        }
      },
    );
  });

  return {
    port,
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
      const closed = new Promise<'closed'>((resolve) => server.tryShutdown(() => resolve('closed')));
      const outcome = await Promise.race([closed, timedOut]);
      clearTimeout(timer);
      if (outcome === 'timeout') {
        server.forceShutdown();
        await closed;
      }
      return { drained: outcome === 'closed' };
    },
  };
}
