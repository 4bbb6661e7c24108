/**
 * Rollouts through `berth up` and `berth rollout`, with real replicas under continuous load:
 *
 * - a canary of a version that errors rolls itself back, and no caller sees an error, over REST
 *   or gRPC (a canaried inference that fails is answered by the stable version: the bound on
 *   failed requests is 0);
 * - a shadow of a version whose answers diverge (never an error) rolls itself back on
 *   prediction agreement, and callers only ever get the stable answers;
 * - a canary that passes is promoted, the header pins a request to the candidate meanwhile, and
 *   every replica then serves the new revision;
 * - a rolling update replaces the replicas one at a time with no failed request, and `undo`
 *   goes back;
 * - with `--watch`, a new version folder in the repository is rolled out on its own, the replicas
 *   serving a snapshot per revision, removed when `berth up` stops.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createClient } from '../../src/client/index.js';
import { doubleModel, failingDoubleModel, negatingDoubleModel, writeModel } from '../fixtures/models.js';
import { runCli } from '../helpers/cli.js';
import { tempDirsForFile } from '../helpers/temp-dir.js';
import { until } from '../helpers/until.js';
import { inferDouble, readyCount, statusNow, upsForFile, type Up } from '../helpers/up.js';

const tempDir = tempDirsForFile('berth-rollout-');
const startUp = upsForFile();

const DOUBLED = [2, 4, 6, 8];
const NEGATED = [-1, -2, -3, -4];

/** A stable repository serving `double`, a spec beside it, and a candidate repository. */
function setUp(rollout: string, candidate: Uint8Array): { spec: string; stable: string; next: string } {
  const stable = tempDir();
  writeModel(stable, 'double', doubleModel());
  const next = tempDir();
  writeModel(next, 'double', candidate);
  const spec = join(stable, 'berth.yaml');
  writeFileSync(spec, `repository: .\nrollout: ${rollout}\n`);
  return { spec, stable, next };
}

/** An inference of the `double` model over the gateway's gRPC front: its output, or a thrown error. */
async function inferDoubleGrpc(client: ReturnType<typeof createClient>): Promise<number[]> {
  const answer = await client.infer('double', [
    { name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: new Float32Array([1, 2, 3, 4]) },
  ]);
  return Array.from(answer.outputs[0]?.data as Float32Array);
}

/**
 * Clients sending inferences until stopped, over REST and, with `grpc`, one over gRPC too;
 * every answer that is not one of `expected` fails.
 */
function load(up: Up, expected: number[][], clients = 3, grpc = false) {
  let running = true;
  const failures: string[] = [];
  const seen = new Set<string>();
  let answered = 0;
  let answeredGrpc = 0;
  const grpcClient = grpc ? createClient({ url: `grpc://${up.grpc}` }) : undefined;
  const client = async (overGrpc: boolean) => {
    while (running) {
      try {
        const answer =
          overGrpc && grpcClient !== undefined
            ? await inferDoubleGrpc(grpcClient)
            : await inferDouble(up.gateway);
        if (overGrpc) answeredGrpc++;
        seen.add(JSON.stringify(answer));
        if (!expected.some((e) => JSON.stringify(e) === JSON.stringify(answer))) {
          failures.push(`unexpected answer ${JSON.stringify(answer)}`);
        }
        answered++;
      } catch (error) {
        failures.push(String(error));
      }
    }
  };
  const done = Promise.all([
    ...Array.from({ length: clients }, () => client(false)),
    ...(grpc ? [client(true)] : []),
  ]);
  return {
    failures,
    seen,
    answered: () => answered,
    answeredGrpc: () => answeredGrpc,
    stop: async () => {
      running = false;
      await done;
      grpcClient?.close();
    },
  };
}

