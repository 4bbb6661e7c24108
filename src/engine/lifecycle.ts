/**
 * The one lifecycle of a serving process, starting → ready → draining → stopped, that readiness,
 * liveness, the drain refusal and shutdown all read.
 *
 * - Live: true until stopped. A draining process is finishing its work; a liveness probe that
 *   failed then would have it killed before it drained.
 * - Ready: while starting, the models decide (every model ready when readiness is strict, as
 *   Triton's; any one otherwise); once ready, the process stays ready until it drains, so a model
 *   that breaks later cannot take every replica out of its load balancer (docs/adr/0004).
 * - Draining and stopped: new calls are refused with BERTH_ERR_SERVER_SHUTTING_DOWN (503, so a
 *   client or gateway retries elsewhere); calls already taken finish.
 */
import { BerthError } from '../ground/index.js';

export const LIFECYCLE_STATES = ['starting', 'ready', 'draining', 'stopped'] as const;
export type LifecycleState = (typeof LIFECYCLE_STATES)[number];

export interface LifecycleOptions {
  /** Whether the models make the process ready: true when every one is (strict) or any one is. */
  readonly modelsReady: () => boolean;
}

export class Lifecycle {
  private current: LifecycleState = 'starting';
  private readonly listeners: ((state: LifecycleState) => void)[] = [];

  constructor(private readonly options: LifecycleOptions) {}

  /** The state now; a starting process whose models have become ready is ready. */
  get state(): LifecycleState {
    this.refresh();
    return this.current;
  }

  get live(): boolean {
    return this.current !== 'stopped';
  }

  get ready(): boolean {
    return this.state === 'ready';
  }

  get draining(): boolean {
    return this.current === 'draining' || this.current === 'stopped';
  }

  /** Called when a model changes state: a starting process may now be ready. */
  refresh(): void {
    if (this.current === 'starting' && this.options.modelsReady()) this.move('ready');
  }

  /** Stops taking calls; those already taken finish. */
  drain(): void {
    if (this.current === 'starting' || this.current === 'ready') this.move('draining');
  }

  stop(): void {
    this.drain();
    if (this.current === 'draining') this.move('stopped');
  }

  /** The drain refusal once the process no longer takes calls; undefined while it does. */
  refusal(): BerthError | undefined {
    if (!this.draining) return undefined;
    return new BerthError(
      'BERTH_ERR_SERVER_SHUTTING_DOWN',
      'server is shutting down; retry on another replica',
    );
  }

  /** Throws the drain refusal once the process no longer takes calls. */
  admit(): void {
    const refusal = this.refusal();
    if (refusal !== undefined) throw refusal;
  }

  /** Called on every change of state, with the new one. */
  onChange(listener: (state: LifecycleState) => void): void {
    this.listeners.push(listener);
  }

  private move(state: LifecycleState): void {
    this.current = state;
    for (const listener of this.listeners) listener(state);
  }
}
