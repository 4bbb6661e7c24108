/**
 * `berth up` through the real CLI, as a user runs it: a gateway and `berth serve` replicas as
 * real processes. Inference through the gateway, `berth status` and `berth scale`, a replica
 * killed with SIGKILL coming back, autoscaling up under load and down after the stabilisation
 * window, scale to zero and back on the first request, a start that cannot succeed, and no
 * replica left behind after SIGTERM or after `berth up` itself is killed with SIGKILL.
 */
import { writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createClient } from '../../src/client/index.js';
import { doubleModel, slowModel, writeModel } from '../fixtures/models.js';
import { runCli } from '../helpers/cli.js';
import { tempDirsForFile } from '../helpers/temp-dir.js';
import { until } from '../helpers/until.js';
import {
  alive,
  inferDouble,
  readyCount,
  replicaPids,
  status,
  statusNow,
  tcpListenPorts,
  upsForFile,
} from '../helpers/up.js';

const tempDir = tempDirsForFile('berth-up-');
const startUp = upsForFile();

function repository(slow = false): string {
  const dir = tempDir();
  writeModel(dir, 'double', doubleModel());
  if (slow) writeModel(dir, 'slow', slowModel(6));
  return dir;
}

function statusWithHost(control: string, host: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(`${control}/berth/v1/status`, { headers: { host } }, (response) => {
      response.resume();
      response.once('end', () => resolve(response.statusCode));
    });
    request.once('error', reject);
    request.end();
  });
}

