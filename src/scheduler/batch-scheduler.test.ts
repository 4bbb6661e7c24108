import { describe, expect, it } from 'vitest';
import { DEFAULT_BATCH_POLICY, type BatchPolicy } from './batch-policy.js';
import { BatchScheduler, type BatchStats, type ScheduledRequest } from './batch-scheduler.js';
import { ManualClock } from './clock.js';

interface Harness {
  clock: ManualClock;
  scheduler: BatchScheduler<string, string>;
  /** Payloads of every batch started, in order. */
  batches: string[][];
  stats: BatchStats[];
  /** Finishes the oldest running batch. */
  finish(): Promise<void>;
  fail(error: Error): Promise<void>;
}

function harness(policy: Partial<BatchPolicy>): Harness {
  const clock = new ManualClock();
  const batches: string[][] = [];
  const stats: BatchStats[] = [];
  const running: {
    payloads: readonly string[];
    resolve: (r: string[]) => void;
    reject: (e: Error) => void;
  }[] = [];
  const scheduler = new BatchScheduler<string, string>(
    { ...DEFAULT_BATCH_POLICY, ...policy },
    (payloads) => {
      batches.push([...payloads]);
      return new Promise((resolve, reject) => running.push({ payloads, resolve, reject }));
    },
    clock,
    (s) => stats.push(s),
  );
  const settle = async () => {
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };
  return {
    clock,
    scheduler,
    batches,
    stats,
    finish: async () => {
      const next = running.shift();
      next?.resolve(next.payloads.map((p) => `done:${p}`));
      await settle();
    },
    fail: async (error) => {
      running.shift()?.reject(error);
      await settle();
    },
  };
}

const req = (payload: string, extra: Partial<ScheduledRequest<string>> = {}): ScheduledRequest<string> => ({
  payload,
  batchSize: 1,
  key: 'k',
  ...extra,
});

