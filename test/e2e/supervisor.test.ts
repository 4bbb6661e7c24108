/**
 * The supervisor with real `berth serve` processes: replicas on ports of their own, restarted
 * after `kill -9`, backed off when they keep failing, drained on stop, and never left running
 * when the supervisor itself is killed with SIGKILL.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Supervisor, type ReplicaEvent } from '../../src/orchestrator/supervisor.js';
import { doubleModel, writeModel } from '../fixtures/models.js';
import { BERTH_BIN, runCli } from '../helpers/cli.js';
import { tempDirsForFile } from '../helpers/temp-dir.js';
import { until } from '../helpers/until.js';

const tempDir = tempDirsForFile('berth-supervisor-');
const fastBackoff = { baseMs: 50, maxMs: 400, jitter: 0, resetAfterMs: 60_000, crashLoopAfter: 3 };
const running: Supervisor[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stopAll()));
});

function repository(): string {
  const dir = tempDir();
  writeModel(dir, 'double', doubleModel());
  return dir;
}

function supervisor(events: ReplicaEvent[] = []): Supervisor {
  const s = new Supervisor({
    berthBin: BERTH_BIN,
    backoff: fastBackoff,
    stopTimeoutMs: 10_000,
    onEvent: (event) => events.push(event),
  });
  running.push(s);
  return s;
}

/** Running (a zombie that its new parent has not reaped yet counts as gone). */
const alive = (pid: number): boolean => {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

describe('Supervisor', () => {
  it('runs replicas on loopback ports of their own and brings back one killed with SIGKILL', async () => {
    const repo = repository();
    const events: ReplicaEvent[] = [];
    const s = supervisor(events);
    s.add({ id: 'r1', args: [repo] });
    s.add({ id: 'r2', args: [repo] });
    const [one, two] = await Promise.all([s.whenReady('r1'), s.whenReady('r2')]);
    expect(one.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(one.url).not.toBe(two.url);
    const response = await fetch(`${one.url ?? ''}/v2/models/double/ready`);
    expect(response.status).toBe(200);

    const killed = one.pid ?? NaN;
    process.kill(killed, 'SIGKILL');
    const restarted = () => {
      const r1 = s.status().find((r) => r.id === 'r1');
      return Promise.resolve(r1?.state === 'ready' && r1.pid !== killed);
    };
    await until(restarted, 'r1 to restart', 20_000);
    const back = s.status().find((r) => r.id === 'r1');
    expect(back).toMatchObject({
      restarts: 1,
      crashLooping: false,
      lastExit: { code: null, signal: 'SIGKILL' },
    });
    expect(events.filter((e) => e.type === 'exited' && e.id === 'r1')).toHaveLength(1);
    expect((await fetch(`${back?.url ?? ''}/v2/health/ready`)).status).toBe(200);
    expect(s.status().find((r) => r.id === 'r2')?.restarts).toBe(0);
  });

  it('backs off a replica that keeps failing, and says it is crash-looping', async () => {
    const events: ReplicaEvent[] = [];
    const s = supervisor(events);
    const missing = join(tempDir(), 'no-such-model.onnx');
    s.add({ id: 'bad', args: [missing] });
    await until(
      () => Promise.resolve(events.filter((e) => e.type === 'exited').length >= 3),
      'three exits',
      60_000,
    );
    const delays = events.flatMap((e) => (e.type === 'exited' ? [e.restartInMs] : []));
    expect(delays.slice(0, 3)).toEqual([0, 50, 100]);
    const status = s.status()[0];
    expect(status?.crashLooping).toBe(true);
    expect(status?.lastExit?.code).toBe(2);
  });

  it('drains a replica on stop: SIGTERM, exit 0, nothing left running', async () => {
    const s = supervisor();
    s.add({ id: 'r1', args: [repository()] });
    const { pid } = await s.whenReady('r1');
    await s.stop('r1');
    expect(alive(pid ?? NaN)).toBe(false);
    expect(s.status()).toEqual([]);
    await expect(s.whenReady('r1')).rejects.toThrow('no replica');
  });

  it('leaves no replica running when the supervisor is killed with SIGKILL', async () => {
    const dir = tempDir();
    const script = join(dir, 'supervise.mjs');
    const supervisorModule = new URL('../../dist/orchestrator/index.js', import.meta.url).href;
    writeFileSync(
      script,
      [
        `import { Supervisor } from ${JSON.stringify(supervisorModule)};`,
        `const s = new Supervisor({ berthBin: ${JSON.stringify(BERTH_BIN)} });`,
        `s.add({ id: 'r1', args: [${JSON.stringify(repository())}] });`,
        `const { pid } = await s.whenReady('r1');`,
        'process.stdout.write(`${pid}\\n`);',
        'setInterval(() => {}, 1000);',
      ].join('\n'),
    );
    const parent = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const replicaPid = await new Promise<number>((resolve, reject) => {
      parent.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
      parent.once('exit', () => reject(new Error('the supervisor exited first')));
    });
    expect(alive(replicaPid)).toBe(true);
    parent.kill('SIGKILL');
    await until(() => Promise.resolve(!alive(replicaPid)), 'the orphaned replica to exit', 15_000);
  });

  it('stops a replica whose supervisor died while it was still starting', () => {
    // The supervisor names itself (BERTH_PARENT_PID); a replica whose parent is already someone
    // else when it is up (the supervisor was killed during its start) drains and exits at once.
    const result = runCli(
      ['serve', repository(), '--port', '0', '--grpc-port', '0', '--log-format', 'json'],
      {
        env: { BERTH_SUPERVISED: '1', BERTH_PARENT_PID: '1' },
        timeoutMs: 20_000,
      },
    );
    expect(result.status).toBe(0);
    expect(result.stderr).toMatch(
      /the parent process \(npm or berth up\) exited without passing on its signal/,
    );
  });
});
