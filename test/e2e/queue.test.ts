/** The request queue of a real `berth serve` process: admission control, timeouts, disconnects. */
import { writeFileSync } from 'node:fs';
import { request, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { slowBatchModel, writeModel } from '../fixtures/models.js';
import { startServeForEachTest } from '../helpers/cli.js';
import { metric, waitForMetric } from '../helpers/metrics.js';
import { tempDirsForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirsForFile('berth-queue-');

const startServe = startServeForEachTest();

const ROWS = 512;
const oneRow = JSON.stringify({
  inputs: [{ name: 'INPUT0', shape: [1, 256], datatype: 'FP32', data: new Array<number>(256).fill(1) }],
});
const fullBatch = JSON.stringify({
  inputs: [
    { name: 'INPUT0', shape: [ROWS, 256], datatype: 'FP32', data: new Array<number>(ROWS * 256).fill(1) },
  ],
});

/** A POST on a connection of its own. */
function post(url: string, body: string): Promise<{ status: number; headers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', agent: false, headers: { 'content-type': 'application/json' } },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const PENDING = /berth_inference_pending_requests\{model="slow",version="1"\} (\d+)/;

/** A berth process serving a slow batching model (512 rows take a few hundred ms) with one
 * instance, which is then occupied by one full batch so that the next request has to wait in the
 * queue. */
async function saturated(config: string): Promise<{ url: string; filler: Promise<unknown> }> {
  const repo = tempDir();
  writeModel(repo, 'slow', slowBatchModel(2000));
  writeFileSync(join(repo, 'slow', 'config.yaml'), `maxBatchSize: ${ROWS}\ninstances: 1\n${config}`);
  const p = await startServe([repo, '--intra-op-threads', '1']);
  await p.waitForLog((l) => String(l.msg).startsWith('models loaded'));
  const filler = post(`${p.url}/v2/models/slow/infer`, fullBatch);
  await waitForMetric(p.url, PENDING, 1);
  return { url: p.url, filler };
}

describe('request queue', () => {
  it('refuses requests beyond maxQueueSize at once with 503 and Retry-After', async () => {
    const { url, filler } = await saturated('batching: { maxQueueSize: 1 }\n');
    const queued = post(`${url}/v2/models/slow/infer`, oneRow);
    await waitForMetric(url, PENDING, 2);
    const refused = await post(`${url}/v2/models/slow/infer`, oneRow);
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.headers['berth-error-code']).toBe('BERTH_ERR_SCHEDULER_QUEUE_FULL');
    expect((await queued).status).toBe(200);
    expect(await filler).toMatchObject({ status: 200 });
  });

  it('answers 504 for a request still queued past its timeout parameter (microseconds)', async () => {
    const { url, filler } = await saturated('');
    const r = await post(
      `${url}/v2/models/slow/infer`,
      JSON.stringify({ ...(JSON.parse(oneRow) as object), parameters: { timeout: 20_000 } }),
    );
    expect(r.status).toBe(504);
    expect(r.headers['berth-error-code']).toBe('BERTH_ERR_SCHEDULER_TIMEOUT');
    expect(await filler).toMatchObject({ status: 200 });
  });

  it('drops a queued request whose client disconnected instead of running it', async () => {
    const { url, filler } = await saturated('');
    const { port } = new URL(url);
    const socket = connect(Number(port), '127.0.0.1');
    socket.write(
      `POST /v2/models/slow/infer HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${oneRow.length}\r\n\r\n${oneRow}`,
    );
    await waitForMetric(url, PENDING, 2);
    socket.destroy();
    await waitForMetric(
      url,
      /berth_inference_request_failure_total\{model="slow",version="1",reason="UNAVAILABLE"\} (\d+)/,
      1,
    );
    expect(await filler).toMatchObject({ status: 200 });
    expect(await metric(url, /berth_inference_exec_count_total\{model="slow",version="1"\} (\d+)/)).toBe(1);
  });
});
