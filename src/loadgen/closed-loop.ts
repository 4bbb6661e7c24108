/**
 * The closed loop: `concurrency` clients, each sending its next request when the answer to the
 * last one has arrived, so that the offered load is exactly what the server sustains (as
 * perf_analyzer's concurrency mode and wrk do). A warm-up whose answers are dropped comes first;
 * then every answer that arrives within the measured window counts, and its latency is kept when
 * it succeeded. Requests still in flight when the window closes are awaited, not counted.
 */
import { LatencyRecorder, type LatencySummary } from './latency-stats.js';
import { FailureTally, type FailureCount, type SendResult } from './request-outcome.js';

/** Milliseconds from an arbitrary origin; tests pass a fake one. */
export interface Clock {
  now(): number;
}

export const PERFORMANCE_CLOCK: Clock = { now: () => performance.now() };

/** Counts a running level updates as answers arrive, for a progress line to read. */
export interface LiveCounts {
  ok: number;
  failed: number;
}

export interface ClosedLoopOptions {
  readonly concurrency: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** Sends one request for client `client` (0 to concurrency - 1) and resolves with its outcome. */
  readonly send: (client: number) => Promise<SendResult>;
  readonly clock?: Clock;
  readonly live?: LiveCounts;
}

export interface ClosedLoopResult {
  /** Answers that arrived in the measured window, good or not. */
  readonly requests: number;
  readonly ok: number;
  readonly errors: Readonly<Record<string, FailureCount>>;
  /** Latencies of the good answers in the window. */
  readonly latencyMs: LatencySummary;
  /** The measured window, in milliseconds. */
  readonly windowMs: number;
}

/**
 * Runs one level of load.
 *
 * @example
 * const result = await runClosedLoop({ concurrency: 4, warmupMs: 2000, durationMs: 10_000, send });
 * result.ok / (result.windowMs / 1000); // requests per second
 */
export async function runClosedLoop(options: ClosedLoopOptions): Promise<ClosedLoopResult> {
  const clock = options.clock ?? PERFORMANCE_CLOCK;
  const live = options.live ?? { ok: 0, failed: 0 };
  const latencies = new LatencyRecorder();
  const failures = new FailureTally();
  const start = clock.now();
  const measureFrom = start + options.warmupMs;
  const measureTo = measureFrom + options.durationMs;

  const client = async (index: number): Promise<void> => {
    for (let sent = clock.now(); sent < measureTo; sent = clock.now()) {
      const failure = await options.send(index);
      const answered = clock.now();
      if (answered < measureFrom || answered >= measureTo) continue;
      if (failure === undefined) {
        latencies.record(answered - sent);
        live.ok++;
      } else {
        failures.add(failure);
        live.failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, (_, i) => client(i)));
  return {
    requests: latencies.count + failures.total,
    ok: latencies.count,
    errors: failures.toJSON(),
    latencyMs: latencies.summary(),
    windowMs: options.durationMs,
  };
}
