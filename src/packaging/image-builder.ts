/**
 * `berth build`: an OCI image of a model service, written by berth itself (no daemon). On top of a
 * base image with Node.js: one layer with berth (runtime-files.ts), one layer per model
 * (model-files.ts), and a config that runs `berth serve` on the bundled models as a non-root user,
 * with ports, a stop signal, a health check and labels. Deterministic: the same inputs and
 * SOURCE_DATE_EPOCH give the same digests (layer-builder.ts).
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeArchive } from './archive-writer.js';
import { BlobStore } from './blob-store.js';
import type { Digest } from './digest.js';
import { buildLayer, type BuiltLayer } from './layer-builder.js';
import { MEDIA_TYPE, type Descriptor } from './media-types.js';
import {
  DEFAULT_NODE_PATH,
  HEALTHCHECK_TIMING,
  healthCommand,
  IMAGE_BERTH_BIN,
  IMAGE_ENV,
  IMAGE_GRPC_PORT,
  IMAGE_HTTP_PORT,
  IMAGE_STOP_SIGNAL,
  IMAGE_USER,
  IMAGE_WORKDIR,
  imageLabels,
  serveArguments,
} from './image-contract.js';
import { collectModels } from './model-files.js';
import {
  loadLayoutImage,
  writeLayoutIndex,
  type ImageConfig,
  type ImageManifest,
  type LoadedImage,
  type Platform,
} from './oci-layout.js';
import { PACKAGE_ROOT, runtimeEntries } from './runtime-files.js';

export type ImageTarget =
  | { readonly kind: 'oci'; readonly path: string; readonly ref?: string }
  | { readonly kind: 'oci-archive' | 'docker-archive'; readonly path: string };

export interface BuildOptions {
  /** .onnx files and repository folders; none: the built-in example model. */
  readonly models: readonly string[];
  /** The base image: an OCI layout folder and optional ref. */
  readonly base: { readonly kind: 'oci'; readonly path: string; readonly ref?: string };
  readonly output: ImageTarget;
  /** Image name and tag, e.g. `localhost/fraud:1.2.0`. */
  readonly name: string;
  readonly tag: string;
  readonly platform: Platform;
  /** SOURCE_DATE_EPOCH: every timestamp in the image. */
  readonly created: Date;
  readonly version: string;
  readonly revision?: string;
  readonly source?: string;
  /** Where the base image keeps node (default: the base's entrypoint when it is node). */
  readonly nodePath?: string;
  /** berth's own files (default: this installation). */
  readonly packageRoot?: string;
  readonly onProgress?: (event: BuildProgress) => void;
}

export type BuildProgress =
  | { readonly step: 'base'; readonly layers: number }
  | {
      readonly step: 'layer';
      readonly name: string;
      readonly digest: Digest;
      readonly size: number;
      readonly ms: number;
    }
  | { readonly step: 'done'; readonly digest: Digest };

export interface BuiltImageLayer {
  /** `base`, `berth`, or `model:<name>`. */
  readonly name: string;
  readonly digest: Digest;
  readonly diffId: string;
  readonly size: number;
  readonly uncompressedSize?: number;
}

export interface BuildResult {
  /** The manifest digest: the image's identity in a registry. */
  readonly digest: Digest;
  readonly configDigest: Digest;
  readonly reference: string;
  readonly platform: Platform;
  readonly layers: readonly BuiltImageLayer[];
  /** Compressed bytes of the layers berth added (not the base's). */
  readonly addedSize: number;
}

const SECOND_NS = 1_000_000_000;

function nodeOf(base: LoadedImage, override: string | undefined): string {
  if (override !== undefined) return override;
  const entrypoint: unknown = base.config.config?.Entrypoint;
  const first: unknown = Array.isArray(entrypoint) ? entrypoint[0] : undefined;
  if (typeof first === 'string' && /\/node(js)?$/.test(first)) return first;
  return DEFAULT_NODE_PATH;
}

function mergedEnv(base: unknown, ours: Readonly<Record<string, string>>): string[] {
  const env = new Map<string, string>();
  for (const item of Array.isArray(base) ? base : []) {
    if (typeof item !== 'string') continue;
    const at = item.indexOf('=');
    if (at > 0) env.set(item.slice(0, at), item.slice(at + 1));
  }
  for (const [k, v] of Object.entries(ours)) env.set(k, v);
  return [...env].map(([k, v]) => `${k}=${v}`);
}

/**
 * @example
 * const result = await buildImage({ models: ['./models'], base: { kind: 'oci', path: './base' }, ... });
 */
