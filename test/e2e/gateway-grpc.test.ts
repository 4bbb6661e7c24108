/**
 * The gateway's gRPC front over real `berth serve` replicas run by the supervisor: berth's own
 * gRPC client gets through it what it gets from a replica (inference, metadata, errors with
 * their berth code), the gateway answers health and reflection itself, Triton's stream passes through, a
 * deadline shorter than the model ends the call DEADLINE_EXCEEDED, and a replica killed with
 * SIGKILL under continuous gRPC load costs no call.
 */
import { Client, credentials, status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient, type BerthError, type OipClient } from '../../src/client/index.js';
import {
  DEFAULT_HEALTH_CHECK,
  startGatewayGrpc,
  UpstreamPool,
  type RunningGatewayGrpc,
} from '../../src/gateway/index.js';
import { Supervisor } from '../../src/orchestrator/index.js';
import { healthMethods, type GrpcMethod } from '../../src/protocol/index.js';
import { doubleModel, slowModel, writeModel } from '../fixtures/models.js';
import { BERTH_BIN } from '../helpers/cli.js';
import { expectReflectionWorks } from '../helpers/reflection.js';
import { tempDirsForFile } from '../helpers/temp-dir.js';
import { until } from '../helpers/until.js';
import { streamReplies } from '../helpers/grpc-call.js';

const tempDir = tempDirsForFile('berth-gateway-grpc-');
let supervisor: Supervisor;
let pool: UpstreamPool;
let gateway: RunningGatewayGrpc;
const clients: OipClient[] = [];

/** A berth gRPC client, closed after the file's tests. */
function grpcClient(address: string, timeoutMs?: number): OipClient {
  const client = createClient({
    url: `grpc://${address}`,
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  });
  clients.push(client);
  return client;
}

const N = 1024;
const INPUTS = [{ name: 'INPUT0', datatype: 'FP32' as const, shape: [1, 4], data: [1, 2, 3, 4] }];

beforeAll(async () => {
  const repo = tempDir();
  writeModel(repo, 'double', doubleModel());
  writeModel(repo, 'slow', slowModel(24));
  pool = new UpstreamPool();
  supervisor = new Supervisor({
    berthBin: BERTH_BIN,
    backoff: { baseMs: 50, maxMs: 400, jitter: 0, resetAfterMs: 60_000, crashLoopAfter: 3 },
    onEvent: (event) => {
      if (event.type === 'ready') pool.add(event.id, event.url, event.grpc);
      if (event.type === 'exited' || event.type === 'stopped') pool.remove(event.id);
    },
  });
  supervisor.add({ id: 'r1', args: [repo, '--intra-op-threads', '1'] });
  supervisor.add({ id: 'r2', args: [repo, '--intra-op-threads', '1'] });
  await Promise.all([supervisor.whenReady('r1'), supervisor.whenReady('r2')]);
  gateway = await startGatewayGrpc({
    pool,
    host: '127.0.0.1',
    port: 0,
    timeoutMs: 10_000,
    retries: 2,
    retryBudget: { share: 0.2, minConcurrent: 3 },
    maxMessageBytes: 64 << 20,
    // Alone on its pool here: it runs the health checks that bring back a replica marked lost.
    healthCheck: DEFAULT_HEALTH_CHECK,
  });
}, 60_000);

afterAll(async () => {
  for (const client of clients) client.close();
  await gateway.close();
  await supervisor.stopAll();
});

