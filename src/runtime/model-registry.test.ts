import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { doubleModel, identityModel, writeModel } from '../../test/fixtures/models.js';
import { createLogger } from '../observability/index.js';
import { BerthError, type ModelState } from '../ground/index.js';
import { modelFromBytes, scanRepository, type ModelDescriptor } from '../repository/index.js';
import { createOnnxBackend, ModelRegistry, type LoadFailure, type ModelVersion } from './index.js';
import { thrownBy } from '../../test/helpers/errors.js';
import { until } from '../../test/helpers/until.js';
import { defaultTuning } from './tuning.js';

const garbage = new TextEncoder().encode('garbage');
const logger = createLogger({ level: 'silent', format: 'json' });

function createRegistry(onStateChange?: (version: ModelVersion) => void): ModelRegistry {
  return new ModelRegistry({
    backends: [createOnnxBackend()],
    load: { intraOpThreads: 1, interOpThreads: 1, spinning: false, execution: 'cpu' },
    logger,
    ...(onStateChange === undefined ? {} : { onStateChange }),
  });
}

const dirs: string[] = [];
const registries: ModelRegistry[] = [];

/** A temporary repository laid out by `build`, scanned into descriptors. */
async function repository(build: (dir: string) => void): Promise<ModelDescriptor[]> {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'berth-registry-')));
  dirs.push(dir);
  build(dir);
  return scanRepository(dir);
}

async function loaded(descriptors: readonly ModelDescriptor[]): Promise<ModelRegistry> {
  const registry = createRegistry();
  registries.push(registry);
  await registry.loadAll(descriptors);
  return registry;
}

