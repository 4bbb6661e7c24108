/**
 * The models a server holds, per version, with Triton's states (LOADING, READY, UNLOADING,
 * UNAVAILABLE) and the reason when one is not ready. Requests resolve here: an unknown model or
 * version is NOT_FOUND, a known one that is not ready is UNAVAILABLE.
 *
 * Models are loaded, reloaded and unloaded while requests flow, without failing any: a new version
 * (or a version under a changed config) is loaded and warmed up beside the old one and only then
 * takes traffic; a version that leaves is first taken out of resolution, then finishes every
 * request already given to it (running and queued: see acquire/release), and only then is freed.
 */
import {
  BerthError,
  toBerthError,
  type ModelIndexEntry,
  type ModelMetadata,
  type ModelSignature,
  type ModelState,
} from '../ground/index.js';
import type { ModelConfig, ModelDescriptor, ModelVersionSource } from '../repository/index.js';
import { ModelStats, type Logger, type ModelStatsJson } from '../observability/index.js';
import { availableParallelism, totalmem } from 'node:os';
import type { Backend, LoadedModel, LoadOptions, Placement } from './backend.js';
import { effectiveSignature, reshapePlanOf, type ReshapePlan } from './model-signature.js';
import { artifactBytes } from './artifact-bytes.js';
import { mayRunInline } from './placement.js';
import { defaultTuning } from './tuning.js';
import { warmUp, type WarmUpOptions } from './warmup.js';

export interface ModelVersion {
  readonly name: string;
  readonly version: number;
  readonly config: ModelConfig;
  state: ModelState;
  reason: string;
  signature?: ModelSignature;
  /** Tensors relabelled between clients and the model (config `reshape`); absent when none. */
  reshape?: ReshapePlan;
  platform?: string;
  /** Every instance (config `instances`), each able to run one batch at a time. */
  instances?: readonly LoadedModel[];
  /** Requests acquired and not yet released: queued or running. */
  inflight: number;
  /** Triton statistics of this version since it loaded. */
  readonly stats: ModelStats;
  /** Called when inflight drops to 0 while the version is being retired. */
  onIdle?: () => void;
  /** Why the version's last load failed, with its code (absent once it loads). */
  failure?: BerthError;
}

/** A model that did not load, with the error its load was rejected with. */
export interface LoadFailure {
  readonly name: string;
  readonly error: BerthError;
}

/** A model version that is ready to run. */
export type ReadyModel = ModelVersion & {
  readonly instances: readonly LoadedModel[];
  readonly signature: ModelSignature;
  readonly platform: string;
};

/**
 * Reasons reach clients (503 messages, the repository index), so the server's own folder layout
 * is cut from them; the log keeps the full message.
 */
function publicReason(descriptor: ModelDescriptor, reason: string): string {
  const location = descriptor.location;
  if (location === undefined || location === '/' || location === '') return reason;
  return reason.split(`${location}/`).join('').split(location).join('.');
}

function descriptorReason(descriptor: ModelDescriptor): string | undefined {
  return descriptor.error === undefined ? undefined : publicReason(descriptor, descriptor.error.message);
}

interface ModelEntry {
  readonly descriptor: ModelDescriptor;
  /** The versions requests resolve to, highest first. */
  readonly versions: ModelVersion[];
  /** Versions of a reload still loading beside `versions` (shown in the index, not served). */
  next?: ModelVersion[];
  /** Unloaded by request: listed, but not counted against readiness. */
  unloaded?: boolean;
}

export interface ModelRegistryOptions {
  readonly backends: readonly Backend[];
  /** Thread settings for models whose config.yaml does not set them. */
  readonly load: LoadOptions;
  readonly logger: Logger;
  /** Told whenever a version changes state (metrics). */
  readonly onStateChange?: (version: ModelVersion) => void;
}

export class ModelRegistry {
  private readonly models = new Map<string, ModelEntry>();
  /** The last load or unload of each model: the next one waits for it. */
  private readonly busy = new Map<string, Promise<unknown>>();
  /** Old versions finishing their requests after a reload. */
  private readonly retiring = new Set<Promise<void>>();
  /** Instances being added to serving versions (join). */
  private readonly joining = new Set<Promise<void>>();
  private loading = 0;
  private loadedOnce = false;

  constructor(private readonly options: ModelRegistryOptions) {}

