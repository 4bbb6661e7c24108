/** SIGTERM drains in-flight work and exits 0, bounded by --drain-timeout. */

import { describe, expect, it } from 'vitest';
import { createClient, outputOf } from '../../src/client/index.js';
import { slowModel, writeModel } from '../fixtures/models.js';
import { spawn } from 'node:child_process';
import { BERTH_BIN, startServeForEachTest, type ServeProcess } from '../helpers/cli.js';
import { until } from '../helpers/until.js';
import { tempDirsForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirsForFile('berth-drain-');

const N = 1024;
const startServe = startServeForEachTest();

async function serveSlow(rounds: number, extra: string[] = []): Promise<ServeProcess> {
  const repo = tempDir();
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

describe('under npm (npx berth serve, npm start)', () => {
  // npm runs a bin as `sh -c '<bin> <args>'` and passes SIGTERM to that shell, which dies of it
  // without passing it on. This runs berth the same way, with the variable npm sets.
  it('drains and exits when the shell npm put between them dies of SIGTERM', async () => {
    const shell = spawn(
      'sh',
      [
        '-c',
        '"$0" "$@" & echo $!; wait $!',
        process.execPath,
        BERTH_BIN,
        'serve',
        '--port',
        '0',
        '--grpc-port',
        '0',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, npm_lifecycle_event: 'npx' } },
    );
    let stdout = '';
    let stderr = '';
    shell.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    shell.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await until(() => Promise.resolve(stderr.includes('models loaded')), 'berth to start', 20_000);
    const berth = Number(stdout.trim());
    const alive = () => {
      try {
        process.kill(berth, 0);
        return true;
      } catch {
        return false;
      }
    };
    try {
      expect(alive()).toBe(true);
      shell.kill('SIGTERM');
      await until(() => Promise.resolve(!alive()), 'berth to exit after its parent', 10_000);
      expect(stderr).toContain(
        'the parent process (npm or berth up) exited without passing on its signal: shutting down',
      );
      expect(stderr).toMatch(/"drained":true,"msg":"stopped"/);
    } finally {
      if (alive()) process.kill(berth, 'SIGKILL');
    }
  });
});