afterAll(async () => {
  await Promise.all(registries.map((r) => r.unloadAll()));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('ModelRegistry with one good and one corrupt model', () => {
  let registry: ModelRegistry;
  let failures: LoadFailure[];
  const transitions: [string, number, ModelState][] = [];

  beforeAll(async () => {
    const descriptors = await repository((dir) => {
      writeModel(dir, 'good', doubleModel(), 1);
      writeModel(dir, 'bad', garbage, 1);
      mkdirSync(join(dir, 'broken', '1'), { recursive: true });
      writeFileSync(join(dir, 'broken', 'config.yaml'), 'maxBatchsize: 4\n');
    });
    registry = createRegistry((v) => transitions.push([v.name, v.version, v.state]));
    registries.push(registry);
    expect(registry.allReady()).toBe(false);
    expect(registry.anyReady()).toBe(false);
    failures = await registry.loadAll(descriptors);
  });

  it('resolves loadAll with each model that did not load and its code', () => {
    expect(failures.map((f) => [f.name, f.error.code])).toEqual([
      ['bad', 'BERTH_ERR_RUNTIME_INVALID_MODEL'],
      ['broken', 'BERTH_ERR_REPOSITORY_INVALID_CONFIG'],
    ]);
  });

  it('marks the good model READY and the corrupt one UNAVAILABLE with the reason', () => {
    expect(registry.index()).toEqual([
      {
        name: 'bad',
        version: '1',
        state: 'UNAVAILABLE',
        reason:
          'bad/1/model.onnx: not an ONNX model: protobuf decoding failed (invalid wire type 7 at offset 1)',
      },
      {
        name: 'broken',
        version: '',
        state: 'UNAVAILABLE',
        reason: expect.stringContaining('"maxBatchsize"'),
      },
      { name: 'good', version: '1', state: 'READY', reason: '' },
    ]);
  });

  it('reports each version passing through LOADING', () => {
    expect(transitions).toContainEqual(['good', 1, 'LOADING']);
    expect(transitions.filter(([name]) => name === 'good').at(-1)).toEqual(['good', 1, 'READY']);
    expect(transitions.filter(([name]) => name === 'bad').at(-1)).toEqual(['bad', 1, 'UNAVAILABLE']);
  });

  it('is not all ready but is partly ready', () => {
    expect(registry.allReady()).toBe(false);
    expect(registry.anyReady()).toBe(true);
  });

  it('resolves the ready model, with or without a version, to something that runs', async () => {
    const model = registry.resolve('good');
    expect(model.version).toBe(1);
    expect(model.platform).toBe('onnxruntime_onnx');
    expect(model.signature).toEqual({
      inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [-1, 4] }],
      outputs: [{ name: 'OUTPUT0', datatype: 'FP32', shape: [-1, 4] }],
    });
    expect(registry.resolve('good', '1')).toBe(model);
    expect(registry.resolve('good', '')).toBe(model);
    const {
      outputs: [out],
      computeSeconds,
    } = await model.instances[0]!.run(
      [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: Float32Array.from([1, 2, 3, 4]) }],
      ['OUTPUT0'],
    );
    expect(computeSeconds).toBeGreaterThan(0);
    expect(out?.data).toEqual(Float32Array.from([2, 4, 6, 8]));
  });

  it('refuses an unknown model as NOT_FOUND', () => {
    const error = thrownBy(() => registry.resolve('nope'));
    expect(error.code).toBe('BERTH_ERR_MODEL_NOT_FOUND');
    expect(error.message).toBe('Request for unknown model: "nope" is not found');
    expect(() => registry.isReady('nope')).toThrow('Request for unknown model: "nope" is not found');
    expect(() => registry.metadata('nope')).toThrow(BerthError);
  });

  it.each(['2', '01', 'abc', '0', '-1', '1.0', ' 1'])(
    'refuses version %j as VERSION_NOT_FOUND',
    (version) => {
      const error = thrownBy(() => registry.resolve('good', version));
      expect(error.code).toBe('BERTH_ERR_MODEL_VERSION_NOT_FOUND');
      expect(error.message).toBe(
        `model "good" has no version ${JSON.stringify(version)}; served versions: 1`,
      );
    },
  );

  it('refuses the failed model as NOT_READY with its reason', () => {
    for (const version of [undefined, '1']) {
      const error = thrownBy(() => registry.resolve('bad', version));
      expect(error.code).toBe('BERTH_ERR_MODEL_NOT_READY');
      expect(error.message).toMatch(
        /^model "bad" version 1 is not ready: bad\/1\/model.onnx: not an ONNX model/,
      );
    }
    expect(registry.isReady('bad')).toBe(false);
    expect(() => registry.metadata('bad')).toThrow(/not ready/);
  });

  it('refuses a model whose folder is broken as NOT_READY with the folder error', () => {
    const error = thrownBy(() => registry.resolve('broken'));
    expect(error.code).toBe('BERTH_ERR_MODEL_NOT_READY');
    expect(error.message).toContain('"maxBatchsize"');
    expect(thrownBy(() => registry.resolve('broken', '1')).code).toBe('BERTH_ERR_MODEL_VERSION_NOT_FOUND');
  });

  it('answers readiness per model and version', () => {
    expect(registry.isReady('good')).toBe(true);
    expect(registry.isReady('good', '1')).toBe(true);
    expect(() => registry.isReady('good', '3')).toThrow(BerthError);
  });

  it('describes the ready model', () => {
    expect(registry.metadata('good')).toEqual({
      name: 'good',
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [-1, 4] }],
      outputs: [{ name: 'OUTPUT0', datatype: 'FP32', shape: [-1, 4] }],
    });
  });
});