  /**
   * Loads every model; one model failing leaves it UNAVAILABLE with its reason, not the others.
   * Resolves with the models that did not load (the caller decides whether that ends the server).
   */
  async loadAll(descriptors: readonly ModelDescriptor[]): Promise<LoadFailure[]> {
    this.loading++;
    try {
      const results = await Promise.all(
        descriptors.map((d) =>
          this.load(d).then(
            () => undefined,
            (error: unknown): LoadFailure => ({ name: d.name, error: toBerthError(error) }),
          ),
        ),
      );
      return results.filter((r): r is LoadFailure => r !== undefined);
    } finally {
      this.loading--;
      this.loadedOnce = true;
    }
  }

  /** Runs `task` after every earlier load or unload of the same model has finished. */
  private serial<T>(name: string, task: () => Promise<T>): Promise<T> {
    const previous = this.busy.get(name) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(task);
    this.busy.set(name, next);
    void next
      .catch(() => undefined)
      .then(() => {
        if (this.busy.get(name) === next) this.busy.delete(name);
      });
    return next;
  }

  /**
   * Loads a model, or reloads it when it is already here. Its old versions keep serving until the
   * new ones are ready (a new version that fails to load leaves the old one of the same number
   * serving); old versions that are not kept finish their requests and are then freed.
   *
   * @throws BerthError when the model's folder is broken or no version of it could load (the
   * model keeps whatever it served before).
   */
  load(descriptor: ModelDescriptor): Promise<void> {
    return this.serial(descriptor.name, () => this.loadNow(descriptor));
  }

  private async loadNow(descriptor: ModelDescriptor): Promise<void> {
    const old = this.models.get(descriptor.name);
    const served = old?.unloaded === true ? undefined : old;
    const fresh: ModelVersion[] = descriptor.versions.map((source) => ({
      name: descriptor.name,
      version: source.version,
      config: descriptor.config,
      state: 'LOADING',
      reason: '',
      inflight: 0,
      stats: new ModelStats(),
    }));
    for (const note of descriptor.notes ?? []) this.options.logger.warn({ model: descriptor.name }, note);
    if (descriptor.error !== undefined) {
      // A broken folder or config is the user's to fix: a warning with its reason, no stack.
      this.options.logger.warn(
        { model: descriptor.name, code: descriptor.error.code },
        `model "${descriptor.name}" cannot load: ${descriptor.error.message}`,
      );
      // A broken folder never replaces a model that serves; it only shows when nothing does.
      if (served === undefined || !served.versions.some((v) => v.state === 'READY')) {
        this.replace(descriptor, [], old);
      }
      throw new BerthError(descriptor.error.code, publicReason(descriptor, descriptor.error.message), {
        cause: descriptor.error,
      });
    }
    if (served === undefined) this.models.set(descriptor.name, { descriptor, versions: fresh });
    else served.next = fresh;
    await Promise.all(descriptor.versions.map((source, i) => this.loadVersion(descriptor, source, fresh[i])));
    // Per version number: the new one when it loaded, else the old one if it still serves.
    const kept = fresh.map((v) => {
      if (v.state === 'READY') return v;
      const previous = served?.versions.find((o) => o.version === v.version && o.state === 'READY');
      return previous ?? v;
    });
    this.replace(descriptor, kept, old);
    const failed = fresh.filter((v) => v.state !== 'READY');
    if (failed.length > 0) {
      const reasons = [...new Set(failed.map((v) => `version ${v.version}: ${v.reason}`))].join('; ');
      const serving = kept.some((v) => v.state === 'READY')
        ? ' (the versions already loaded keep serving)'
        : '';
      // The versions' own code when they agree (a file that is not ONNX stays INVALID_ARGUMENT).
      const codes = new Set(failed.map((v) => v.failure?.code ?? 'BERTH_ERR_RUNTIME_LOAD_FAILED'));
      const [code] = codes;
      throw new BerthError(
        codes.size === 1 && code !== undefined ? code : 'BERTH_ERR_RUNTIME_LOAD_FAILED',
        `model "${descriptor.name}" failed to load: ${reasons}${serving}`,
        { cause: failed[0]?.failure },
      );
    }
  }

