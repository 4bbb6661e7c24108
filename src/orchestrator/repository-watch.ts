/**
 * `rollout.watch`: `berth up` looks at its models every interval and, when what they hold has
 * changed and then held still for one more look (so that a model still being copied is not
 * picked up half-written), snapshots them (repository-snapshot.ts) and starts a rollout of the
 * snapshot by the spec's strategy, as `berth rollout start` would. A change seen while a rollout
 * is in progress waits for it to end; only the latest state is rolled out.
 *
 * The decision is pure (`watchStep`), one step per look, and tested on its own; the loop around it
 * only reads the disk and calls the deployment.
 */
import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fingerprint, snapshot } from './repository-snapshot.js';

export interface WatchState {
  /** The fingerprint of what the last revision made from the sources holds. */
  readonly served: string;
  /** A different fingerprint seen at the last look, not yet rolled out. */
  readonly pending?: string;
}

/**
 * One look: what the sources hold now (`seen`), and whether a rollout is in progress.
 *
 * @example
 * watchStep({ served: 'a' }, 'b', false);                // { state: { served: 'a', pending: 'b' }, rollOut: false }
 * watchStep({ served: 'a', pending: 'b' }, 'b', false);  // { state: { served: 'b' }, rollOut: true }
 */
export function watchStep(
  state: WatchState,
  seen: string,
  busy: boolean,
): { readonly state: WatchState; readonly rollOut: boolean } {
  if (seen === state.served) return { state: { served: state.served }, rollOut: false };
  if (seen !== state.pending) return { state: { served: state.served, pending: seen }, rollOut: false };
  if (busy) return { state, rollOut: false };
  return { state: { served: seen }, rollOut: true };
}

/** What the watch needs of the deployment. */
export interface WatchedDeployment {
  /** Whether a rollout (canary, shadow or rolling) is in progress. */
  readonly rolloutBusy: boolean;
  startRollout(args: readonly string[]): unknown;
}

export interface RepositoryWatchOptions {
  /** The `.onnx` files and repository folders `berth up` was given. */
  readonly sources: readonly string[];
  readonly intervalMs: number;
  /** Where the revisions' snapshots go, one folder each. */
  readonly snapshotRoot: string;
  /** The fingerprint of revision 1 (what `berth up` started with). */
  readonly served: string;
  readonly deployment: WatchedDeployment;
  readonly onEvent?: (message: string, fields: Record<string, unknown>) => void;
  /** A look that failed (the sources unreadable, the snapshot not written, no rollout started). */
  readonly onError?: (error: Error) => void;
}

/**
 * Revision 1's snapshot and fingerprint, taken before `berth up` starts its replicas.
 *
 * @example
 * const first = await firstSnapshot(['/models'], root); // { args: [root + '/1/0/models'], served: '…' }
 */
export async function firstSnapshot(
  sources: readonly string[],
  snapshotRoot: string,
): Promise<{ args: string[]; served: string }> {
  const served = await fingerprint(sources);
  return { args: await snapshot(sources, join(snapshotRoot, '1')), served };
}

/**
 * @example
 * const watch = new RepositoryWatch({ sources, intervalMs: 10_000, snapshotRoot, served, deployment });
 * watch.start(); // ... watch.stop() on shutdown
 */
export class RepositoryWatch {
  private state: WatchState;
  private timer: NodeJS.Timeout | undefined;
  private looking = false;
  private snapshots = 1;

  constructor(private readonly options: RepositoryWatchOptions) {
    this.state = { served: options.served };
  }

  start(): void {
    this.timer = setInterval(() => void this.look(), this.options.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One look at the sources (the timer's; exposed for tests). */
  async look(): Promise<void> {
    if (this.looking) return;
    this.looking = true;
    try {
      const { deployment, sources } = this.options;
      const seen = await fingerprint(sources);
      const step = watchStep(this.state, seen, deployment.rolloutBusy);
      if (step.rollOut) {
        const into = join(this.options.snapshotRoot, String(++this.snapshots));
        const args = await snapshot(sources, into);
        // The sources may have changed while they were copied: the next look compares with
        // what was seen before the copy, and rolls out again if so.
        deployment.startRollout(args);
        this.options.onEvent?.('the models changed: rolling them out', { snapshot: into });
      }
      this.state = step.state;
    } catch (error) {
      this.options.onError?.(error instanceof Error ? error : new Error(String(error)));
    } finally {
      this.looking = false;
    }
  }
}

/** A watch being set up for `berth up`: revision 1's snapshot first, the loop once the deployment runs. */
export interface WatchSetup {
  /** What the replicas of revision 1 serve: the snapshot, in place of the sources. */
  readonly args: readonly string[];
  /** Starts looking, once the deployment runs. */
  begin(deployment: WatchedDeployment, hooks: Pick<RepositoryWatchOptions, 'onEvent' | 'onError'>): void;
  /** Stops looking and removes every snapshot (after the replicas stopped). */
  close(): void;
}

/**
 * Snapshots `sources` as revision 1 in a private folder, for `berth up` to serve instead of them.
 *
 * @example
 * const watch = await prepareWatch(['/models'], 10_000);
 * const deployment = await LocalDeployment.start({ serveArgs: watch.args, ... });
 * watch.begin(deployment, { onEvent: (message) => console.log(message) });
 */
export async function prepareWatch(sources: readonly string[], intervalMs: number): Promise<WatchSetup> {
  const root = await mkdtemp(join(tmpdir(), 'berth-up-revisions-'));
  let first: { args: string[]; served: string };
  try {
    first = await firstSnapshot(sources, root);
  } catch (error) {
    rmSync(root, { recursive: true, force: true });
    throw error;
  }
  let watch: RepositoryWatch | undefined;
  return {
    args: first.args,
    begin: (deployment, hooks) => {
      watch = new RepositoryWatch({
        sources,
        intervalMs,
        snapshotRoot: root,
        served: first.served,
        deployment,
        ...hooks,
      });
      watch.start();
    },
    close: () => {
      watch?.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