describe('ModelRegistry versions and config', () => {
  it('serves the highest ready version by default and lists all of them', async () => {
    const registry = await loaded(
      await repository((dir) => {
        writeModel(dir, 'multi', doubleModel(), 1);
        writeModel(dir, 'multi', doubleModel('FLOAT', ['batch', 2]), 2);
        writeModel(dir, 'multi', garbage, 10);
        writeFileSync(join(dir, 'multi', 'config.yaml'), 'versions: { policy: all }\n');
      }),
    );
    expect(registry.index()).toEqual([
      { name: 'multi', version: '1', state: 'READY', reason: '' },
      { name: 'multi', version: '2', state: 'READY', reason: '' },
      {
        name: 'multi',
        version: '10',
        state: 'UNAVAILABLE',
        reason: expect.stringContaining('not an ONNX model'),
      },
    ]);
    expect(registry.resolve('multi').version).toBe(2);
    expect(registry.resolve('multi', '1').signature.inputs[0]?.shape).toEqual([-1, 4]);
    expect(registry.resolve('multi', '2').signature.inputs[0]?.shape).toEqual([-1, 2]);
    expect(registry.metadata('multi', '1').versions).toEqual(['10', '2', '1']);
    expect(() => registry.resolve('multi', '10')).toThrow(/version 10 is not ready/);
    expect(registry.allReady()).toBe(false);
  });

  it('serves the signature narrowed by config.yaml', async () => {
    const registry = await loaded(
      await repository((dir) => {
        writeModel(dir, 'seq', identityModel('INT64', ['batch', 'len']), 1);
        writeFileSync(
          join(dir, 'seq', 'config.yaml'),
          'maxBatchSize: 8\ninputs: [{ name: INPUT0, dims: [16] }]\n',
        );
      }),
    );
    expect(registry.resolve('seq').signature.inputs).toEqual([
      { name: 'INPUT0', datatype: 'INT64', shape: [-1, 16] },
    ]);
    expect(registry.resolve('seq').config.maxBatchSize).toBe(8);
  });

  it('leaves a model UNAVAILABLE when config.yaml contradicts the model file', async () => {
    const registry = await loaded(
      await repository((dir) => {
        writeModel(dir, 'm', doubleModel(), 1);
        writeFileSync(
          join(dir, 'm', 'config.yaml'),
          'maxBatchSize: 8\ninputs: [{ name: INPUT0, dims: [5] }]\n',
        );
      }),
    );
    expect(registry.index()).toEqual([
      { name: 'm', version: '1', state: 'UNAVAILABLE', reason: expect.stringContaining('contradict') },
    ]);
    expect(registry.anyReady()).toBe(false);
  });

  it('is all ready when every model loads', async () => {
    const registry = await loaded([
      ...(await repository((dir) => {
        writeModel(dir, 'b', doubleModel(), 1);
        writeModel(dir, 'a', identityModel('STRING', ['n']), 3);
      })),
      modelFromBytes('mem', doubleModel()),
    ]);
    expect(registry.allReady()).toBe(true);
    expect(registry.index().map((e) => [e.name, e.version, e.state])).toEqual([
      ['a', '3', 'READY'],
      ['b', '1', 'READY'],
      ['mem', '1', 'READY'],
    ]);
    expect(registry.resolve('a').signature.inputs[0]?.datatype).toBe('BYTES');
  });

  it('leaves every version UNAVAILABLE when no backend serves the platform', async () => {
    const registry = new ModelRegistry({
      backends: [],
      load: { intraOpThreads: 1, interOpThreads: 1, spinning: false, execution: 'cpu' },
      logger,
    });
    await registry.loadAll([modelFromBytes('m', doubleModel())]);
    expect(registry.index()).toEqual([
      {
        name: 'm',
        version: '1',
        state: 'UNAVAILABLE',
        reason: 'no backend serves platform "onnxruntime_onnx"',
      },
    ]);
  });
});

describe('ModelRegistry readiness and unloading', () => {
  it('is neither ready nor partly ready before loading, even with no models', async () => {
    const registry = createRegistry();
    expect(registry.allReady()).toBe(false);
    expect(registry.anyReady()).toBe(false);
    expect(() => registry.resolve('anything')).toThrow(BerthError);
    expect(registry.index()).toEqual([]);
    await registry.loadAll([]);
    expect(registry.allReady()).toBe(true);
    expect(registry.anyReady()).toBe(false);
  });

  it('is not ready while loading is in progress', async () => {
    const registry = createRegistry();
    registries.push(registry);
    const loading = registry.loadAll([modelFromBytes('m', doubleModel())]);
    expect(registry.allReady()).toBe(false);
    expect(registry.anyReady()).toBe(false);
    await loading;
    expect(registry.allReady()).toBe(true);
  });

  it('unloads every model, which then cannot be resolved', async () => {
    const states: [string, ModelState, string][] = [];
    const registry = createRegistry((v) => states.push([v.name, v.state, v.reason]));
    await registry.loadAll([modelFromBytes('m', doubleModel()), modelFromBytes('bad', garbage)]);
    const [session] = registry.resolve('m').instances;
    states.length = 0;

    await registry.unloadAll();

    expect(states).toEqual([
      ['m', 'UNLOADING', ''],
      ['m', 'UNAVAILABLE', 'unloaded'],
    ]);
    expect(registry.index()).toEqual([
      {
        name: 'bad',
        version: '1',
        state: 'UNAVAILABLE',
        reason: expect.stringContaining('not an ONNX model'),
      },
      { name: 'm', version: '1', state: 'UNAVAILABLE', reason: 'unloaded' },
    ]);
    const error = thrownBy(() => registry.resolve('m'));
    expect(error.code).toBe('BERTH_ERR_MODEL_NOT_READY');
    expect(error.message).toBe('model "m" version 1 is not ready: unloaded');
    expect(registry.anyReady()).toBe(false);
    await expect(
      session!.run(
        [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: new Float32Array(4) }],
        ['OUTPUT0'],
      ),
    ).rejects.toThrow();
    // A second unload has nothing left to do.
    await registry.unloadAll();
    expect(states).toHaveLength(2);
  });
});