  /**
   * Makes `versions` the model's served set. Old versions not among them are retired in the
   * background: the load is done once the new set serves, while the old one finishes its requests.
   */
  private replace(descriptor: ModelDescriptor, versions: ModelVersion[], old: ModelEntry | undefined): void {
    this.models.set(descriptor.name, { descriptor, versions });
    for (const version of (old?.versions ?? []).filter((v) => !versions.includes(v))) {
      const retiring = this.retire(version, 'unloaded').catch((error: unknown) =>
        this.options.logger.error(
          { err: error, model: version.name, version: version.version },
          'unload failed',
        ),
      );
      this.retiring.add(retiring);
      void retiring.finally(() => this.retiring.delete(retiring));
    }
  }

  /**
   * Unloads every version of a model: new requests are refused at once (UNAVAILABLE), requests
   * already accepted finish, then the runtime sessions are freed. The model stays in the index as
   * UNAVAILABLE with reason "unloaded".
   */
  async unload(name: string): Promise<void> {
    this.entry(name);
    await this.serial(name, async () => {
      const entry = this.entry(name);
      entry.unloaded = true;
      await Promise.all(entry.versions.map((v) => this.retire(v, 'unloaded')));
    });
  }

  /**
   * Loads and warms up `count` more instances of a serving version, adding each to it as it is
   * ready; one that arrives after the version stopped serving is freed instead. A failure leaves
   * the version with the instances it has.
   */
  private async join(
    version: ModelVersion,
    instances: LoadedModel[],
    count: number,
    load: () => Promise<LoadedModel>,
    warm: Omit<WarmUpOptions, 'instances'>,
  ): Promise<void> {
    await Promise.all(
      Array.from({ length: count }, async () => {
        let instance: LoadedModel;
        try {
          instance = await load();
          await warmUp({ ...warm, instances: [instance] });
        } catch (error) {
          warm.logger.warn(
            { code: toBerthError(error).code },
            `an added instance did not load: ${toBerthError(error).message}; serving with ${instances.length}`,
          );
          return;
        }
        if (version.state === 'READY' && version.instances === instances) instances.push(instance);
        else await instance.dispose();
      }),
    );
    warm.logger.debug({ instances: instances.length }, 'model version instances loaded');
  }

  /** Takes a version out of service, waits for its requests, and frees its sessions. */
  private async retire(version: ModelVersion, reason: string): Promise<void> {
    const instances = version.instances;
    if (instances === undefined) {
      if (version.state !== 'UNAVAILABLE' || version.reason === '')
        this.changeState(version, 'UNAVAILABLE', reason);
      return;
    }
    this.changeState(version, 'UNLOADING', '');
    if (version.inflight > 0) await new Promise<void>((resolve) => (version.onIdle = resolve));
    delete version.onIdle;
    delete version.instances;
    await Promise.all(instances.map((i) => i.dispose()));
    this.changeState(version, 'UNAVAILABLE', reason);
    this.options.logger.info({ model: version.name, version: version.version }, 'model version unloaded');
  }

