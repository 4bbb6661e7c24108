/** Per-model request queues and dynamic batching. Pure: no I/O; time and execution are injected. */
export { BatchScheduler, type BatchStats, type Executor, type ScheduledRequest } from './batch-scheduler.js';
export { DEFAULT_BATCH_POLICY, type BatchPolicy } from './batch-policy.js';
export { batchKey, batchSizeOf, mergeBatch, splitBatch } from './batch-tensors.js';
export { ManualClock, systemClock, type Clock } from './clock.js';
