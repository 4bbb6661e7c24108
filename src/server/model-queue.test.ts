/** The scheduler wired into a real server: batching, admission control, timeouts, disconnects. */
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createClient, outputOf } from '../client/index.js';
import { doubleModel, slowModel } from '../../test/fixtures/models.js';
import { startTestServer, type TestServer } from '../../test/helpers/server.js';

const servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

async function start(
  models: Record<string, Uint8Array>,
  configs: Record<string, string>,
): Promise<TestServer> {
  const server = await startTestServer(models, {
    intraOpThreads: 1,
    prepare: (repo) => {
      for (const [name, yaml] of Object.entries(configs))
        writeFileSync(join(repo, name, 'config.yaml'), yaml);
    },
  });
  servers.push(server);
  return server;
}

const metric = async (server: TestServer, pattern: RegExp) => {
  const text = await server.metrics.registry.metrics();
  return Number(pattern.exec(text)?.[1] ?? NaN);
};

const N = 512;
const slowInput = new Float32Array(N * N).fill(1 / N);

describe('dynamic batching in the server', () => {
  it('merges concurrent requests into one execution and gives each its own rows', async () => {
    const server = await start(
      { double: doubleModel() },
      { double: 'maxBatchSize: 16\nbatching: { maxQueueDelayMs: 50 }\n' },
    );
    const client = createClient({ url: server.url });
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        client.infer('double', [
          {
            name: 'INPUT0',
            datatype: 'FP32',
            shape: [i % 2 === 0 ? 1 : 2, 4],
            data: new Array((i % 2 === 0 ? 1 : 2) * 4).fill(i),
          },
        ]),
      ),
    );
    results.forEach((r, i) => {
      const out = outputOf(r, 'OUTPUT0');
      expect(out.shape).toEqual([i % 2 === 0 ? 1 : 2, 4]);
      expect(Array.from(out.data as Float32Array)).toEqual(new Array((i % 2 === 0 ? 1 : 2) * 4).fill(2 * i));
    });
    const executions = await metric(
      server,
      /berth_inference_exec_count_total\{model="double",version="1"\} (\d+)/,
    );
    expect(executions).toBeLessThan(6);
    expect(await metric(server, /berth_inference_count_total\{model="double",version="1"\} (\d+)/)).toBe(9);
    expect(await metric(server, /berth_inference_batch_size_sum\{model="double",version="1"\} (\d+)/)).toBe(
      9,
    );
  });

  it('refuses requests beyond maxQueueSize at once with 503 and Retry-After', async () => {
    const server = await start({ slow: slowModel(150) }, { slow: 'batching: { maxQueueSize: 1 }\n' });
    const body = JSON.stringify({
      inputs: [{ name: 'INPUT0', shape: [2, 2], datatype: 'FP32', data: [1, 0, 0, 1] }],
    });
    const client = createClient({ url: server.url });
    const running = client.infer('slow', [
      { name: 'INPUT0', datatype: 'FP32', shape: [N, N], data: slowInput },
    ]);
    await expect
      .poll(() => metric(server, /berth_inference_pending_requests\{model="slow",version="1"\} (\d+)/))
      .toBe(1);
    const queued = fetch(`${server.url}/v2/models/slow/infer`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json' },
    });
    await expect
      .poll(() => metric(server, /berth_inference_pending_requests\{model="slow",version="1"\} (\d+)/))
      .toBe(2);
    const refused = await fetch(`${server.url}/v2/models/slow/infer`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json' },
    });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.headers.get('berth-error-code')).toBe('BERTH_ERR_SCHEDULER_QUEUE_FULL');
    expect((await queued).status).toBe(200);
    await running;
  });

  it('answers 504 for a request still queued past its timeout parameter (microseconds)', async () => {
    const server = await start({ slow: slowModel(150) }, {});
    const client = createClient({ url: server.url });
    const running = client.infer('slow', [
      { name: 'INPUT0', datatype: 'FP32', shape: [N, N], data: slowInput },
    ]);
    await expect
      .poll(() => metric(server, /berth_inference_pending_requests\{model="slow",version="1"\} (\d+)/))
      .toBe(1);
    const r = await fetch(`${server.url}/v2/models/slow/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        parameters: { timeout: 20_000 },
        inputs: [{ name: 'INPUT0', shape: [1, 1], datatype: 'FP32', data: [1] }],
      }),
    });
    expect(r.status).toBe(504);
    expect(r.headers.get('berth-error-code')).toBe('BERTH_ERR_SCHEDULER_TIMEOUT');
    await running;
  });

  it('drops a queued request whose client disconnected instead of running it', async () => {
    const server = await start({ slow: slowModel(150) }, {});
    const client = createClient({ url: server.url });
    const running = client.infer('slow', [
      { name: 'INPUT0', datatype: 'FP32', shape: [N, N], data: slowInput },
    ]);
    await expect
      .poll(() => metric(server, /berth_inference_pending_requests\{model="slow",version="1"\} (\d+)/))
      .toBe(1);
    const { port } = new URL(server.url);
    const body = JSON.stringify({ inputs: [{ name: 'INPUT0', shape: [1, 1], datatype: 'FP32', data: [1] }] });
    const socket = connect(Number(port), '127.0.0.1');
    socket.write(
      `POST /v2/models/slow/infer HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`,
    );
    await expect
      .poll(() => metric(server, /berth_inference_pending_requests\{model="slow",version="1"\} (\d+)/))
      .toBe(2);
    socket.destroy();
    await expect
      .poll(() =>
        metric(
          server,
          /berth_inference_request_failure_total\{model="slow",version="1",reason="UNAVAILABLE"\} (\d+)/,
        ),
      )
      .toBe(1);
    await running;
    expect(await metric(server, /berth_inference_exec_count_total\{model="slow",version="1"\} (\d+)/)).toBe(
      1,
    );
  });
});