  private async loadVersion(
    descriptor: ModelDescriptor,
    source: ModelVersionSource,
    version: ModelVersion | undefined,
  ): Promise<void> {
    if (version === undefined) return;
    const { config } = descriptor;
    const log = this.options.logger.child({ model: descriptor.name, version: source.version });
    const started = performance.now();
    this.changeState(version, 'LOADING', '');
    try {
      const backend = this.options.backends.find((b) => b.platform === config.platform);
      if (backend === undefined) {
        throw new BerthError(
          'BERTH_ERR_RUNTIME_LOAD_FAILED',
          `no backend serves platform "${config.platform}"`,
        );
      }
      const modelBytes = artifactBytes(source.artifact);
      const tuning = defaultTuning({
        cores: availableParallelism(),
        totalMemoryBytes: totalmem(),
        modelBytes,
        execution: config.execution,
        instances: config.instances,
        intraOpThreads: config.threads?.intraOp,
        serverIntraOpThreads: this.options.load.intraOpThreads,
      });
      const load = (placement: Placement) =>
        backend.load(source.artifact, {
          intraOpThreads: tuning.intraOpThreads,
          interOpThreads: config.threads?.interOp ?? this.options.load.interOpThreads,
          spinning: config.threads?.spinning ?? this.options.load.spinning,
          execution: config.execution,
          placement,
          maxBatchSize: config.maxBatchSize,
        });
      const several = (count: number) =>
        Promise.allSettled(Array.from({ length: count }, () => load('worker')));
      let results: PromiseSettledResult<LoadedModel>[];
      // Instances the machine's default adds (config.instances absent) join once the version
      // serves: the first one alone decides how fast the version is ready.
      let joining = 0;
      if (
        (config.instances ?? 1) === 1 &&
        mayRunInline({ ...config, requested: config.placement, modelBytes })
      ) {
        // A model that may run inline is loaded once first: inline, it is the only instance.
        results = await Promise.allSettled([load(config.placement)]);
        const [first] = results;
        if (first?.status === 'fulfilled' && first.value.placement !== 'inline')
          joining = tuning.instances - 1;
      } else if (config.instances === undefined && tuning.instances > 1) {
        results = await several(1);
        joining = tuning.instances - 1;
      } else {
        // Several instances are for running batches side by side, which only workers do.
        results =
          tuning.instances > 1
            ? await several(tuning.instances)
            : await Promise.allSettled([load(config.placement)]);
      }
      const instances = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      const failed = results.find((r) => r.status === 'rejected');
      const [loaded] = instances;
      try {
        if (failed !== undefined) throw failed.reason;
        if (loaded === undefined) throw new BerthError('BERTH_ERR_RUNTIME_LOAD_FAILED', 'no instance loaded');
        const signature = effectiveSignature(descriptor.name, loaded.signature, config);
        await warmUp({ instances, signature, config, modelDir: descriptor.modelDir, logger: log });
        version.signature = signature;
        const reshape = reshapePlanOf(config);
        if (reshape !== undefined) version.reshape = reshape;
      } catch (error) {
        await Promise.all(instances.map((i) => i.dispose()));
        throw error;
      }
      version.platform = loaded.platform;
      version.instances = instances;
      this.changeState(version, 'READY', '');
      log.info(
        {
          ms: Math.round(performance.now() - started),
          ...(loaded.placement === undefined ? {} : { placement: loaded.placement }),
          instances: instances.length + joining,
        },
        'model version ready',
      );
      if (joining > 0) {
        const joined = this.join(version, instances, joining, () => load('worker'), {
          signature: version.signature ?? loaded.signature,
          config,
          modelDir: descriptor.modelDir,
          logger: log,
        });
        this.joining.add(joined);
        void joined.finally(() => this.joining.delete(joined));
      }
    } catch (error) {
      const berth = toBerthError(error);
      const reason = berth.code === 'BERTH_ERR_INTERNAL' ? String(error) : berth.message;
      version.failure = berth;
      this.changeState(version, 'UNAVAILABLE', publicReason(descriptor, reason));
      // A bad file or config is an expected condition (warn); a runtime failure is an error, with
      // a stack only when it is berth's own fault (the runtime's message says all it knows).
      const message = `model version failed to load: ${reason}`;
      if (berth.code === 'BERTH_ERR_INTERNAL')
        log.error({ code: berth.code, err: berth.cause ?? berth }, message);
      else if (berth.category === 'INTERNAL') log.error({ code: berth.code }, message);
      else log.warn({ code: berth.code }, message);
    }
  }

  private changeState(version: ModelVersion, state: ModelState, reason: string): void {
    version.state = state;
    version.reason = reason;
    this.options.onStateChange?.(version);
  }

  private entry(name: string): ModelEntry {
    const entry = this.models.get(name);
    if (entry === undefined)
      throw new BerthError('BERTH_ERR_MODEL_NOT_FOUND', `Request for unknown model: "${name}" is not found`);
    return entry;
  }

  /** The version a request names, or the highest version when it names none. */
  private version(name: string, version: string | undefined): ModelVersion {
    const entry = this.entry(name);
    if (version === undefined || version === '') {
      const ready = entry.versions.find((v) => v.state === 'READY');
      const chosen = ready ?? entry.versions[0];
      if (chosen === undefined) {
        throw new BerthError(
          'BERTH_ERR_MODEL_NOT_READY',
          `model "${name}" is not ready: ${descriptorReason(entry.descriptor) ?? 'no version loaded'}`,
        );
      }
      return chosen;
    }
    const number = /^[1-9][0-9]{0,14}$/.test(version) ? Number(version) : undefined;
    const found = entry.versions.find((v) => v.version === number);
    if (found === undefined) {
      throw new BerthError(
        'BERTH_ERR_MODEL_VERSION_NOT_FOUND',
        `model "${name}" has no version ${JSON.stringify(version)}; served versions: ${entry.versions.map((v) => v.version).join(', ') || 'none'}`,
      );
    }
    return found;
  }

