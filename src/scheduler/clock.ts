/** Time as the scheduler sees it; injected so that tests run on a fake clock without sleeping. */
export interface Clock {
  /** Milliseconds, fractional (microsecond resolution where the host has it). */
  now(): number;
  setTimer(delayMs: number, callback: () => void): unknown;
  clearTimer(timer: unknown): void;
}

/** The real clock: performance.now() and setTimeout. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimer: (delayMs, callback) => setTimeout(callback, Math.max(0, delayMs)),
  clearTimer: (timer) => {
    clearTimeout(timer as ReturnType<typeof setTimeout>);
  },
};

/**
 * A clock that moves only when told to, for deterministic tests.
 *
 * @example
 * const clock = new ManualClock();
 * clock.setTimer(5, () => console.log('fired'));
 * clock.advance(5); // fired
 */
export class ManualClock implements Clock {
  private time = 0;
  private nextId = 1;
  private readonly timers = new Map<number, { at: number; callback: () => void }>();

  now(): number {
    return this.time;
  }

  setTimer(delayMs: number, callback: () => void): unknown {
    const id = this.nextId++;
    this.timers.set(id, { at: this.time + Math.max(0, delayMs), callback });
    return id;
  }

  clearTimer(timer: unknown): void {
    this.timers.delete(timer as number);
  }

  /** Moves time forward, firing due timers in time order. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      let next: [number, { at: number; callback: () => void }] | undefined;
      for (const entry of this.timers)
        if (entry[1].at <= end && (next === undefined || entry[1].at < next[1].at)) next = entry;
      if (next === undefined) break;
      this.timers.delete(next[0]);
      this.time = next[1].at;
      next[1].callback();
    }
    this.time = end;
  }

  pendingTimers(): number {
    return this.timers.size;
  }
}
