/**
 * `berth gateway` through the real CLI, as a gateway pod runs it: real `berth serve` processes
 * found by DNS (the stable one on 127.0.0.1, the candidate on 127.0.0.2, the same ports, as two
 * pods behind their headless Services), the traffic file moving requests between them, a header
 * pinning a request, a shadow whose answers are compared and counted, a broken file changing nothing, keys from the spec enforced at the gateway
 * while the servers behind it have none, and a clean exit on SIGTERM.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createClient } from '../../src/client/index.js';
import { doubleModel, writeModel } from '../fixtures/models.js';
import { runCli, startListening, startServeLoaded, type ServeProcess } from '../helpers/cli.js';
import { freePort } from '../helpers/free-port.js';
import { tempDirsForFile } from '../helpers/temp-dir.js';
import { until } from '../helpers/until.js';

const tempDir = tempDirsForFile('berth-gateway-');
const running: ServeProcess[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop('SIGKILL')));
});

const BODY = JSON.stringify({
  inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }],
});

/** Two servers on the same ports, one per loopback address: version 1 stable, version 2 candidate. */
async function pods(): Promise<{ rest: number; grpc: number }> {
  const rest = await freePort();
  const grpc = await freePort();
  for (const [host, version] of [
    ['127.0.0.1', 1],
    ['127.0.0.2', 2],
  ] as const) {
    const repository = tempDir();
    writeModel(repository, 'double', doubleModel(), version);
    const args = [repository, '--host', host, '--port', String(rest), '--grpc-port', String(grpc)];
    running.push(await startServeLoaded(['--log-format', 'json', ...args]));
  }
  return { rest, grpc };
}

async function gateway(args: readonly string[]): Promise<ServeProcess> {
  const process = await startListening(
    ['gateway', '--port', '0', '--grpc-port', '0', '--log-format', 'json', ...args],
    (l) => String(l.msg).startsWith('berth gateway: listening'),
  );
  running.push(process);
  return process;
}

async function version(url: string, headers: Record<string, string> = {}): Promise<string> {
  const response = await fetch(`${url}/v2/models/double/infer`, { method: 'POST', body: BODY, headers });
  const answer = (await response.json()) as { model_version?: string; error?: string };
  if (response.status !== 200) return `${response.status} ${answer.error ?? ''}`;
  return answer.model_version ?? '?';
}