export async function buildImage(options: BuildOptions): Promise<BuildResult> {
  const progress = options.onProgress ?? (() => undefined);
  const base = await loadLayoutImage(options.base.path, options.base.ref, options.platform);
  progress({ step: 'base', layers: base.manifest.layers.length });
  const staging = options.output.kind === 'oci' ? undefined : await mkdtemp(join(tmpdir(), 'berth-build-'));
  const store = new BlobStore(options.output.kind === 'oci' ? options.output.path : (staging ?? ''));
  try {
    await store.init();
    // The base's blobs, copied as they are (verified against their digests).
    for (const layer of [...base.manifest.layers, base.manifest.config]) {
      if (!(await store.has(layer.digest))) {
        await store.putStream(layer.mediaType, createReadStream(base.store.path(layer.digest)), layer.digest);
      }
    }

    const timed = async (name: string, build: () => Promise<BuiltLayer>): Promise<BuiltImageLayer> => {
      const started = performance.now();
      const built = await build();
      progress({
        step: 'layer',
        name,
        digest: built.descriptor.digest,
        size: built.descriptor.size,
        ms: Math.round(performance.now() - started),
      });
      return {
        name,
        digest: built.descriptor.digest,
        diffId: built.diffId,
        size: built.descriptor.size,
        uncompressedSize: built.uncompressedSize,
      };
    };
    const added: BuiltImageLayer[] = [];
    const root = options.packageRoot ?? PACKAGE_ROOT;
    added.push(
      await timed('berth', async () =>
        buildLayer(store, await runtimeEntries(root, options.platform), options.created),
      ),
    );
    const models = await collectModels(options.models);
    for (const model of models) {
      added.push(await timed(`model:${model.name}`, () => buildLayer(store, model.entries, options.created)));
    }

    const node = nodeOf(base, options.nodePath);
    const created = options.created.toISOString();
    const labels = imageLabels({
      name: options.name,
      tag: options.tag,
      created: options.created,
      berthVersion: options.version,
      models,
      ...(options.revision === undefined ? {} : { revision: options.revision }),
      ...(options.source === undefined ? {} : { source: options.source }),
    });
    const baseConfig = base.config.config ?? {};
    const config: ImageConfig = {
      ...base.config,
      created,
      config: {
        ...baseConfig,
        User: IMAGE_USER,
        Env: mergedEnv(baseConfig.Env, IMAGE_ENV),
        Entrypoint: [node, IMAGE_BERTH_BIN],
        Cmd: serveArguments(models.length > 0),
        WorkingDir: IMAGE_WORKDIR,
        ExposedPorts: { [`${IMAGE_HTTP_PORT}/tcp`]: {}, [`${IMAGE_GRPC_PORT}/tcp`]: {} },
        StopSignal: IMAGE_STOP_SIGNAL,
        Healthcheck: {
          Test: ['CMD', ...healthCommand(node)],
          Interval: HEALTHCHECK_TIMING.interval * SECOND_NS,
          Timeout: HEALTHCHECK_TIMING.timeout * SECOND_NS,
          StartPeriod: HEALTHCHECK_TIMING.startPeriod * SECOND_NS,
          Retries: HEALTHCHECK_TIMING.retries,
        },
        Labels: { ...(baseConfig.Labels as Record<string, string> | undefined), ...labels },
      },
      rootfs: { type: 'layers', diff_ids: [...base.config.rootfs.diff_ids, ...added.map((l) => l.diffId)] },
      history: [
        ...(base.config.history ?? []),
        ...added.map((l) => ({ created, created_by: `berth build ${options.version}: ${l.name}` })),
      ],
    };
    const configDescriptor = await store.putJson(MEDIA_TYPE.config, config);
    const layerDescriptor = (l: BuiltImageLayer): Descriptor => ({
      mediaType: MEDIA_TYPE.layerGzip,
      digest: l.digest,
      size: l.size,
    });
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: MEDIA_TYPE.manifest,
      config: configDescriptor,
      layers: [...base.manifest.layers, ...added.map(layerDescriptor)],
      annotations: {
        'org.opencontainers.image.created': created,
        'org.opencontainers.image.base.digest': base.manifestDescriptor.digest,
        ...(options.base.ref === undefined ? {} : { 'org.opencontainers.image.base.name': options.base.ref }),
      },
    };
    const manifestDescriptor = await store.putJson(MEDIA_TYPE.manifest, manifest);
    const reference = `${options.name}:${options.tag}`;
    if (options.output.kind === 'oci') {
      await writeLayoutIndex(store.root, manifestDescriptor, options.output.ref ?? options.tag, reference);
    } else {
      await writeArchive(options.output.kind, options.output.path, store, {
        manifestDescriptor,
        manifest,
        configDescriptor,
        reference,
      });
    }
    progress({ step: 'done', digest: manifestDescriptor.digest });
    return {
      digest: manifestDescriptor.digest,
      configDigest: configDescriptor.digest,
      reference,
      platform: options.platform,
      layers: [
        ...base.manifest.layers.map((l, i) => ({
          name: 'base',
          digest: l.digest,
          diffId: base.config.rootfs.diff_ids[i] ?? '',
          size: l.size,
        })),
        ...added,
      ],
      addedSize: added.reduce((total, l) => total + l.size, 0),
    };
  } finally {
    if (staging !== undefined) await rm(staging, { recursive: true, force: true });
  }
}