  /** A ready model version; throws NOT_FOUND or UNAVAILABLE otherwise. */
  resolve(name: string, version?: string): ReadyModel {
    const found = this.version(name, version);
    if (found.state !== 'READY' || found.instances === undefined || found.signature === undefined) {
      const why = found.reason === '' ? found.state.toLowerCase() : found.reason;
      throw new BerthError(
        'BERTH_ERR_MODEL_NOT_READY',
        `model "${name}" version ${found.version} is not ready: ${why}`,
      );
    }
    return found as ReadyModel;
  }

  /**
   * Resolves a ready version and counts a request against it until release(): a version being
   * retired waits for every such request before it is freed.
   */
  acquire(name: string, version?: string): ReadyModel {
    const model = this.resolve(name, version);
    model.inflight++;
    return model;
  }

  /** Ends a request counted by acquire(). */
  release(model: ModelVersion): void {
    model.inflight--;
    if (model.inflight === 0) model.onIdle?.();
  }

  /** Whether a model of that name is in the registry, whatever its state. */
  has(name: string): boolean {
    return this.models.has(name);
  }

  /** Whether the named model (version) is ready; throws NOT_FOUND for an unknown one. */
  isReady(name: string, version?: string): boolean {
    try {
      return this.version(name, version).state === 'READY';
    } catch (error) {
      if (error instanceof BerthError && error.code === 'BERTH_ERR_MODEL_NOT_READY') return false;
      throw error;
    }
  }

  metadata(name: string, version?: string): ModelMetadata {
    const model = this.resolve(name, version);
    const entry = this.entry(name);
    return {
      name,
      versions: entry.versions.map((v) => String(v.version)),
      platform: model.platform,
      inputs: model.signature.inputs,
      outputs: model.signature.outputs,
    };
  }

  /**
   * Triton statistics of the served versions of every model (no name), of one model, or of one
   * version of it; sorted by name then version.
   */
  stats(name?: string, version?: string): ModelStatsJson[] {
    const names =
      name === undefined || name === '' ? [...this.models.keys()].sort() : [this.entry(name).descriptor.name];
    const out: ModelStatsJson[] = [];
    for (const n of names) {
      const entry = this.entry(n);
      const versions = version === undefined || version === '' ? entry.versions : [this.version(n, version)];
      for (const v of [...versions].sort((a, b) => a.version - b.version))
        out.push(v.stats.toJSON(n, String(v.version)));
    }
    return out;
  }

  /** Every model version with its state and reason, sorted by name then version. */
  index(): ModelIndexEntry[] {
    const out: ModelIndexEntry[] = [];
    for (const [name, entry] of [...this.models].sort(([a], [b]) => a.localeCompare(b))) {
      if (entry.versions.length === 0) {
        out.push({
          name,
          version: '',
          state: 'UNAVAILABLE',
          reason: descriptorReason(entry.descriptor) ?? 'no versions',
        });
      }
      const loading = (entry.next ?? []).filter((n) => !entry.versions.some((v) => v.version === n.version));
      for (const v of [...entry.versions, ...loading].sort((a, b) => a.version - b.version)) {
        out.push({ name, version: String(v.version), state: v.state, reason: v.reason });
      }
    }
    return out;
  }

  /** True when loading has finished and every model version that should load is READY. */
  allReady(): boolean {
    if (this.loading > 0 || !this.loadedOnce) return false;
    for (const entry of this.models.values()) {
      if (entry.unloaded === true) continue;
      if (entry.versions.length === 0) return false;
      if (entry.versions.some((v) => v.state !== 'READY')) return false;
    }
    return true;
  }

  /** True when loading has finished and at least one model version is READY. */
  anyReady(): boolean {
    if (this.loading > 0 || !this.loadedOnce) return false;
    return [...this.models.values()].some((e) => e.versions.some((v) => v.state === 'READY'));
  }

  /** Unloads everything (shutdown): each version finishes its accepted requests first. */
  async unloadAll(): Promise<void> {
    await Promise.all([...this.models.keys()].map((name) => this.unload(name)));
    await Promise.all([...this.retiring]);
    // An instance still loading for a version that no longer serves is freed when it arrives.
    await Promise.all([...this.joining]);
  }
}
