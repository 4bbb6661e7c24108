/** How a model version's requests are queued and batched. */
export interface BatchPolicy {
  /** Largest batch along dimension 0; 0 means the model does not batch: one request per run. */
  readonly maxBatchSize: number;
  /** Longest time the oldest queued request waits for others to join its batch (fractional ms). */
  readonly maxQueueDelayMs: number;
  /** Batch sizes to dispatch at once when they can be formed; empty for none. */
  readonly preferredBatchSizes: readonly number[];
  /** Most requests waiting (not running); further requests are refused at once. */
  readonly maxQueueSize: number;
  /** Time a request may wait in the queue before it is refused with a timeout; 0 for no limit. */
  readonly defaultTimeoutMs: number;
  /** Executions that may run at the same time (model instances). */
  readonly instances: number;
  /** Number of priority levels (1 is the highest); 0 disables priorities. */
  readonly priorityLevels: number;
  /** Level of requests that give no priority (or 0). */
  readonly defaultPriority: number;
}

export const DEFAULT_BATCH_POLICY: BatchPolicy = {
  maxBatchSize: 0,
  maxQueueDelayMs: 0,
  preferredBatchSizes: [],
  maxQueueSize: 1024,
  defaultTimeoutMs: 0,
  instances: 1,
  priorityLevels: 0,
  defaultPriority: 1,
};