describe('berth up', () => {
  it('serves through the gateway, reports status, scales on command, and exits 0 on SIGTERM', async () => {
    const up = await startUp([repository(), '--replicas', '2']);
    await until(() => Promise.resolve(up.stdout().includes('replicas ready')), 'the ready table', 20_000);
    expect(up.stdout()).toMatch(/2 of 2 replicas ready/);
    expect(up.stdout()).toMatch(/r1\s+ready/);
    expect(await inferDouble(up.gateway)).toEqual([2, 4, 6, 8]);
    // And over gRPC, through the gateway's gRPC front.
    const grpc = createClient({ url: `grpc://${up.grpc}` });
    try {
      const answer = await grpc.infer('double', [
        { name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: new Float32Array([1, 2, 3, 4]) },
      ]);
      expect(Array.from(answer.outputs[0]?.data as Float32Array)).toEqual([2, 4, 6, 8]);
      expect(await grpc.ready()).toBe(true);
    } finally {
      grpc.close();
    }

    const first = status(up);
    expect(first.replicas.map((r) => [r.id, r.state, r.inBalancer])).toEqual([
      ['r1', 'ready', true],
      ['r2', 'ready', true],
    ]);
    // Replicas serve REST and gRPC on unix sockets only: no other local user can reach them
    // around the gateway.
    for (const replica of first.replicas) expect(tcpListenPorts(replica.pid)).toEqual([]);
    expect(up.logs.filter((l) => l.msg?.toString().startsWith('berth listening')).map((l) => l.grpc)).toEqual(
      [
        expect.stringMatching(/^unix:\/.*\/r[12]\.grpc\.sock$/),
        expect.stringMatching(/^unix:\/.*\/r[12]\.grpc\.sock$/),
      ],
    );
    // (The gateway itself listens on TCP: its REST, gRPC and control ports.)
    expect(tcpListenPorts(up.child.pid ?? 0).length).toBe(3);
    expect(first.scaling).toMatchObject({ mode: 'fixed', desired: 2 });
    const human = runCli(['status', '--url', up.control]);
    expect(human.stdout).toMatch(/REPLICA\s+STATE\s+REV\s+PID/);
    expect(human.stdout).toMatch(/fixed at 2 \(--replicas\)/);
    // Each replica's log lines come through with its id.
    expect(up.logs.some((l) => l.replica === 'r2' && l.msg === 'models loaded: 1 of 1 ready')).toBe(true);

    const scaled = runCli(['scale', '1', '--url', up.control]);
    expect(scaled.status).toBe(0);
    expect(scaled.stdout).toMatch(/1 replica desired/);
    await until(async () => (await statusNow(up)).replicas.length === 1, 'one replica left');
    expect((await statusNow(up)).replicas[0]?.id).toBe('r1');
    expect(await inferDouble(up.gateway)).toEqual([2, 4, 6, 8]);

    const bad = runCli(['scale', 'many', '--url', up.control]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/BERTH_ERR_CLI_INVALID_OPTION/);
    const refused = await fetch(`${up.control}/berth/v1/scale`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"replicas": 1000}',
    });
    expect(refused.status).toBe(400);
    expect(refused.headers.get('berth-error-code')).toBe('BERTH_ERR_CONTROL_INVALID_REQUEST');
    const form = await fetch(`${up.control}/berth/v1/scale`, { method: 'POST', body: 'replicas=0' });
    expect(form.status).toBe(415);
    // fetch will not send another Host; a DNS-rebinding page's request would.
    expect(await statusWithHost(up.control, 'evil.example:8002')).toBe(403);
    expect(await statusWithHost(up.control, 'localhost:8002')).toBe(200);

    // The gateway's own metrics, on its public port.
    const metrics = await (await fetch(`${up.gateway}/metrics`)).text();
    expect(metrics).toMatch(/berth_gateway_requests_total\{model="double",track="stable",code="200"\} [1-9]/);
    expect(metrics).toMatch(/^berth_replicas_desired 1$/m);

    const pids = replicaPids(up);
    up.child.kill('SIGTERM');
    expect(await up.exited).toBe(0);
    expect(pids.filter(alive)).toEqual([]);
  }, 60_000);

  it('brings a replica killed with SIGKILL back, and answers meanwhile', async () => {
    const up = await startUp([repository(), '--replicas', '2']);
    await until(async () => readyCount(await statusNow(up)) === 2, 'two ready replicas', 20_000);
    const victim = (await statusNow(up)).replicas[0];
    if (victim === undefined) throw new Error('no replica');
    process.kill(victim.pid, 'SIGKILL');
    for (let i = 0; i < 20; i++) expect(await inferDouble(up.gateway)).toEqual([2, 4, 6, 8]);
    await until(
      async () => {
        const s = await statusNow(up);
        return readyCount(s) === 2 && s.replicas.some((r) => r.restarts === 1);
      },
      'the killed replica back',
      20_000,
    );
    expect(runCli(['status', '--url', up.control]).stdout).toMatch(/SIGKILL, \d+s ago/);
  }, 60_000);

  it('takes a hung (SIGSTOP) replica out, and requests keep succeeding within their deadline', async () => {
    const dir = repository();
    writeFileSync(
      join(dir, 'berth.yaml'),
      [
        'replicas: { min: 2, max: 2 }',
        'resilience:',
        '  timeoutMs: 5000',
        '  perTryTimeout: 500ms',
        '  healthCheck: { interval: 200ms, timeout: 300ms, unhealthyAfter: 2 }',
        '',
      ].join('\n'),
    );
    const up = await startUp(['-f', join(dir, 'berth.yaml'), dir]);
    await until(async () => readyCount(await statusNow(up)) === 2, 'two ready replicas', 20_000);
    const victim = (await statusNow(up)).replicas[0];
    if (victim === undefined) throw new Error('no replica');
    let loading = true;
    const failures: string[] = [];
    let slowest = 0;
    let answered = 0;
    const client = async () => {
      while (loading) {
        const started = performance.now();
        try {
          expect(await inferDouble(up.gateway)).toEqual([2, 4, 6, 8]);
          answered++;
        } catch (error) {
          failures.push(String(error));
        }
        slowest = Math.max(slowest, performance.now() - started);
      }
    };
    const clients = Array.from({ length: 4 }, client);
    process.kill(victim.pid, 'SIGSTOP');
    try {
      await until(
        async () => (await statusNow(up)).replicas.some((r) => r.id === victim.id && !r.inBalancer),
        'the hung replica out of the balancer',
        10_000,
      );
      const before = answered;
      await until(
        () => Promise.resolve(answered > before + 50),
        'requests answered by the other replica',
        10_000,
      );
    } finally {
      loading = false;
      await Promise.all(clients);
      process.kill(victim.pid, 'SIGCONT');
    }
    expect(failures).toEqual([]);
    expect(slowest).toBeLessThan(5000);
    expect(
      up.logs.some((l) => l.msg === `replica ${victim.id} failed its health checks: out of the balancer`),
    ).toBe(true);
    await until(
      async () => (await statusNow(up)).replicas.every((r) => r.inBalancer),
      'the replica back once it runs again',
      10_000,
    );
  }, 60_000);

  it('autoscales up under load and back down after the stabilisation window', async () => {
    const dir = repository(true);
    writeFileSync(
      join(dir, 'berth.yaml'),
      'replicas: { min: 1, max: 2, target: { inflightPerReplica: 1 }, scaleDownAfter: 2s }\n',
    );
    const up = await startUp(['-f', join(dir, 'berth.yaml'), dir]);
    await until(async () => readyCount(await statusNow(up)) === 1, 'one ready replica', 20_000);
    expect((await statusNow(up)).scaling.mode).toBe('auto');
    const n = 96;
    const body = JSON.stringify({
      inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [n, n], data: new Array(n * n).fill(0.01) }],
    });
    let loading = true;
    const failures: string[] = [];
    const client = async () => {
      while (loading) {
        const response = await fetch(`${up.gateway}/v2/models/slow/infer`, { method: 'POST', body });
        if (response.status !== 200) failures.push(`${response.status}: ${await response.text()}`);
        else await response.arrayBuffer();
      }
    };
    const clients = Array.from({ length: 6 }, client);
    try {
      await until(async () => readyCount(await statusNow(up)) === 2, 'a second replica under load', 30_000);
      expect(
        up.logs.some(
          (l) => typeof l.msg === 'string' && /^scale 1 → 2: .*in flight over 1 replica/.test(l.msg),
        ),
      ).toBe(true);
    } finally {
      loading = false;
      await Promise.all(clients);
    }
    expect(failures).toEqual([]);
    await until(async () => (await statusNow(up)).replicas.length === 1, 'scale down after idle', 30_000);
    expect(up.logs.some((l) => typeof l.msg === 'string' && /scale 2 → 1/.test(l.msg))).toBe(true);
  }, 90_000);

  it('scales to zero when idle, and the first request after brings a replica back', async () => {
    const dir = repository();
    writeFileSync(
      join(dir, 'berth.yaml'),
      `repository: .\nreplicas: { min: 0, max: 1, scaleDownAfter: 1s, idleToZero: 1s }\n`,
    );
    // The spec from the working directory, and its repository.
    const up = await startUp([], dir);
    await until(async () => (await statusNow(up)).replicas.length === 0, 'no replica at start', 10_000);
    expect(runCli(['status', '--url', up.control]).stdout).toMatch(/no replica \(scaled to zero/);
    expect(await inferDouble(up.gateway)).toEqual([2, 4, 6, 8]);
    const afterColdStart = await statusNow(up);
    expect(afterColdStart.lastColdStartMs).toBeGreaterThan(0);
    expect(up.logs.some((l) => typeof l.msg === 'string' && l.msg.startsWith('scaled from zero'))).toBe(true);
    await until(async () => (await statusNow(up)).replicas.length === 0, 'back to zero when idle', 20_000);
    expect(await inferDouble(up.gateway)).toEqual([2, 4, 6, 8]);
  }, 60_000);

  it('fails at start, with the reason, when a model cannot load', async () => {
    const dir = tempDir();
    writeModel(dir, 'broken', new Uint8Array([1, 2, 3, 4]));
    const up = await startUp([dir]);
    expect(await up.exited).toBe(2);
    expect(up.stderr()).toMatch(
      /berth: replica r1 exited with status 2 before it was ready: .*broken.* \(BERTH_ERR_RUNTIME_LOAD_FAILED\)/,
    );
    const missing = runCli(['up', join(dir, 'nope.onnx'), '--port', '0', '--control-port', '0']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/nope\.onnx: no such file or folder \(BERTH_ERR_REPOSITORY_NOT_FOUND\)/);
    const unreachable = runCli(['status', '--url', 'http://127.0.0.1:9']);
    expect(unreachable.status).toBe(2);
    expect(unreachable.stderr).toMatch(/is `berth up` running\?/);
  }, 60_000);

  it('leaves no replica running when it is killed with SIGKILL', async () => {
    const up = await startUp([repository(), '--replicas', '2']);
    await until(async () => readyCount(await statusNow(up)) === 2, 'two ready replicas', 20_000);
    const pids = (await statusNow(up)).replicas.map((r) => r.pid);
    up.child.kill('SIGKILL');
    await up.exited;
    await until(() => Promise.resolve(pids.every((pid) => !alive(pid))), 'every replica to exit', 15_000);
  }, 60_000);
});
