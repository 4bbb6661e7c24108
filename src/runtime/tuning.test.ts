import { describe, expect, it } from 'vitest';
import { defaultTuning, MAX_DEFAULT_INSTANCES, type TuningFacts } from './tuning.js';

const facts: TuningFacts = {
  cores: 2,
  totalMemoryBytes: 24 * 2 ** 30,
  modelBytes: 14 * 2 ** 20,
  execution: 'cpu',
  instances: undefined,
  intraOpThreads: undefined,
  serverIntraOpThreads: 0,
};

describe('defaultTuning', () => {
  it('gives a CPU model one single-threaded instance per core', () => {
    expect(defaultTuning(facts)).toEqual({ instances: 2, intraOpThreads: 1 });
    expect(defaultTuning({ ...facts, cores: 1 })).toEqual({ instances: 1, intraOpThreads: 1 });
    expect(defaultTuning({ ...facts, cores: 64 })).toEqual({
      instances: MAX_DEFAULT_INSTANCES,
      intraOpThreads: 8,
    });
  });

  it('keeps the instances of a large model within a quarter of the memory', () => {
    expect(
      defaultTuning({ ...facts, cores: 8, totalMemoryBytes: 16 * 2 ** 30, modelBytes: 2 * 2 ** 30 }),
    ).toEqual({
      instances: 2,
      intraOpThreads: 4,
    });
    expect(defaultTuning({ ...facts, modelBytes: 100 * 2 ** 30 })).toEqual({
      instances: 1,
      intraOpThreads: 2,
    });
  });

  it('keeps what the config or the server sets', () => {
    expect(defaultTuning({ ...facts, instances: 1 })).toEqual({ instances: 1, intraOpThreads: 2 });
    expect(defaultTuning({ ...facts, intraOpThreads: 0 })).toEqual({ instances: 2, intraOpThreads: 0 });
    expect(defaultTuning({ ...facts, serverIntraOpThreads: 4 })).toEqual({ instances: 2, intraOpThreads: 4 });
  });

  it('gives a GPU model one instance and leaves its threads to onnxruntime', () => {
    expect(defaultTuning({ ...facts, execution: 'cuda' })).toEqual({ instances: 1, intraOpThreads: 0 });
  });
});
