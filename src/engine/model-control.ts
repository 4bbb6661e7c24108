/**
 * Model control, as Triton's `--model-control-mode`:
 * - `none`: every model in the catalog loads at start; the repository API cannot load or unload.
 * - `explicit`: only the models named at start (`--load-model`, `*` for all) load; the
 *   repository API loads, reloads and unloads.
 * - `poll`: every model loads at start, and the repository is re-read every poll interval: a new
 *   model folder loads, a removed one unloads, and a model whose files changed (a version added or
 *   removed, a new config) reloads. A change is acted on once it has stayed the same for a whole
 *   interval, so a model still being copied in is not loaded half-written.
 * Loads and reloads never interrupt serving (model-registry.ts).
 */
import { BerthError, toBerthError, type ModelIndexEntry } from '../ground/index.js';
import type { Logger } from '../observability/index.js';
import type { ModelCatalog, ModelConfig } from '../repository/index.js';
import type { LoadFailure, ModelRegistry } from '../runtime/index.js';

export const MODEL_CONTROL_MODES = ['none', 'explicit', 'poll'] as const;
export type ModelControlMode = (typeof MODEL_CONTROL_MODES)[number];

export interface ModelControlOptions {
  readonly mode: ModelControlMode;
  /** explicit mode: the models to load at start; `*` loads all. */
  readonly startupModels: readonly string[];
  /** poll mode: time between two reads of the repository. */
  readonly pollIntervalMs: number;
  readonly catalog: ModelCatalog;
  readonly registry: ModelRegistry;
  readonly logger: Logger;
}

export class ModelControl {
  /** Fingerprints of the models as last loaded (poll mode). */
  private readonly loaded = new Map<string, string>();
  /** Fingerprints seen at the last poll, for changes not yet stable. */
  private readonly seen = new Map<string, string | undefined>();
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly options: ModelControlOptions) {}

  get mode(): ModelControlMode {
    return this.options.mode;
  }

  /**
   * Loads the models the mode starts with, then (poll) starts watching. `onLoading` is called once
   * the repository has been read and the loads have begun (in their worker threads). Resolves
   * with the models given at start that did not load (a `--load-model` not in the repository
   * among them), so that the caller can stop, as Triton's `--exit-on-error` does.
   */
  async start(onLoading?: () => void): Promise<LoadFailure[]> {
    const { catalog, registry, mode } = this.options;
    const all = await catalog.names();
    let names = all;
    const failures: LoadFailure[] = [];
    if (mode === 'explicit') {
      const wanted = this.options.startupModels;
      names = wanted.includes('*') ? all : wanted.filter((n) => all.includes(n));
      for (const missing of wanted.filter((n) => n !== '*' && !all.includes(n))) {
        const error = new BerthError(
          'BERTH_ERR_REPOSITORY_NOT_FOUND',
          `--load-model ${missing}: no such model in the repository (it has ${all.map((n) => `"${n}"`).join(', ') || 'none'})`,
        );
        this.options.logger.warn({ model: missing, code: error.code }, error.message);
        failures.push({ name: missing, error });
      }
    }
    const descriptors = [];
    for (const name of names) {
      if (mode === 'poll') this.loaded.set(name, (await catalog.fingerprint(name)) ?? '');
      const descriptor = await catalog.describe(name);
      if (descriptor !== undefined) descriptors.push(descriptor);
    }
    const loading = registry.loadAll(descriptors);
    onLoading?.();
    failures.push(...(await loading));
    if (mode === 'poll' && !this.stopped) this.schedule();
    return failures;
  }

  private refuseUnlessExplicit(action: string): void {
    if (this.options.mode !== 'explicit') {
      throw new BerthError(
        'BERTH_ERR_REPOSITORY_CONTROL_DISABLED',
        `cannot ${action}: the server runs with --model-control-mode ${this.options.mode}; models are ${this.options.mode === 'poll' ? 'loaded from the repository as it changes' : 'loaded once at start'} (use --model-control-mode explicit to control them through the API)`,
      );
    }
  }

  /**
   * Loads or reloads a model from the repository (explicit mode), optionally with a config that
   * replaces its config file. Resolves once it serves; rejects with the reason when it cannot.
   */
  async load(name: string, override?: ModelConfig): Promise<void> {
    this.refuseUnlessExplicit(`load model "${name}"`);
    const descriptor = await this.options.catalog.describe(name, override);
    if (descriptor === undefined) {
      throw new BerthError('BERTH_ERR_REPOSITORY_NOT_FOUND', `no model "${name}" in the model repository`);
    }
    await this.options.registry.load(descriptor);
  }

  /** Unloads a model (explicit mode) once its accepted requests have finished. */
  async unload(name: string): Promise<void> {
    this.refuseUnlessExplicit(`unload model "${name}"`);
    await this.options.registry.unload(name);
  }

  /**
   * The repository index: every version the registry holds, and (as Triton lists them) the
   * repository's models that are not loaded, as UNAVAILABLE with reason "not loaded".
   */
  async index(readyOnly: boolean): Promise<ModelIndexEntry[]> {
    const { registry, catalog } = this.options;
    const entries = registry.index();
    if (!readyOnly) {
      for (const name of await catalog.names().catch(() => [] as string[])) {
        if (!registry.has(name))
          entries.push({ name, version: '', state: 'UNAVAILABLE', reason: 'not loaded' });
      }
      entries.sort((a, b) => a.name.localeCompare(b.name) || Number(a.version) - Number(b.version));
    }
    return readyOnly ? entries.filter((e) => e.state === 'READY') : entries;
  }

  private schedule(): void {
    this.timer = setTimeout(() => {
      this.polling = this.poll()
        .catch((error: unknown) => this.options.logger.error({ err: error }, 'repository poll failed'))
        .finally(() => {
          this.polling = undefined;
          if (!this.stopped) this.schedule();
        });
    }, this.options.pollIntervalMs);
    this.timer.unref();
  }

  /** One read of the repository: acts on changes that have been stable since the last one. */
  async poll(): Promise<void> {
    const { catalog, registry, logger } = this.options;
    const names = new Set(await catalog.names());
    for (const name of [...this.loaded.keys()]) {
      if (names.has(name) || this.stopped) continue;
      this.loaded.delete(name);
      this.seen.delete(name);
      logger.info({ model: name }, 'model removed from the repository: unloading');
      await registry
        .unload(name)
        .catch((error: unknown) => logger.error({ err: error, model: name }, 'unload failed'));
    }
    for (const name of names) {
      if (this.stopped) return;
      const now = await catalog.fingerprint(name);
      const before = this.seen.get(name);
      this.seen.set(name, now);
      if (now === undefined || now === this.loaded.get(name)) continue;
      // Changed since it was loaded; act only once it reads the same twice in a row.
      if (before !== now) continue;
      this.loaded.set(name, now);
      const descriptor = await catalog.describe(name);
      if (descriptor === undefined) continue;
      logger.info(
        { model: name },
        registry.has(name)
          ? 'model changed in the repository: reloading'
          : 'new model in the repository: loading',
      );
      // The registry has logged why; a model that fails after start never stops the server.
      await registry.load(descriptor).catch((error: unknown) => {
        const berth = toBerthError(error);
        logger.warn({ model: name, code: berth.code }, `model "${name}" did not load: ${berth.message}`);
      });
    }
  }

  /** Stops polling; waits for a poll in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    await this.polling;
  }
}
