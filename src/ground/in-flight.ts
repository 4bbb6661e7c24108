/**
 * Counts the calls in flight, so that a drain knows when every accepted call has its answer:
 * the server's gRPC endpoint and the gateway's gRPC front both wait on one. Pure.
 */

/**
 * @example
 * const calls = new InFlightCount();
 * const end = calls.begin(); // ... end() once answered (a second end() is ignored)
 * await calls.idle();
 */
export class InFlightCount {
  private active = 0;
  private waiters: (() => void)[] = [];

  /** One call begins; the function returned ends it, once. */
  begin(): () => void {
    this.active++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.active--;
      if (this.active === 0) for (const wake of this.waiters.splice(0)) wake();
    };
  }

  /** Resolves when no call is in flight (at once if none is). */
  idle(): Promise<void> {
    return this.active === 0 ? Promise.resolve() : new Promise((resolve) => this.waiters.push(resolve));
  }
}
