/**
 * The defaults a model gets when its config leaves them out, chosen for the machine: how many
 * instances (sessions, each running one batch at a time) and how many threads inside each.
 *
 * On a CPU, onnxruntime spends more CPU per item the more intra-op threads split one run (they
 * synchronise at every operator), so a server under concurrent load gets the most items per
 * second, and the least CPU per item, from one single-threaded instance per core: the batches of
 * concurrent requests then run side by side. That is the default, bounded so that the instances'
 * weights take at most a quarter of the machine's memory, and at most 8 instances. A model that
 * runs inline (placement.ts) has one. A GPU model has one instance: its provider parallelises.
 * docs/repository.md#instances-and-threads says how to tune for latency instead.
 */

export const MAX_DEFAULT_INSTANCES = 8;

/** The share of memory the weights of a model's default instances may take. */
export const DEFAULT_INSTANCES_MEMORY_SHARE = 0.25;

export interface TuningFacts {
  /** Cores this process may use (os.availableParallelism()). */
  readonly cores: number;
  readonly totalMemoryBytes: number;
  /** Size of the model file: a rough measure of the memory one instance takes. */
  readonly modelBytes: number;
  readonly execution: 'cpu' | 'cuda';
  /** `instances` from the model's config, when it sets it. */
  readonly instances: number | undefined;
  /** `threads.intraOp` from the model's config, when it sets it. */
  readonly intraOpThreads: number | undefined;
  /** The server's `--intra-op-threads`; 0 leaves it to this tuning. */
  readonly serverIntraOpThreads: number;
}

export interface Tuning {
  readonly instances: number;
  /** 0 lets onnxruntime choose (one per core). */
  readonly intraOpThreads: number;
}

/**
 * @example
 * defaultTuning({ cores: 2, totalMemoryBytes: 24e9, modelBytes: 14e6, execution: 'cpu',
 *   instances: undefined, intraOpThreads: undefined, serverIntraOpThreads: 0 }); // { instances: 2, intraOpThreads: 1 }
 */
export function defaultTuning(facts: TuningFacts): Tuning {
  const cores = Math.max(1, Math.floor(facts.cores));
  let instances = facts.instances;
  if (instances === undefined) {
    if (facts.execution === 'cuda') instances = 1;
    else {
      const byMemory = Math.floor(
        (facts.totalMemoryBytes * DEFAULT_INSTANCES_MEMORY_SHARE) / Math.max(1, facts.modelBytes),
      );
      instances = Math.max(1, Math.min(cores, MAX_DEFAULT_INSTANCES, byMemory));
    }
  }
  const threads =
    facts.intraOpThreads ??
    (facts.serverIntraOpThreads > 0
      ? facts.serverIntraOpThreads
      : facts.execution === 'cuda'
        ? 0
        : Math.max(1, Math.floor(cores / instances)));
  return { instances, intraOpThreads: threads };
}
