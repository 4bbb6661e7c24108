import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { doubleModel } from '../../test/fixtures/models.js';
import { createLogger } from '../observability/index.js';
import { modelConfigSchema } from '../repository/index.js';
import type { LoadedModel } from './backend.js';
import { createOnnxBackend } from './index.js';
import { warmUp } from './warmup.js';
import { tempDirsForFile } from '../../test/helpers/temp-dir.js';

const tempDir = tempDirsForFile('berth-warmup-');

const logger = createLogger({ level: 'silent', format: 'json' });
const loaded: LoadedModel[] = [];
afterAll(async () => {
  await Promise.all(loaded.map((m) => m.dispose()));
});

/** A real double model whose runs are recorded (input shapes and first values). */
async function recorded(): Promise<{
  instance: LoadedModel;
  runs: { shape: readonly number[]; first: number }[];
}> {
  const instance = await createOnnxBackend().load(
    { kind: 'bytes', bytes: doubleModel() },
    { intraOpThreads: 1, interOpThreads: 1, spinning: false, execution: 'cpu' },
  );
  loaded.push(instance);
  const runs: { shape: readonly number[]; first: number }[] = [];
  const run = instance.run.bind(instance);
  instance.run = (inputs, outputs, options) => {
    const [input] = inputs;
    runs.push({ shape: input?.shape ?? [], first: Number((input?.data as Float32Array)[0]) });
    return run(inputs, outputs, options);
  };
  return { instance, runs };
}

const signature = {
  inputs: [{ name: 'INPUT0', datatype: 'FP32' as const, shape: [-1, 4] }],
  outputs: [{ name: 'OUTPUT0', datatype: 'FP32' as const, shape: [-1, 4] }],
};

describe('warmUp', () => {
  it('runs one sample of zeros, variable dimensions as 1, when nothing is configured', async () => {
    const { instance, runs } = await recorded();
    await warmUp({
      instances: [instance],
      signature,
      config: modelConfigSchema.parse({}),
      modelDir: undefined,
      logger,
    });
    expect(runs).toEqual([{ shape: [1, 4], first: 0 }]);
  });

  it('runs configured samples count times on every instance, with data files from warmup/', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'warmup'));
    writeFileSync(
      join(dir, 'warmup', 'x.bin'),
      Buffer.from(new Float32Array([7, 7, 7, 7, 7, 7, 7, 7]).buffer),
    );
    const a = await recorded();
    const b = await recorded();
    const config = modelConfigSchema.parse({
      maxBatchSize: 4,
      warmup: [
        { name: 'file', batchSize: 2, inputs: { INPUT0: { dataFile: 'x.bin' } } },
        { name: 'random', count: 2, inputs: { INPUT0: { randomData: true } } },
      ],
    });
    await warmUp({ instances: [a.instance, b.instance], signature, config, modelDir: dir, logger });
    for (const { runs } of [a, b]) {
      expect(runs.map((r) => r.shape)).toEqual([
        [2, 4],
        [1, 4],
        [1, 4],
      ]);
      expect(runs[0]?.first).toBe(7);
    }
  });

  it('fails the load with the sample named when a configured sample cannot run', async () => {
    const { instance } = await recorded();
    const wrongSize = modelConfigSchema.parse({
      warmup: [{ name: 'short', inputs: { INPUT0: { dataFile: 'none.bin' } } }],
    });
    await expect(
      warmUp({ instances: [instance], signature, config: wrongSize, modelDir: tmpdir(), logger }),
    ).rejects.toThrow(/warm-up sample "short": cannot read warmup\/none.bin \(ENOENT\)/);
    const unknown = modelConfigSchema.parse({
      warmup: [{ name: 'typo', inputs: { INPUT9: { zeroData: true } } }],
    });
    await expect(
      warmUp({ instances: [instance], signature, config: unknown, modelDir: undefined, logger }),
    ).rejects.toThrow(/warm-up sample "typo": input "INPUT9" is not an input of the model/);
    const badDims = modelConfigSchema.parse({ warmup: [{ inputs: { INPUT0: { dims: [1, 5] } } }] });
    await expect(
      warmUp({ instances: [instance], signature, config: badDims, modelDir: undefined, logger }),
    ).rejects.toThrow(/dims \[1,5\] do not fit \[-1,4\]/);
  });

  it('refuses two data sources for one input in the config', () => {
    expect(
      modelConfigSchema.safeParse({ warmup: [{ inputs: { x: { zeroData: true, randomData: true } } }] })
        .success,
    ).toBe(false);
  });
});