describe('gRPC through the gateway over supervised replicas', () => {
  it("answers inference and metadata as a replica does, and a replica's error with its code", async () => {
    const replica = supervisor.status().find((r) => r.id === 'r1')?.grpc ?? '';
    const direct = grpcClient(replica);
    const through = grpcClient(gateway.address);
    const answer = await through.infer('double', INPUTS, { id: 'req-1' });
    expect(Array.from(answer.outputs[0]?.data as Float32Array)).toEqual([2, 4, 6, 8]);
    expect(answer).toEqual(await direct.infer('double', INPUTS, { id: 'req-1' }));
    expect(await through.modelMetadata('double')).toEqual(await direct.modelMetadata('double'));
    expect(await through.ready()).toBe(true);

    const missing = await through.infer('nope', INPUTS).catch((error: unknown) => error as BerthError);
    expect(missing).toMatchObject({ code: 'BERTH_ERR_MODEL_NOT_FOUND' });
    expect(((missing as BerthError).cause as ServiceError).code).toBe(status.NOT_FOUND);
  });

  it('answers server reflection itself, well enough for grpcurl to list and call through it', async () => {
    await expectReflectionWorks(gateway.address);
  });

  it('answers grpc.health.v1 Check itself: SERVING while a replica can take a call', async () => {
    const method = healthMethods().Check as GrpcMethod;
    const client = new Client(gateway.address, credentials.createInsecure());
    const answer = await new Promise<unknown>((resolve, reject) => {
      client.makeUnaryRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        { service: '' },
        (error, response) => (error === null ? resolve(response) : reject(error)),
      );
    });
    client.close();
    expect(answer).toMatchObject({ status: 1 }); // SERVING
  });

  it('passes ModelStreamInfer through: one answer per request, a failed one in error_message', async () => {
    const replies = await streamReplies(
      gateway.address,
      (
        [
          ['a', [1, 2, 3, 4]],
          ['bad', [1, 2, 3]],
          ['c', [5, 6, 7, 8]],
        ] as const
      ).map(([id, values]) => ({
        model_name: 'double',
        id,
        inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 4] }],
        raw_input_contents: [Buffer.from(new Float32Array(values).buffer)],
      })),
    );
    const byId = new Map(replies.map((r) => [r.infer_response?.id, r.error_message]));
    expect(replies).toHaveLength(3);
    expect(byId.get('a')).toBe('');
    expect(byId.get('c')).toBe('');
    expect(byId.get('bad')).toMatch(/binary data has 12 bytes/);
  });

  it('loses no call when a replica is killed with SIGKILL under gRPC load', async () => {
    const client = grpcClient(gateway.address);
    let sent = 0;
    const failures: string[] = [];
    let stop = false;
    const worker = async () => {
      while (!stop) {
        sent++;
        try {
          const answer = await client.infer('double', INPUTS);
          const values = Array.from(answer.outputs[0]?.data as Float32Array);
          if (values.join() !== '2,4,6,8') failures.push(`wrong answer ${values.join()}`);
        } catch (error) {
          failures.push(String(error));
        }
      }
    };
    const workers = Array.from({ length: 8 }, () => worker());
    await until(() => Promise.resolve(sent > 200), 'some load', 20_000);
    const victim = supervisor.status().find((r) => r.id === 'r1')?.pid ?? NaN;
    process.kill(victim, 'SIGKILL');
    const restarted = () => {
      const r1 = supervisor.status().find((r) => r.id === 'r1');
      return Promise.resolve(r1?.state === 'ready' && r1.pid !== victim);
    };
    await until(restarted, 'r1 to come back', 20_000);
    const after = sent;
    await until(() => Promise.resolve(sent > after + 200), 'load after the restart', 20_000);
    stop = true;
    await Promise.all(workers);
    expect(failures).toEqual([]);
    expect(sent).toBeGreaterThan(400);
    expect(
      pool
        .view()
        .map((u) => u.id)
        .sort(),
    ).toEqual(['r1', 'r2']);
  });

  it('ends a call DEADLINE_EXCEEDED when its deadline, or the gateway timeout, is shorter than the model', async () => {
    const slow = [
      { name: 'INPUT0', datatype: 'FP32' as const, shape: [N, N], data: new Float32Array(N * N).fill(1 / N) },
    ];
    const hurried = grpcClient(gateway.address, 200);
    const mine = await hurried.infer('slow', slow).catch((error: unknown) => error as BerthError);
    expect(((mine as BerthError).cause as ServiceError | undefined)?.code).toBe(status.DEADLINE_EXCEEDED);

    const capped = await startGatewayGrpc({
      pool,
      host: '127.0.0.1',
      port: 0,
      timeoutMs: 200,
      retries: 2,
      retryBudget: { share: 0.2, minConcurrent: 3 },
      maxMessageBytes: 64 << 20,
    });
    try {
      const theirs = await grpcClient(capped.address)
        .infer('slow', slow)
        .catch((error: unknown) => error as BerthError);
      expect(theirs).toMatchObject({ code: 'BERTH_ERR_GATEWAY_TIMEOUT' });
      expect(((theirs as BerthError).cause as ServiceError).code).toBe(status.DEADLINE_EXCEEDED);
    } finally {
      await capped.close();
    }
  });
});