describe('BatchScheduler', () => {
  it('runs each request alone, in order, when the model does not batch', async () => {
    const h = harness({ maxBatchSize: 0 });
    const results = [h.scheduler.submit(req('a')), h.scheduler.submit(req('b'))];
    expect(h.batches).toEqual([['a']]);
    await h.finish();
    expect(h.batches).toEqual([['a'], ['b']]);
    await h.finish();
    expect(await Promise.all(results)).toEqual(['done:a', 'done:b']);
  });

  it('forms a batch when it is full, without waiting for the delay', () => {
    const h = harness({ maxBatchSize: 3, maxQueueDelayMs: 100 });
    for (const p of ['a', 'b', 'c']) void h.scheduler.submit(req(p));
    expect(h.batches).toEqual([['a', 'b', 'c']]);
  });

  it('waits up to maxQueueDelayMs (fractional) for more requests, then sends what it has', () => {
    const h = harness({ maxBatchSize: 8, maxQueueDelayMs: 2.5 });
    void h.scheduler.submit(req('a'));
    h.clock.advance(1);
    void h.scheduler.submit(req('b'));
    h.clock.advance(1.49);
    expect(h.batches).toEqual([]);
    h.clock.advance(0.01);
    expect(h.batches).toEqual([['a', 'b']]);
    expect(h.stats[0]).toEqual({ size: 2, requests: 2, waitedMs: [2.5, 1.5] });
  });

  it('dispatches at the largest preferred size at once, and at a preferred size when the delay ends', () => {
    const h = harness({ maxBatchSize: 16, maxQueueDelayMs: 10, preferredBatchSizes: [2, 4], instances: 2 });
    for (const p of ['a', 'b', 'c']) void h.scheduler.submit(req(p));
    expect(h.batches).toEqual([]);
    void h.scheduler.submit(req('d'));
    expect(h.batches).toEqual([['a', 'b', 'c', 'd']]);
    for (const p of ['e', 'f', 'g']) void h.scheduler.submit(req(p));
    h.clock.advance(10);
    // 3 queued: the largest preferred size that can be formed is 2; the third waits again.
    expect(h.batches).toEqual([
      ['a', 'b', 'c', 'd'],
      ['e', 'f'],
    ]);
  });

  it('merges requests that carry batches, and never exceeds maxBatchSize', () => {
    const h = harness({ maxBatchSize: 8, maxQueueDelayMs: 0, instances: 1 });
    void h.scheduler.submit(req('x'));
    void h.scheduler.submit(req('a', { batchSize: 3 }));
    void h.scheduler.submit(req('b', { batchSize: 4 }));
    void h.scheduler.submit(req('c', { batchSize: 2 }));
    // x runs at once (delay 0); then a+b (7) — c would make 9.
    expect(h.batches).toEqual([['x']]);
    return h.finish().then(() => {
      expect(h.batches[1]).toEqual(['a', 'b']);
      expect(h.stats[1]?.size).toBe(7);
    });
  });

  it('never merges requests whose non-batch shapes differ', () => {
    const h = harness({ maxBatchSize: 8, maxQueueDelayMs: 5, instances: 2 });
    void h.scheduler.submit(req('a', { key: '[4]' }));
    void h.scheduler.submit(req('b', { key: '[5]' }));
    void h.scheduler.submit(req('c', { key: '[4]' }));
    h.clock.advance(5);
    expect(h.batches).toEqual([['a', 'c'], ['b']]);
  });

  it('refuses at once when the queue is full', async () => {
    const h = harness({ maxBatchSize: 0, maxQueueSize: 2 });
    void h.scheduler.submit(req('running'));
    void h.scheduler.submit(req('q1'));
    void h.scheduler.submit(req('q2'));
    await expect(h.scheduler.submit(req('q3'))).rejects.toMatchObject({
      code: 'BERTH_ERR_SCHEDULER_QUEUE_FULL',
    });
    expect(h.scheduler.queueLength).toBe(2);
  });

  it('times out requests still queued past their timeout, and not running ones', async () => {
    const h = harness({ maxBatchSize: 0, defaultTimeoutMs: 50 });
    const running = h.scheduler.submit(req('a'));
    const queued = h.scheduler.submit(req('b'));
    const own = h.scheduler.submit(req('c', { timeoutMs: 200 }));
    h.clock.advance(50);
    await expect(queued).rejects.toMatchObject({ code: 'BERTH_ERR_SCHEDULER_TIMEOUT' });
    await h.finish();
    await expect(running).resolves.toBe('done:a');
    expect(h.batches.at(-1)).toEqual(['c']);
    await h.finish();
    await expect(own).resolves.toBe('done:c');
  });

  it('drops a queued request whose client went away, without running it', async () => {
    const h = harness({ maxBatchSize: 0 });
    void h.scheduler.submit(req('a'));
    const controller = new AbortController();
    const gone = h.scheduler.submit(req('b', { signal: controller.signal }));
    controller.abort();
    await expect(gone).rejects.toMatchObject({ code: 'BERTH_ERR_SCHEDULER_CANCELLED' });
    await h.finish();
    expect(h.batches).toEqual([['a']]);
    const already = new AbortController();
    already.abort();
    await expect(h.scheduler.submit(req('c', { signal: already.signal }))).rejects.toMatchObject({
      code: 'BERTH_ERR_SCHEDULER_CANCELLED',
    });
  });

  it('serves higher priority first, FIFO within a level, default level for 0', async () => {
    const h = harness({ maxBatchSize: 0, priorityLevels: 3, defaultPriority: 2 });
    void h.scheduler.submit(req('first'));
    for (const [p, priority] of [
      ['low', 3],
      ['mid', 0],
      ['high', 1],
      ['high2', 1],
      ['mid2', 2],
    ] as const) {
      void h.scheduler.submit(req(p, { priority }));
    }
    for (let i = 0; i < 5; i++) await h.finish();
    expect(h.batches.flat()).toEqual(['first', 'high', 'high2', 'mid', 'mid2', 'low']);
    expect(() => h.scheduler.submit(req('x', { priority: 4 }))).toThrow(
      /priority must be an integer from 0 to 3/,
    );
  });

  it('runs up to `instances` batches at once', async () => {
    const h = harness({ maxBatchSize: 0, instances: 2 });
    for (const p of ['a', 'b', 'c']) void h.scheduler.submit(req(p));
    expect(h.batches).toEqual([['a'], ['b']]);
    expect(h.scheduler.runningBatches).toBe(2);
    await h.finish();
    expect(h.batches).toEqual([['a'], ['b'], ['c']]);
  });

  it('rejects every request of a failed batch, then carries on', async () => {
    const h = harness({ maxBatchSize: 4, maxQueueDelayMs: 0 });
    const a = h.scheduler.submit(req('a'));
    await h.fail(new Error('boom'));
    await expect(a).rejects.toThrow('boom');
    const b = h.scheduler.submit(req('b'));
    await h.finish();
    await expect(b).resolves.toBe('done:b');
    await expect(h.scheduler.idle()).resolves.toBeUndefined();
    expect(h.clock.pendingTimers()).toBe(0);
  });
});
