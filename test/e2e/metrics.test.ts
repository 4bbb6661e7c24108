/** The /metrics exposition passes Prometheus' own linter, promtool (Debian package `prometheus`). */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../../src/client/index.js';
import { doubleModel } from '../fixtures/models.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
const hasPromtool = promtool.status === 0;
if (!hasPromtool) {
  if (process.env.CI !== undefined)
    throw new Error('promtool is missing in CI: scripts/test-deps.sh installs it (apt prometheus)');
  console.warn('SKIPPING promtool check: promtool not installed (run scripts/test-deps.sh)');
}

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ double: doubleModel() });
});
afterAll(async () => {
  await server.stop();
});

describe('metrics exposition', () => {
  it.skipIf(!hasPromtool)('passes promtool check metrics after traffic, errors included', async () => {
    const client = createClient({ url: server.url });
    await client.infer('double', [
      { name: 'INPUT0', datatype: 'FP32', shape: [2, 4], data: new Float32Array(8) },
    ]);
    await expect(
      client.infer('double', [
        { name: 'INPUT0', datatype: 'FP32', shape: [2, 5], data: new Float32Array(10) },
      ]),
    ).rejects.toThrow(/HTTP 400/);
    const response = await fetch(`${server.url}/metrics`);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    expect(text).toMatch(/berth_inference_count_total\{model="double",version="1"\} 1/);
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(check.stdout + check.stderr).toBe('');
    expect(check.status).toBe(0);
  });
});
