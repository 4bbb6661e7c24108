/** The scheduler wired into a real server: batching (queue limits and timeouts: test/e2e/queue.test.ts). */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createClient, outputOf } from '../client/index.js';
import { doubleModel } from '../../test/fixtures/models.js';
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
            data: new Array<number>((i % 2 === 0 ? 1 : 2) * 4).fill(i),
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
});