describe('ModelRegistry lifecycle: reload and unload without failing requests', () => {
  /** A repository folder and the descriptor of its model `m` as it is now. */
  async function describeM(dir: string): Promise<ModelDescriptor> {
    const [descriptor] = (await scanRepository(dir)).filter((d) => d.name === 'm');
    if (descriptor === undefined) throw new Error('no model m');
    return descriptor;
  }

  it('keeps a version that is in use until its requests are released, then frees it', async () => {
    const dir = realpathSync(mkdtempSync(join(tmpdir(), 'berth-registry-')));
    dirs.push(dir);
    writeModel(dir, 'm', doubleModel(), 1);
    const registry = await loaded([await describeM(dir)]);
    const held = registry.acquire('m');
    expect(held.inflight).toBe(1);

    // Version 2 appears; the policy (latest 1) makes it replace version 1.
    writeModel(dir, 'm', doubleModel(), 2);
    await registry.load(await describeM(dir)).then(() => undefined);
    expect(registry.resolve('m').version).toBe(2);
    // Version 1 left the served set but waits for the request still holding it.
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(held.state).toBe('UNLOADING');
    expect(held.instances).toBeDefined();
    const result = await held.instances[0]?.run(
      [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: new Float32Array([1, 2, 3, 4]) }],
      ['OUTPUT0'],
    );
    expect(Array.from(result?.outputs[0]?.data as Float32Array)).toEqual([2, 4, 6, 8]);
    registry.release(held);
    for (let i = 0; i < 100 && held.state !== 'UNAVAILABLE'; i++) await new Promise((r) => setTimeout(r, 10));
    expect(held.state).toBe('UNAVAILABLE');
    expect(held.reason).toBe('unloaded');
    expect(held.instances).toBeUndefined();
    expect(registry.index()).toEqual([{ name: 'm', version: '2', state: 'READY', reason: '' }]);
  });

  it('keeps serving the old version when a reload of the same version fails', async () => {
    const dir = realpathSync(mkdtempSync(join(tmpdir(), 'berth-registry-')));
    dirs.push(dir);
    writeModel(dir, 'm', doubleModel(), 1);
    const registry = await loaded([await describeM(dir)]);
    const before = registry.resolve('m');
    writeFileSync(join(dir, 'm', '1', 'model.onnx'), garbage);
    const error = await registry.load(await describeM(dir)).then(
      () => undefined,
      (e: unknown) => e as BerthError,
    );
    // A file that is not ONNX is the user's input, and keeps that code through the registry.
    expect(error?.code).toBe('BERTH_ERR_RUNTIME_INVALID_MODEL');
    expect(error?.category).toBe('INVALID_ARGUMENT');
    expect(error?.message).toMatch(
      /model "m" failed to load: version 1: m\/1\/model.onnx: not an ONNX model/,
    );
    expect(registry.resolve('m')).toBe(before);
    expect(registry.allReady()).toBe(true);
  });

  it('keeps serving when the reloaded config is broken, and reports why', async () => {
    const dir = realpathSync(mkdtempSync(join(tmpdir(), 'berth-registry-')));
    dirs.push(dir);
    writeModel(dir, 'm', doubleModel(), 1);
    const registry = await loaded([await describeM(dir)]);
    writeFileSync(join(dir, 'm', 'config.yaml'), 'maxBatchSize: lots\n');
    await expect(registry.load(await describeM(dir))).rejects.toThrow(/maxBatchSize/);
    expect(registry.resolve('m').version).toBe(1);
  });

  it('unloads on request: refuses new requests at once, lists the model as unloaded, loads again', async () => {
    const dir = realpathSync(mkdtempSync(join(tmpdir(), 'berth-registry-')));
    dirs.push(dir);
    writeModel(dir, 'm', doubleModel(), 1);
    writeModel(dir, 'other', doubleModel(), 1);
    const registry = await loaded(await scanRepository(dir));
    await registry.unload('m');
    expect(thrownBy(() => registry.resolve('m')).code).toBe('BERTH_ERR_MODEL_NOT_READY');
    expect(registry.index()).toContainEqual({
      name: 'm',
      version: '1',
      state: 'UNAVAILABLE',
      reason: 'unloaded',
    });
    // An unloaded model does not make the server unready (as Triton).
    expect(registry.allReady()).toBe(true);
    await registry.load(await describeM(dir));
    expect(registry.resolve('m').state).toBe('READY');
    expect(thrownBy(() => registry.acquire('nope')).code).toBe('BERTH_ERR_MODEL_NOT_FOUND');
    await expect(registry.unload('nope')).rejects.toThrow(/unknown model/);
  });

  it('keeps statistics per version', async () => {
    const registry = await loaded([modelFromBytes('d', doubleModel())]);
    const model = registry.resolve('d');
    model.stats.success(2);
    model.stats.queued(1);
    model.stats.execution(4, 2, 0.5, 1, 0.25);
    const [stats] = registry.stats('d');
    expect(stats).toMatchObject({
      name: 'd',
      version: '1',
      inference_count: 4,
      execution_count: 1,
      inference_stats: {
        success: { count: 1, ns: 2_000_000 },
        queue: { count: 1, ns: 1_000_000 },
        compute_infer: { count: 2, ns: 2_000_000 },
        fail: { count: 0, ns: 0 },
      },
      batch_stats: [
        {
          batch_size: 4,
          compute_input: { count: 1, ns: 500_000 },
          compute_infer: { count: 1, ns: 1_000_000 },
        },
      ],
    });
    expect(stats?.last_inference).toBeGreaterThan(Date.now() - 10_000);
    expect(registry.stats()).toHaveLength(1);
    expect(thrownBy(() => registry.stats('d', '9')).code).toBe('BERTH_ERR_MODEL_VERSION_NOT_FOUND');
  });
});

