/** SIGTERM drains in-flight work and exits 0, bounded by --drain-timeout. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createClient, outputOf } from '../../src/client/index.js';
import { slowModel, writeModel } from '../fixtures/models.js';
import { startServeForEachTest, type ServeProcess } from '../helpers/cli.js';

const N = 1024;
const startServe = startServeForEachTest();

async function serveSlow(rounds: number, extra: string[] = []): Promise<ServeProcess> {
  const repo = mkdtempSync(join(tmpdir(), 'berth-drain-'));
  writeModel(repo, 'slow', slowModel(rounds));
  const p = await startServe([repo, '--intra-op-threads', '1', ...extra]);
  await p.waitForLog((l) => String(l.msg).startsWith('models loaded'));
  return p;
}

/** Waits until the server reports an inference in flight. */
async function waitForPending(url: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const text = await (await fetch(`${url}/metrics`)).text();
    if (/berth_inference_pending_requests\{model="slow",version="1"\} 1/.test(text)) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('the slow request never became pending');
}

// Every entry 2^-10: X·X keeps every entry at 2^-10 exactly, however many rounds.
const input = new Float32Array(N * N).fill(1 / N);

describe('shutdown', () => {
  it('finishes in-flight requests, refuses new ones, and exits 0 on SIGTERM', async () => {
    const p = await serveSlow(8);
    const client = createClient({ url: p.url });
    const inflight = client.infer('slow', [{ name: 'INPUT0', datatype: 'FP32', shape: [N, N], data: input }]);
    await waitForPending(p.url);
    p.process.kill('SIGTERM');
    await p.waitForLog((l) => String(l.msg).startsWith('shutting down'));
    // A new connection is refused (listener closed) or told the server is going away.
    const probe = await fetch(`${p.url}/v2/health/ready`).then(
      (r) => r.status,
      () => 'refused',
    );
    expect([503, 'refused']).toContain(probe);
    const result = await inflight;
    const out = outputOf(result, 'OUTPUT0').data as Float32Array;
    expect(out.length).toBe(N * N);
    expect(out[0]).toBe(1 / N);
    expect(await p.exited).toBe(0);
    expect(p.logs.find((l) => l.msg === 'stopped')).toMatchObject({ drained: true });
  });

  it('stops waiting for responses after --drain-timeout and exits 0 once the model run returns', async () => {
    // One run of 40 rounds takes about a second: longer than the drain timeout.
    const p = await serveSlow(40, ['--drain-timeout', '100ms']);
    const client = createClient({ url: p.url });
    const inflight = client
      .infer('slow', [{ name: 'INPUT0', datatype: 'FP32', shape: [N, N], data: input }])
      .then(
        () => 'answered',
        () => 'cut',
      );
    await waitForPending(p.url);
    const started = Date.now();
    p.process.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(await inflight).toBe('cut');
    expect(p.logs.find((l) => l.msg === 'stopped')).toMatchObject({ drained: false });
  });

  it('exits 0 on SIGINT when idle', async () => {
    const p = await serveSlow(1);
    p.process.kill('SIGINT');
    expect(await p.exited).toBe(0);
  });
});
