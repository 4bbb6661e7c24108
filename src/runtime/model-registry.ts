/**
 * The models a server holds, per version, with Triton's states (LOADING, READY, UNLOADING,
 * UNAVAILABLE) and the reason when one is not ready. Requests resolve here: an unknown model or
 * version is NOT_FOUND, a known one that is not ready is UNAVAILABLE.
 */
import {
  BerthError,
  toBerthError,
  type ModelIndexEntry,
  type ModelMetadata,
  type ModelSignature,
  type ModelState,
} from '../protocol/index.js';
import type { ModelConfig, ModelDescriptor, ModelVersionSource } from '../repository/index.js';
import type { Logger } from '../observability/index.js';
import type { Backend, LoadedModel, LoadOptions } from './backend.js';
import { effectiveSignature } from './model-signature.js';

export interface ModelVersion {
  readonly name: string;
  readonly version: number;
  readonly config: ModelConfig;
  state: ModelState;
  reason: string;
  signature?: ModelSignature;
  platform?: string;
  /** Every instance (config `instances`), each able to run one batch at a time. */
  instances?: readonly LoadedModel[];
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
  readonly versions: ModelVersion[];
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
  private loading = 0;
  private loadedOnce = false;

  constructor(private readonly options: ModelRegistryOptions) {}

  /** Loads every model; one model failing leaves it UNAVAILABLE with its reason, not the others. */
  async loadAll(descriptors: readonly ModelDescriptor[]): Promise<void> {
    this.loading++;
    try {
      await Promise.all(descriptors.map((d) => this.loadModel(d)));
    } finally {
      this.loading--;
      this.loadedOnce = true;
    }
  }

  private async loadModel(descriptor: ModelDescriptor): Promise<void> {
    const entry: ModelEntry = {
      descriptor,
      versions: descriptor.versions.map((source) => ({
        name: descriptor.name,
        version: source.version,
        config: descriptor.config,
        state: 'LOADING',
        reason: '',
      })),
    };
    this.models.set(descriptor.name, entry);
    if (descriptor.error !== undefined) {
      this.options.logger.error(
        { model: descriptor.name, code: descriptor.error.code },
        descriptor.error.message,
      );
      return;
    }
    await Promise.all(
      descriptor.versions.map(async (source, i) => {
        const version = entry.versions[i];
        if (version !== undefined) await this.loadVersion(descriptor, source, version);
      }),
    );
  }

  private async loadVersion(
    descriptor: ModelDescriptor,
    source: ModelVersionSource,
    version: ModelVersion,
  ): Promise<void> {
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
      const options = {
        intraOpThreads: config.threads?.intraOp ?? this.options.load.intraOpThreads,
        interOpThreads: config.threads?.interOp ?? this.options.load.interOpThreads,
        spinning: config.threads?.spinning ?? this.options.load.spinning,
        execution: config.execution,
      };
      const results = await Promise.allSettled(
        Array.from({ length: config.instances }, () => backend.load(source.artifact, options)),
      );
      const instances = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
      const failed = results.find((r) => r.status === 'rejected');
      const [loaded] = instances;
      try {
        if (failed !== undefined) throw failed.reason;
        if (loaded === undefined) throw new BerthError('BERTH_ERR_RUNTIME_LOAD_FAILED', 'no instance loaded');
        version.signature = effectiveSignature(descriptor.name, loaded.signature, config);
      } catch (error) {
        await Promise.all(instances.map((i) => i.dispose()));
        throw error;
      }
      version.platform = loaded.platform;
      version.instances = instances;
      this.changeState(version, 'READY', '');
      log.info({ ms: Math.round(performance.now() - started) }, 'model version ready');
    } catch (error) {
      const berth = toBerthError(error);
      const reason = berth.code === 'BERTH_ERR_INTERNAL' ? String(error) : berth.message;
      this.changeState(version, 'UNAVAILABLE', publicReason(descriptor, reason));
      log.error({ code: berth.code, err: berth.cause ?? berth }, `model version failed to load: ${reason}`);
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
      for (const v of [...entry.versions].sort((a, b) => a.version - b.version)) {
        out.push({ name, version: String(v.version), state: v.state, reason: v.reason });
      }
    }
    return out;
  }

  /** True when loading has finished and every model version that should load is READY. */
  allReady(): boolean {
    if (this.loading > 0 || !this.loadedOnce) return false;
    for (const entry of this.models.values()) {
      if (entry.descriptor.error !== undefined) return false;
      if (entry.versions.some((v) => v.state !== 'READY')) return false;
    }
    return true;
  }

  /** True when loading has finished and at least one model version is READY. */
  anyReady(): boolean {
    if (this.loading > 0 || !this.loadedOnce) return false;
    return [...this.models.values()].some((e) => e.versions.some((v) => v.state === 'READY'));
  }

  async unloadAll(): Promise<void> {
    const versions = [...this.models.values()].flatMap((e) => e.versions);
    await Promise.all(
      versions.map(async (v) => {
        const instances = v.instances;
        if (instances === undefined) return;
        this.changeState(v, 'UNLOADING', '');
        delete v.instances;
        await Promise.all(instances.map((i) => i.dispose()));
        this.changeState(v, 'UNAVAILABLE', 'unloaded');
      }),
    );
  }
}