describe("the machine's default instances", () => {
  it('serves with the first instance, adds the others as they load, and frees them on unload', async () => {
    // Variable dimensions past the first keep the model off the event loop thread: workers.
    const descriptors = await repository((dir) =>
      writeModel(dir, 'wide', identityModel('FLOAT', ['a', 'b'])),
    );
    const registry = createRegistry();
    const expected = defaultTuning({
      cores: availableParallelism(),
      totalMemoryBytes: totalmem(),
      modelBytes: 1,
      execution: 'cpu',
      instances: undefined,
      intraOpThreads: undefined,
      serverIntraOpThreads: 1,
    }).instances;
    await registry.loadAll(descriptors);
    expect(registry.isReady('wide')).toBe(true);
    const ready = registry.resolve('wide');
    expect(ready.instances.length).toBeGreaterThanOrEqual(1);
    expect(ready.instances.every((i) => i.placement === 'worker')).toBe(true);
    await until(() => Promise.resolve(ready.instances.length === expected), `${expected} instances`);
    const x = { name: 'INPUT0', datatype: 'FP32', shape: [1, 2], data: new Float32Array([1, 2]) } as const;
    const results = await Promise.all(ready.instances.map((i) => i.run([x], ['OUTPUT0'])));
    expect(results.map((r) => Array.from(r.outputs[0]?.data as Float32Array))).toEqual(
      ready.instances.map(() => [1, 2]),
    );
    await registry.unloadAll();
    expect(registry.isReady('wide')).toBe(false);
  });

  it('unloads at once while instances are still joining, and waits for them to be freed', async () => {
    const descriptors = await repository((dir) =>
      writeModel(dir, 'wide', identityModel('FLOAT', ['a', 'b'])),
    );
    const registry = createRegistry();
    await registry.loadAll(descriptors);
    expect(registry.isReady('wide')).toBe(true);
    // Any added instance is still loading: unloadAll frees it when it arrives, then returns.
    await registry.unloadAll();
    expect(registry.isReady('wide')).toBe(false);
    expect(registry.index().filter((e) => e.state === 'READY')).toEqual([]);
  });
});
