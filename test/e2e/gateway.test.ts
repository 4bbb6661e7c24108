/**
 * The gateway's REST front over real `berth serve` replicas run by the supervisor: requests pass
 * through unchanged (JSON and binary), its own health follows the replicas', a replica killed
 * with SIGKILL under continuous load costs no request, and with no replica left the answer is a
 * 503 with Retry-After.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatewayHttp, UpstreamPool, type RunningGateway } from '../../src/gateway/index.js';
import { Supervisor } from '../../src/orchestrator/index.js';
import { createClient } from '../../src/client/index.js';
import { doubleModel, writeModel } from '../fixtures/models.js';
import { BERTH_BIN } from '../helpers/cli.js';
import { tempDirsForFile } from '../helpers/temp-dir.js';
import { until } from '../helpers/until.js';

const tempDir = tempDirsForFile('berth-gateway-');
let supervisor: Supervisor;
let pool: UpstreamPool;
let gateway: RunningGateway;

beforeAll(async () => {
  const repo = tempDir();
  writeModel(repo, 'double', doubleModel());
  pool = new UpstreamPool();
  supervisor = new Supervisor({
    berthBin: BERTH_BIN,
    backoff: { baseMs: 50, maxMs: 400, jitter: 0, resetAfterMs: 60_000, crashLoopAfter: 3 },
    onEvent: (event) => {
      if (event.type === 'ready') pool.add(event.id, event.url);
      if (event.type === 'exited' || event.type === 'stopped') pool.remove(event.id);
    },
  });
  supervisor.add({ id: 'r1', args: [repo] });
  supervisor.add({ id: 'r2', args: [repo] });
  await Promise.all([supervisor.whenReady('r1'), supervisor.whenReady('r2')]);
  gateway = await startGatewayHttp({
    pool,
    host: '127.0.0.1',
    port: 0,
    timeoutMs: 10_000,
    retries: 2,
    retryBudget: { share: 0.2, minConcurrent: 3 },
    maxBodyBytes: 1 << 20,
  });
}, 60_000);

afterAll(async () => {
  await gateway.close();
  await supervisor.stopAll();
});

describe('the gateway over supervised replicas', () => {
  it('passes inference through, JSON and binary, and answers its own health', async () => {
    const client = createClient({ url: gateway.url });
    const inputs = [{ name: 'INPUT0', datatype: 'FP32' as const, shape: [1, 4], data: [1, 2, 3, 4] }];
    for (const binary of [true, false]) {
      const answer = await client.infer('double', inputs, { binaryInputs: binary, binaryOutputs: binary });
      expect(Array.from(answer.outputs[0]?.data as Float32Array)).toEqual([2, 4, 6, 8]);
    }
    expect(await client.ready()).toBe(true);
    expect(await client.live()).toBe(true);
    const response = await fetch(`${gateway.url}/v2/models/double`, {
      headers: { 'x-request-id': 'trace-1' },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-request-id')).toBe('trace-1');
    const missing = await fetch(`${gateway.url}/v2/models/nope/infer`, {
      method: 'POST',
      body: '{"inputs":[]}',
    });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('berth-error-code')).toBe('BERTH_ERR_MODEL_NOT_FOUND');
  });

  it('loses no request when a replica is killed with SIGKILL under load', async () => {
    const body = JSON.stringify({
      inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }],
    });
    let sent = 0;
    const failures: string[] = [];
    let stop = false;
    const worker = async () => {
      while (!stop) {
        sent++;
        try {
          const response = await fetch(`${gateway.url}/v2/models/double/infer`, { method: 'POST', body });
          const text = await response.text();
          if (response.status !== 200) failures.push(`${response.status} ${text}`);
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
    await until(() => Promise.resolve(sent > after + 200), 'load on the new replica', 20_000);
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

  it('answers 503 with Retry-After when no replica can take the request', async () => {
    const empty = new UpstreamPool();
    const lone = await startGatewayHttp({
      pool: empty,
      host: '127.0.0.1',
      port: 0,
      timeoutMs: 1000,
      retries: 2,
      retryBudget: { share: 0.2, minConcurrent: 3 },
      maxBodyBytes: 1024,
    });
    try {
      const response = await fetch(`${lone.url}/v2/models/double/infer`, { method: 'POST', body: '{}' });
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('1');
      expect(response.headers.get('berth-error-code')).toBe('BERTH_ERR_GATEWAY_NO_UPSTREAM');
      expect((await fetch(`${lone.url}/v2/health/ready`)).status).toBe(503);
      const large = await fetch(`${lone.url}/v2/models/double/infer`, {
        method: 'POST',
        body: 'x'.repeat(4096),
      });
      expect(large.status).toBe(413);
    } finally {
      await lone.close();
    }
  });
});