function rollout(up: Up, ...args: string[]) {
  const result = runCli(['rollout', ...args, '--url', up.control]);
  if (result.status !== 0) throw new Error(`berth rollout ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

async function phase(up: Up): Promise<string | undefined> {
  return (await statusNow(up)).rollout?.phase;
}

describe('berth rollout', () => {
  it('rolls a canary that errors back on its own, and no caller sees an error, over REST or gRPC', async () => {
    const { spec, next } = setUp(
      '{ strategy: canary, steps: [50, 100], interval: 1s, analysis: { minRequests: 5 }, failAfter: 2 }',
      failingDoubleModel(),
    );
    const up = await startUp(['-f', spec, '--replicas', '1']);
    await until(async () => readyCount(await statusNow(up)) === 1, 'the stable replica', 20_000);
    const traffic = load(up, [DOUBLED], 3, true);
    try {
      expect(rollout(up, 'start', next)).toMatch(/canary to revision 2/);
      await until(async () => (await phase(up)) === 'rolled-back', 'the automatic rollback', 30_000);
    } finally {
      await traffic.stop();
    }
    expect(traffic.failures).toEqual([]);
    expect(traffic.answeredGrpc()).toBeGreaterThan(0);
    const after = await statusNow(up);
    expect(after.rollout?.reason).toMatch(
      /rolled back after 2 failed check\(s\): error rate 100\.0 % above 1\.0 %/,
    );
    await until(async () => (await statusNow(up)).replicas.length === 1, 'the candidate drained', 10_000);
    expect((await statusNow(up)).revision.id).toBe(1);
    expect(rollout(up, 'status')).toMatch(/canary to revision 2: rolled-back/);
    expect(up.logs.some((l) => typeof l.msg === 'string' && l.msg.startsWith('rollout rolled-back'))).toBe(
      true,
    );
  }, 60_000);

  it('rolls a shadow whose answers diverge back on prediction agreement', async () => {
    const { spec, next } = setUp(
      '{ strategy: shadow, steps: [50, 100], interval: 1s, analysis: { minRequests: 5, agreement: 0.99 }, failAfter: 2 }',
      negatingDoubleModel(),
    );
    const up = await startUp(['-f', spec, '--replicas', '1']);
    await until(async () => readyCount(await statusNow(up)) === 1, 'the stable replica', 20_000);
    // The candidate answers nobody: every caller gets the stable answer.
    const traffic = load(up, [DOUBLED]);
    try {
      rollout(up, 'start', next);
      await until(async () => (await phase(up)) === 'rolled-back', 'the automatic rollback', 30_000);
    } finally {
      await traffic.stop();
    }
    expect(traffic.failures).toEqual([]);
    const reason = (await statusNow(up)).rollout?.reason ?? '';
    expect(reason).toMatch(/agreement 0\.00 % below 99\.0 %/);
    expect((await statusNow(up)).rollout).toMatchObject({
      lastDisagreement: 'output "OUTPUT0": row 0 chooses index 0, the stable version 3',
    });
  }, 60_000);

  it('promotes a canary that passes, pins requests by header meanwhile, and then serves it everywhere', async () => {
    const { spec, next } = setUp(
      '{ strategy: canary, steps: [50, 100], interval: 1s, analysis: { minRequests: 5 } }',
      negatingDoubleModel(),
    );
    const up = await startUp(['-f', spec, '--replicas', '2']);
    await until(async () => readyCount(await statusNow(up)) === 2, 'two stable replicas', 20_000);
    const traffic = load(up, [DOUBLED, NEGATED], 3, true);
    try {
      rollout(up, 'start', next);
      await until(async () => (await phase(up)) === 'progressing', 'the candidate ready', 20_000);
      expect(await inferDouble(up.gateway, { 'x-berth-track': 'canary' })).toEqual(NEGATED);
      expect(await inferDouble(up.gateway, { 'x-berth-track': 'stable' })).toEqual(DOUBLED);
      // gRPC calls are split on the same tracks, and pinned by metadata.
      for (const [track, expected] of [
        ['canary', NEGATED],
        ['stable', DOUBLED],
      ] as const) {
        const pinned = createClient({ url: `grpc://${up.grpc}`, headers: { 'x-berth-track': track } });
        try {
          expect(await inferDoubleGrpc(pinned)).toEqual(expected);
        } finally {
          pinned.close();
        }
      }
      const metrics = await (await fetch(`${up.gateway}/metrics`)).text();
      expect(metrics).toMatch(/^berth_rollout_canary_weight (0\.5|1)$/m);
      expect(metrics).toMatch(
        /berth_gateway_requests_total\{model="double",track="canary",code="200"\} [1-9]/,
      );
      await until(async () => (await phase(up)) === 'promoted', 'the promotion', 30_000);
      await until(
        async () => {
          const s = await statusNow(up);
          return s.replicas.length === 2 && s.replicas.every((r) => r.revision === 2 && r.state === 'ready');
        },
        'every replica on revision 2',
        30_000,
      );
    } finally {
      await traffic.stop();
    }
    expect(traffic.failures).toEqual([]);
    expect(traffic.seen).toEqual(new Set([JSON.stringify(DOUBLED), JSON.stringify(NEGATED)]));
    for (let i = 0; i < 10; i++) expect(await inferDouble(up.gateway)).toEqual(NEGATED);
  }, 90_000);

  it('replaces replicas one at a time in a rolling update with no failed request, and undoes it', async () => {
    const { spec, next } = setUp('{ strategy: rolling }', negatingDoubleModel());
    const up = await startUp(['-f', spec, '--replicas', '2']);
    await until(async () => readyCount(await statusNow(up)) === 2, 'two stable replicas', 20_000);
    const traffic = load(up, [DOUBLED, NEGATED]);
    let most = 0;
    try {
      rollout(up, 'start', next);
      await until(
        async () => {
          const s = await statusNow(up);
          most = Math.max(most, s.replicas.filter((r) => r.state !== 'stopping').length);
          return s.rollout?.phase === 'promoted';
        },
        'the rolling update',
        60_000,
      );
      const before = traffic.answered();
      await until(
        () => Promise.resolve(traffic.answered() > before + 20),
        'answers after the update',
        10_000,
      );
    } finally {
      await traffic.stop();
    }
    expect(traffic.failures).toEqual([]);
    // Surge 1: never more than one replica above the count.
    expect(most).toBeLessThanOrEqual(3);
    expect(await inferDouble(up.gateway)).toEqual(NEGATED);
    const refused = runCli(['rollout', 'promote', '--url', up.control]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/no rollout is in progress \(BERTH_ERR_CONTROL_INVALID_REQUEST\)/);

    rollout(up, 'undo');
    await until(
      async () => (await phase(up)) === 'promoted' && (await inferDouble(up.gateway))[0] === 2,
      'the undo',
      60_000,
    );
    expect((await statusNow(up)).revision.id).toBe(3);
  }, 120_000);

  it('rolls a new version folder out on its own with --watch, from a snapshot per revision', async () => {
    const stable = tempDir();
    writeModel(stable, 'double', doubleModel());
    const spec = join(stable, 'berth.yaml');
    writeFileSync(spec, 'repository: .\nrollout: { strategy: rolling }\n');
    const up = await startUp(['-f', spec, '--replicas', '1', '--watch', '300ms']);
    await until(async () => readyCount(await statusNow(up)) === 1, 'the stable replica', 20_000);
    const first = (await statusNow(up)).revision;
    expect(first.id).toBe(1);
    // Revision 1 serves a snapshot of the repository, not the repository itself.
    const [served] = first.args;
    expect(served).toMatch(/berth-up-revisions-[^/]+\/1\/0\/[^/]+$/);
    expect(existsSync(join(served as string, 'double', '1', 'model.onnx'))).toBe(true);
    const traffic = load(up, [DOUBLED, NEGATED]);
    try {
      writeModel(stable, 'double', negatingDoubleModel(), 2);
      await until(
        async () => {
          const s = await statusNow(up);
          return s.revision.id === 2 && s.rollout?.phase === 'promoted';
        },
        'the watch to roll version 2 out',
        60_000,
      );
      await until(async () => (await inferDouble(up.gateway))[0] === -1, 'version 2 answering', 10_000);
    } finally {
      await traffic.stop();
    }
    expect(traffic.failures).toEqual([]);
    // The snapshot of revision 1 never saw version 2: a replica of it that restarts would not either.
    expect(existsSync(join(served as string, 'double', '2'))).toBe(false);
    expect(up.logs.some((l) => l.msg === 'the models changed: rolling them out')).toBe(true);
    up.child.kill('SIGTERM');
    expect(await up.exited).toBe(0);
    expect(existsSync(served as string)).toBe(false);
  }, 90_000);

  it('keeps the name of a model given as a .onnx file when it serves it from a snapshot', async () => {
    const dir = tempDir();
    const file = join(dir, 'double.onnx');
    writeFileSync(file, doubleModel());
    const up = await startUp([file, '--replicas', '1', '--watch', '1s']);
    await until(async () => readyCount(await statusNow(up)) === 1, 'the replica', 20_000);
    expect((await statusNow(up)).revision.args[0]).toMatch(/\/1\/0\/double\.onnx$/);
    expect(await inferDouble(up.gateway)).toEqual(DOUBLED);
  }, 30_000);
});
