/**
 * A per-model-version request queue with dynamic batching, in the manner of Triton's dynamic
 * batcher (triton-inference-server/server docs/user_guide/model_configuration.md, "Dynamic
 * Batcher"). Pure: time comes from an injected Clock and execution from an injected function, so
 * every decision is testable without sleeping.
 *
 * Order: priority level first (1 is the highest), then arrival. A batch starts from the oldest
 * request of the highest level and takes the following requests with the same batch key while
 * they fit. It is dispatched when it is full, when it reaches the largest preferred size, or when
 * its oldest request has waited maxQueueDelayMs.
 */
import { BerthError, toBerthError, type CancelSignal } from '../ground/index.js';
import type { BatchPolicy } from './batch-policy.js';
import { systemClock, type Clock } from './clock.js';

export interface ScheduledRequest<I> {
  /** Whatever the executor needs for this request (for example its decoded inputs). */
  readonly payload: I;
  /** Rows this request adds along dimension 0 (1 when the model does not batch). */
  readonly batchSize: number;
  /** Requests are only batched with requests of the same key. */
  readonly key: string;
  /** 1 is the highest; 0 or absent for the policy's default level. */
  readonly priority?: number | undefined;
  /** Queue timeout for this request in ms; absent for the policy's default. */
  readonly timeoutMs?: number | undefined;
  /** Aborts the request while it is still queued (a client that went away). */
  readonly signal?: CancelSignal | undefined;
}

/** The part of AbortSignal the scheduler uses; a cheaper object may stand in for it. */
/** Runs one batch; returns one result per request, in order. */
export type Executor<I, O> = (payloads: readonly I[]) => Promise<readonly O[]>;

export interface BatchStats {
  /** Rows in the batch. */
  readonly size: number;
  /** Requests in the batch. */
  readonly requests: number;
  /** How long each request waited in the queue, ms. */
  readonly waitedMs: readonly number[];
}

interface Entry<I, O> {
  readonly request: ScheduledRequest<I>;
  readonly level: number;
  readonly enqueuedAt: number;
  readonly resolve: (value: O) => void;
  readonly reject: (error: Error) => void;
  timeout?: unknown;
  onAbort?: () => void;
}