describe('berth gateway', () => {
  it('forwards to the servers DNS names, and moves traffic as the traffic file says', async () => {
    const { rest, grpc } = await pods();
    const dir = tempDir();
    const traffic = join(dir, 'traffic.json');
    writeFileSync(traffic, '{}');
    const g = await gateway([
      '--upstream',
      `dns:127.0.0.1:${rest}`,
      '--canary-upstream',
      `dns:127.0.0.2:${rest}`,
      '--upstream-grpc-port',
      String(grpc),
      '--traffic',
      traffic,
    ]);
    // No rollout: the stable server answers; a pinned request too, with no candidate in the gateway.
    expect(await version(g.url)).toBe('1');
    expect(await version(g.url, { 'x-berth-track': 'canary' })).toBe('1');

    writeFileSync(traffic, '{"candidate": true, "weight": 100, "step": 2}');
    await g.waitForLog((l) => String(l.msg).startsWith('traffic: 100 %'));
    expect(await version(g.url)).toBe('2');
    // Over gRPC too, through the gateway's gRPC front to the candidate's gRPC port.
    const client = createClient({ url: `grpc://${g.grpcAddress}` });
    try {
      const answer = await client.infer('double', [
        { name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: new Float32Array([1, 2, 3, 4]) },
      ]);
      expect(answer.modelVersion).toBe('2');
    } finally {
      client.close();
    }
    // Both answers, REST and gRPC, counted on the candidate's track.
    const metrics = await (await fetch(`${g.url}/metrics`)).text();
    expect(metrics).toMatch(/^berth_rollout_canary_weight 1$/m);
    expect(metrics).toMatch(/^berth_rollout_step 2$/m);
    expect(metrics).toMatch(/^berth_gateway_requests_total\{model="double",track="canary",code="200"\} 2$/m);

    // At weight 0 the candidate stays in the gateway: the header still reaches it.
    writeFileSync(traffic, '{"candidate": true, "weight": 0}');
    await g.waitForLog((l) => String(l.msg).startsWith('traffic: 0 %'));
    expect(await version(g.url)).toBe('1');
    expect(await version(g.url, { 'x-berth-track': 'canary' })).toBe('2');

    // A shadow with the answers compared (rollout.analysis.compare: argmax): the caller gets the
    // stable answer, the candidate a copy, and the gateway counts what agreed.
    writeFileSync(traffic, '{"candidate": true, "mirror": 100, "compare": true}');
    await g.waitForLog((l) => String(l.msg).includes('100 % copied to it, answers compared'));
    expect(await version(g.url)).toBe('1');
    await until(
      async () =>
        /^berth_gateway_comparisons_total\{outcome="agree"\} 1$/m.test(
          await (await fetch(`${g.url}/metrics`)).text(),
        ),
      'the comparison to be counted',
    );

    // A file that does not parse moves nothing, and says why once.
    writeFileSync(traffic, '{"candidate": true, "weight": 250}');
    await g.waitForLog((l) => /traffic file .*weight: .*the traffic stays as it was/.test(String(l.msg)));
    expect(await version(g.url, { 'x-berth-track': 'canary' })).toBe('2');
    expect(await version(g.url)).toBe('1');

    writeFileSync(traffic, '{}');
    await g.waitForLog((l) => l.msg === 'traffic: every request to the stable track');
    expect(await version(g.url, { 'x-berth-track': 'canary' })).toBe('1');

    expect(await g.stop('SIGTERM')).toBe(0);
    expect(g.logs.some((l) => l.msg === 'stopped')).toBe(true);
  });

  it('enforces the spec’s keys at the gateway, in front of servers that have none', async () => {
    const { rest } = await pods();
    const dir = tempDir();
    const keyFile = join(dir, 'keys.json');
    const created = runCli(['keys', 'create', '--file', keyFile, '--role', 'infer', '--json']);
    expect(created.status).toBe(0);
    const { key } = JSON.parse(created.stdout) as { key: string };
    const spec = join(dir, 'berth.yaml');
    writeFileSync(spec, 'serve:\n  auth: { apiKeys: keys.json }\nresilience: { retries: 1 }\n');
    const g = await gateway(['-f', spec, '--upstream', `dns:127.0.0.1:${rest}`, '--no-grpc']);
    expect(g.grpcAddress).toBeUndefined();
    expect(await version(g.url)).toMatch(/^401 /);
    expect(await version(g.url, { authorization: `Bearer ${key}` })).toBe('1');
    // Health stays open for the kubelet's probes.
    expect((await fetch(`${g.url}/v2/health/ready`)).status).toBe(200);
    expect(g.logs.map((l) => JSON.stringify(l)).join('\n')).not.toContain(key);
  });

  it('is ready only while an upstream is, and finds one that starts later', async () => {
    const rest = await freePort();
    const g = await gateway([
      '--upstream',
      `dns:127.0.0.1:${rest}`,
      '--no-grpc',
      '--discovery-interval',
      '200ms',
    ]);
    // The address resolves, but nothing listens there yet: the health checks keep it out.
    await until(
      async () => (await fetch(`${g.url}/v2/health/ready`)).status === 503,
      'the gateway to say it is not ready',
    );
    const repository = tempDir();
    writeModel(repository, 'double', doubleModel());
    running.push(
      await startServeLoaded([
        '--log-format',
        'json',
        repository,
        '--port',
        String(rest),
        '--grpc-port',
        '0',
      ]),
    );
    await until(
      async () => (await fetch(`${g.url}/v2/health/ready`)).status === 200,
      'the gateway to be ready',
    );
    expect(await version(g.url)).toBe('1');
  });

  it('refuses a command line it cannot run, naming the option', () => {
    const missing = runCli(['gateway']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/--upstream is required: .*dns:HOST:PORT/);
    const wrong = runCli(['gateway', '--upstream', 'http://fraud-pods:8000']);
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toMatch(/--upstream: expected dns:HOST:PORT/);
  });
});
