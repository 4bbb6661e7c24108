import { mkdirSync, mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fingerprint, snapshot } from './repository-snapshot.js';
import { RepositoryWatch, watchStep, type WatchState } from './repository-watch.js';

describe('watchStep', () => {
  it('rolls out a change once it held still for one more look, and not while a rollout runs', () => {
    const looks: [string, boolean, WatchState, boolean][] = [
      // seen, busy → state after, rolled out
      ['a', false, { served: 'a' }, false],
      ['b', false, { served: 'a', pending: 'b' }, false], // changed: wait one look
      ['c', false, { served: 'a', pending: 'c' }, false], // still changing: wait again
      ['c', true, { served: 'a', pending: 'c' }, false], // held still, but a rollout runs
      ['c', false, { served: 'c' }, true], // held still, nothing running: roll it out
      ['c', false, { served: 'c' }, false],
      ['d', false, { served: 'c', pending: 'd' }, false],
      ['c', false, { served: 'c' }, false], // changed back before it was rolled out: nothing to do
    ];
    let state: WatchState = { served: 'a' };
    for (const [seen, busy, after, rolled] of looks) {
      const step = watchStep(state, seen, busy);
      expect({ seen, busy, ...step }).toEqual({ seen, busy, state: after, rollOut: rolled });
      state = step.state;
    }
  });
});

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'berth-watch-'));
  dirs.push(dir);
  return dir;
}

/** A repository with model `m`, version 1. */
function repository(): string {
  const repo = join(tempDir(), 'models');
  mkdirSync(join(repo, 'm', '1'), { recursive: true });
  writeFileSync(join(repo, 'm', '1', 'model.onnx'), 'v1');
  writeFileSync(join(repo, 'm', 'config.yaml'), 'maxBatchSize: 0\n');
  return repo;
}

describe('fingerprint and snapshot', () => {
  it('changes the fingerprint for a new version folder, a resized or a touched file, not for a look', async () => {
    const repo = repository();
    const first = await fingerprint([repo]);
    expect(await fingerprint([repo])).toBe(first);
    mkdirSync(join(repo, 'm', '2'));
    const folder = await fingerprint([repo]);
    expect(folder).not.toBe(first);
    writeFileSync(join(repo, 'm', '2', 'model.onnx'), 'v2');
    const file = await fingerprint([repo]);
    expect(file).not.toBe(folder);
    const later = new Date(statSync(join(repo, 'm', '1', 'model.onnx')).mtimeMs + 5000);
    utimesSync(join(repo, 'm', '1', 'model.onnx'), later, later);
    expect(await fingerprint([repo])).not.toBe(file);
  });

  it('copies every source into its own folder, files hard-linked, and gives the paths to serve', async () => {
    const repo = repository();
    const file = join(tempDir(), 'extra.onnx');
    writeFileSync(file, 'onnx');
    const into = join(tempDir(), 'rev', '2');
    const args = await snapshot([repo, file], into);
    // Each under its own name: a model named after its .onnx file keeps its name.
    expect(args).toEqual([join(into, '0', 'models'), join(into, '1', 'extra.onnx')]);
    const copied = join(into, '0', 'models', 'm', '1', 'model.onnx');
    expect(statSync(copied).ino).toBe(statSync(join(repo, 'm', '1', 'model.onnx')).ino);
    expect(statSync(join(into, '0', 'models', 'm', 'config.yaml')).isFile()).toBe(true);
    expect(statSync(args[1] as string).ino).toBe(statSync(file).ino);
    // A new version in the source does not reach a snapshot taken before it.
    mkdirSync(join(repo, 'm', '2'));
    expect(() => statSync(join(into, '0', 'models', 'm', '2'))).toThrow();
  });
});

describe('RepositoryWatch', () => {
  it('snapshots a change that held still for a look and starts a rollout of it, after the one running', async () => {
    const repo = repository();
    const root = tempDir();
    const started: (readonly string[])[] = [];
    const deployment = {
      rolloutBusy: false,
      startRollout: (args: readonly string[]) => started.push(args),
    };
    const watch = new RepositoryWatch({
      sources: [repo],
      intervalMs: 60_000,
      snapshotRoot: root,
      served: await fingerprint([repo]),
      deployment,
    });
    await watch.look();
    expect(started).toEqual([]);
    mkdirSync(join(repo, 'm', '2'));
    writeFileSync(join(repo, 'm', '2', 'model.onnx'), 'v2');
    await watch.look(); // seen once
    deployment.rolloutBusy = true;
    await watch.look(); // held still, but a rollout runs
    expect(started).toEqual([]);
    deployment.rolloutBusy = false;
    await watch.look();
    expect(started).toEqual([[join(root, '2', '0', 'models')]]);
    expect(statSync(join(root, '2', '0', 'models', 'm', '2', 'model.onnx')).isFile()).toBe(true);
    await watch.look();
    expect(started).toHaveLength(1);
  });

  it('says why a look failed, and tries again at the next', async () => {
    const repo = repository();
    const errors: string[] = [];
    const started: (readonly string[])[] = [];
    const watch = new RepositoryWatch({
      sources: [repo],
      intervalMs: 60_000,
      snapshotRoot: tempDir(),
      served: 'not this',
      deployment: {
        rolloutBusy: false,
        startRollout: (args: readonly string[]) => {
          if (started.length === 0) {
            started.push([]);
            throw new Error('berth up is shutting down');
          }
          started.push(args);
        },
      },
      onError: (error) => errors.push(error.message),
    });
    await watch.look();
    await watch.look();
    expect(errors).toEqual(['berth up is shutting down']);
    await watch.look();
    expect(started).toHaveLength(2);
  });
});