export class BatchScheduler<I, O> {
  /** Queued entries per priority level, each in arrival order. */
  private readonly levels = new Map<number, Entry<I, O>[]>();
  private queued = 0;
  private running = 0;
  private delayTimer: unknown;
  private delayTimerAt = Infinity;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly policy: BatchPolicy,
    private readonly execute: Executor<I, O>,
    private readonly clock: Clock = systemClock,
    private readonly onBatch?: (stats: BatchStats) => void,
  ) {}

  /** Requests waiting, not yet running. */
  get queueLength(): number {
    return this.queued;
  }

  /** Batches running now. */
  get runningBatches(): number {
    return this.running;
  }

  /**
   * Queues a request; resolves with its result once its batch has run.
   *
   * @example
   * const result = await scheduler.submit({ payload: inputs, batchSize: 1, key: batchKey(inputs) });
   */
  submit(request: ScheduledRequest<I>): Promise<O> {
    if (request.signal?.aborted === true) return Promise.reject(cancelled());
    if (this.queued >= this.policy.maxQueueSize) {
      return Promise.reject(
        new BerthError(
          'BERTH_ERR_SCHEDULER_QUEUE_FULL',
          `the model's queue is full (${this.policy.maxQueueSize} requests waiting); retry later`,
        ),
      );
    }
    const level = this.levelOf(request.priority);
    return new Promise<O>((resolve, reject) => {
      const entry: Entry<I, O> = { request, level, enqueuedAt: this.clock.now(), resolve, reject };
      // Nothing waits and an instance is free: the request is a batch of its own, as nextBatch
      // would choose it, without a pass over the queue.
      if (this.queued === 0 && this.running < this.policy.instances && this.runsAlone(request)) {
        this.dispatch([entry]);
        return;
      }
      let list = this.levels.get(level);
      if (list === undefined) {
        list = [];
        this.levels.set(level, list);
      }
      list.push(entry);
      this.queued++;
      this.pump();
      // Most requests under light load are dispatched by that pump: only those left waiting need
      // a timeout timer and an abort listener (both cost more than the dispatch itself).
      if (this.isQueued(entry)) this.watch(entry);
    });
  }

  /** Whether a request alone in the queue is a whole batch now: there is nothing to wait for. */
  private runsAlone(request: ScheduledRequest<I>): boolean {
    const { maxBatchSize, maxQueueDelayMs } = this.policy;
    return maxBatchSize === 0 || maxQueueDelayMs <= 0 || request.batchSize >= maxBatchSize;
  }

  private isQueued(entry: Entry<I, O>): boolean {
    return this.levels.get(entry.level)?.includes(entry) ?? false;
  }

  private watch(entry: Entry<I, O>): void {
    const { request } = entry;
    const timeoutMs = request.timeoutMs ?? this.policy.defaultTimeoutMs;
    if (timeoutMs > 0) {
      const remaining = entry.enqueuedAt + timeoutMs - this.clock.now();
      entry.timeout = this.clock.setTimer(remaining, () => {
        if (this.remove(entry)) {
          entry.reject(
            new BerthError(
              'BERTH_ERR_SCHEDULER_TIMEOUT',
              `request waited ${timeoutMs} ms in the queue without being run`,
            ),
          );
          this.pump();
        }
      });
    }
    if (request.signal !== undefined) {
      entry.onAbort = () => {
        if (this.remove(entry)) {
          entry.reject(cancelled());
          this.pump();
        }
      };
      request.signal.addEventListener('abort', entry.onAbort, { once: true });
    }
  }

  /** Resolves when nothing is queued or running. */
  idle(): Promise<void> {
    if (this.queued === 0 && this.running === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private levelOf(priority: number | undefined): number {
    if (this.policy.priorityLevels === 0) return 1;
    if (priority === undefined || priority === 0) return this.policy.defaultPriority;
    if (!Number.isSafeInteger(priority) || priority < 0 || priority > this.policy.priorityLevels) {
      throw new BerthError(
        'BERTH_ERR_PROTOCOL_INVALID_REQUEST',
        `parameters.priority must be an integer from 0 to ${this.policy.priorityLevels}, got ${priority}`,
      );
    }
    return priority;
  }

  /** Queued entries in service order: level ascending, then arrival. */
  private *ordered(): Generator<Entry<I, O>, void, undefined> {
    for (const level of [...this.levels.keys()].sort((a, b) => a - b)) {
      yield* this.levels.get(level) ?? [];
    }
  }

  private remove(entry: Entry<I, O>): boolean {
    const list = this.levels.get(entry.level);
    const index = list?.indexOf(entry) ?? -1;
    if (list === undefined || index < 0) return false;
    list.splice(index, 1);
    if (list.length === 0) this.levels.delete(entry.level);
    this.queued--;
    if (entry.timeout !== undefined) this.clock.clearTimer(entry.timeout);
    if (entry.onAbort !== undefined) entry.request.signal?.removeEventListener('abort', entry.onAbort);
    return true;
  }

  /** Picks the requests of the next batch, or when to look again. */
  private nextBatch(): { batch: Entry<I, O>[] } | { waitUntil: number } | undefined {
    const order = this.ordered();
    const first = order.next();
    if (first.done === true) return undefined;
    const head = first.value;
    const { maxBatchSize, maxQueueDelayMs, preferredBatchSizes } = this.policy;
    if (maxBatchSize === 0) return { batch: [head] };
    const chosen = [head];
    const prefix = [head.request.batchSize];
    let total = head.request.batchSize;
    for (const entry of order) {
      if (total >= maxBatchSize) break;
      if (entry.request.key !== head.request.key) continue;
      if (total + entry.request.batchSize > maxBatchSize) break;
      chosen.push(entry);
      total += entry.request.batchSize;
      prefix.push(total);
    }
    if (total >= maxBatchSize) return { batch: chosen };
    const preferred = new Set(preferredBatchSizes);
    const largestPreferred = Math.max(0, ...preferredBatchSizes.filter((p) => p <= maxBatchSize));
    const at = prefix.indexOf(largestPreferred);
    if (largestPreferred > 0 && at >= 0) return { batch: chosen.slice(0, at + 1) };
    const due = head.enqueuedAt + maxQueueDelayMs;
    if (this.clock.now() < due) return { waitUntil: due };
    // The delay is over: the largest preferred size that can be formed, else everything chosen.
    for (let i = prefix.length - 1; i >= 0; i--) {
      if (preferred.has(prefix[i] ?? -1)) return { batch: chosen.slice(0, i + 1) };
    }
    return { batch: chosen };
  }

  private pump(): void {
    while (this.queued > 0 && this.running < this.policy.instances) {
      const next = this.nextBatch();
      if (next === undefined) break;
      if ('waitUntil' in next) {
        this.armDelayTimer(next.waitUntil);
        break;
      }
      this.dispatch(next.batch);
    }
    if (this.queued === 0 && this.running === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  private armDelayTimer(at: number): void {
    if (this.delayTimerAt <= at && this.delayTimer !== undefined) return;
    if (this.delayTimer !== undefined) this.clock.clearTimer(this.delayTimer);
    this.delayTimerAt = at;
    this.delayTimer = this.clock.setTimer(at - this.clock.now(), () => {
      this.delayTimer = undefined;
      this.delayTimerAt = Infinity;
      this.pump();
    });
  }

  private dispatch(batch: Entry<I, O>[]): void {
    const now = this.clock.now();
    for (const entry of batch) this.remove(entry);
    this.running++;
    this.onBatch?.({
      size: batch.reduce((n, e) => n + e.request.batchSize, 0),
      requests: batch.length,
      waitedMs: batch.map((e) => now - e.enqueuedAt),
    });
    let execution: Promise<readonly O[]>;
    try {
      execution = this.execute(batch.map((e) => e.request.payload));
    } catch (error) {
      execution = Promise.reject(toBerthError(error));
    }
    // The instance is free before the batch's requests hear back, so that a caller who sends
    // its next request as soon as it has its answer finds the instance free, not busy.
    const settle = (settleEntries: () => void) => {
      this.running--;
      settleEntries();
      this.pump();
    };
    execution.then(
      (results) =>
        settle(() => {
          if (results.length !== batch.length) {
            const error = new BerthError(
              'BERTH_ERR_INTERNAL',
              `executor returned ${results.length} results for ${batch.length} requests`,
            );
            for (const entry of batch) entry.reject(error);
            return;
          }
          batch.forEach((entry, i) => {
            entry.resolve(results[i] as O);
          });
        }),
      (error: unknown) =>
        settle(() => {
          for (const entry of batch) entry.reject(error instanceof Error ? error : new Error(String(error)));
        }),
    );
  }
}

function cancelled(): BerthError {
  return new BerthError('BERTH_ERR_SCHEDULER_CANCELLED', 'request cancelled by the client before it ran');
}
