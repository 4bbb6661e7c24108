/**
 * `berth build`: an OCI image of a model service, written by berth itself (no daemon). On top of a
 * base image with Node.js: one layer with berth (runtime-files.ts), one layer per model
 * (model-files.ts), and a config that runs `berth serve` on the bundled models as a non-root user,
 * with ports, a stop signal, a health check and labels (image-contract.ts). Several platforms give
 * one image each and an index over them. Each layer carries its own part of the CycloneDX SBOM
 * under usr/share/sbom/; the whole SBOM is attached to a pushed image as a referrer.
 * Deterministic: the same inputs and SOURCE_DATE_EPOCH give the same digests (layer-builder.ts).
 */
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findNode } from './base-node.js';
import { BerthError, isBerthError } from '../ground/index.js';
import { BlobStore } from './blob-store.js';
import { removeOnExit, writeWhole } from './exit-cleanup.js';
import { sha256, type Digest } from './digest.js';
import {
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
import { writeImage, type ImageTarget, type WriteProgress } from './image-output.js';
import { formatReference } from './image-reference.js';
import { openBase, type BaseImage, type BaseSpec } from './image-source.js';
import { buildLayer, type BuiltLayer, type LayerEntry } from './layer-builder.js';
import { defaultCacheDir, LayerCache } from './layer-cache.js';
import { MEDIA_TYPE, type Descriptor } from './media-types.js';
import { collectModels, type ModelFiles } from './model-files.js';
import { platformString, type ImageConfig, type ImageManifest, type Platform } from './oci-layout.js';
import { RegistryClient } from './registry-client.js';
import { findCredentials } from './registry-auth.js';
import { PACKAGE_ROOT, productionPackages, runtimeEntries } from './runtime-files.js';
import { cyclonedxBom, modelComponents, npmComponents, sbomBytes, type SbomComponent } from './sbom.js';

export type { ImageTarget } from './image-output.js';

export interface BuildOptions {
  /** .onnx files and repository folders; none: the built-in example model. */
  readonly models: readonly string[];
  readonly base: BaseSpec;
  readonly output: ImageTarget;
  /** Image name and tag, e.g. `localhost/fraud` and `1.2.0`. */
  readonly name: string;
  readonly tag: string;
  /** One image per platform; more than one gives an image index. */
  readonly platforms: readonly Platform[];
  /** SOURCE_DATE_EPOCH: every timestamp in the image. */
  readonly created: Date;
  readonly version: string;
  readonly revision?: string;
  readonly source?: string;
  /** Where the base image keeps node (default: found in the base's layers, see base-node.ts). */
  readonly nodePath?: string;
  /** berth's own files (default: this installation). */
  readonly packageRoot?: string;
  /** The layer and base-blob cache (default: defaultCacheDir()); false: none. */
  readonly cacheDir?: string | false;
  /** Registries (host[:port]) spoken to over plain HTTP. */
  readonly insecureRegistries?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  /** Also write the whole SBOM here. */
  readonly sbomFile?: string;
  readonly onProgress?: (event: BuildProgress) => void;
}

export type BuildProgress =
  | { readonly step: 'base'; readonly platform: string; readonly name: string; readonly layers: number }
  | {
      readonly step: 'layer';
      readonly platform: string;
      readonly name: string;
      readonly digest: Digest;
      readonly size: number;
      readonly ms: number;
      readonly cached: boolean;
    }
  | WriteProgress
  | { readonly step: 'done'; readonly digest: Digest };

export interface BuiltImageLayer {
  /** `base`, `berth`, or `model:<name>`. */
  readonly name: string;
  readonly digest: Digest;
  readonly diffId: string;
  readonly size: number;
  readonly uncompressedSize?: number;
  readonly cached?: boolean;
}

export interface PlatformImage {
  readonly platform: Platform;
  readonly digest: Digest;
  readonly configDigest: Digest;
  readonly layers: readonly BuiltImageLayer[];
  /** Compressed bytes of the layers berth added (not the base's). */
  readonly addedSize: number;
}

export interface BuildResult {
  /** The tagged manifest's digest (the index's, for several platforms): the image's identity. */
  readonly digest: Digest;
  readonly mediaType: string;
  readonly reference: string;
  /** The first platform's image, repeated here for single-platform scripts. */
  readonly configDigest: Digest;
  readonly platform: Platform;
  readonly layers: readonly BuiltImageLayer[];
  readonly addedSize: number;
  readonly images: readonly PlatformImage[];
  /** The whole SBOM's digest, and how it was attached when pushed. */
  readonly sbom: {
    readonly digest: Digest;
    readonly referrer?: { readonly digest: Digest; readonly via: 'api' | 'tag' };
  };
}

const SECOND_NS = 1_000_000_000;
/** Where each layer's part of the SBOM goes. */
const SBOM_DIR = 'usr/share/sbom';

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

interface BuildContext {
  readonly options: BuildOptions;
  readonly store: BlobStore;
  readonly cache: LayerCache | undefined;
  readonly models: readonly ModelFiles[];
  readonly npm: readonly SbomComponent[];
  readonly progress: (event: BuildProgress) => void;
  /** Model layers are the same on every platform: built once. */
  readonly modelLayers: Map<string, BuiltImageLayer>;
}

/** One layer's part of the SBOM, describing that layer's content only (not the image's name). */
function sbomEntry(
  options: BuildOptions,
  subject: { name: string; version: string; type: 'application' | 'machine-learning-model' },
  components: readonly SbomComponent[],
): LayerEntry {
  const bom = cyclonedxBom({
    image: { ...subject, created: options.created },
    berthVersion: options.version,
    components,
  });
  const file = subject.type === 'application' ? `${subject.name}.cdx.json` : `model-${subject.name}.cdx.json`;
  return { type: 'file', path: `${SBOM_DIR}/${file}`, mode: 0o644, source: sbomBytes(bom) };
}

async function timedLayer(
  context: BuildContext,
  platform: Platform,
  name: string,
  build: () => Promise<BuiltLayer>,
): Promise<BuiltImageLayer> {
  const started = performance.now();
  const built = await build();
  const layer: BuiltImageLayer = {
    name,
    digest: built.descriptor.digest,
    diffId: built.diffId,
    size: built.descriptor.size,
    uncompressedSize: built.uncompressedSize,
    cached: built.cached,
  };
  context.progress({
    step: 'layer',
    platform: platformString(platform),
    name,
    digest: layer.digest,
    size: layer.size,
    ms: Math.round(performance.now() - started),
    cached: built.cached,
  });
  return layer;
}

/** One platform's image: berth and model layers, config and manifest, written to the store. */
async function buildPlatformImage(
  context: BuildContext,
  base: BaseImage,
  platform: Platform,
): Promise<{ image: PlatformImage; manifestDescriptor: Descriptor; manifest: ImageManifest }> {
  const { options, store, models } = context;
  // First, so a base the image could not start on fails the build before any layer is written.
  const node = await findNode(base, options.nodePath, context.cache?.dir);
  const root = options.packageRoot ?? PACKAGE_ROOT;
  const added: BuiltImageLayer[] = [];
  added.push(
    await timedLayer(context, platform, 'berth', async () =>
      buildLayer(
        store,
        [
          ...(await runtimeEntries(root, platform)),
          sbomEntry(options, { name: 'berth', version: options.version, type: 'application' }, context.npm),
        ],
        options.created,
        context.cache,
      ),
    ),
  );
  for (const model of models) {
    const name = `model:${model.name}`;
    let layer = context.modelLayers.get(name);
    if (layer === undefined) {
      layer = await timedLayer(context, platform, name, () =>
        buildLayer(
          store,
          [
            ...model.entries,
            sbomEntry(
              options,
              { name: model.name, version: String(model.version), type: 'machine-learning-model' },
              modelComponents([model]),
            ),
          ],
          options.created,
          context.cache,
        ),
      );
      context.modelLayers.set(name, layer);
    }
    added.push(layer);
  }

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
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPE.manifest,
    config: configDescriptor,
    layers: [
      ...base.manifest.layers,
      ...added.map((l) => ({ mediaType: MEDIA_TYPE.layerGzip, digest: l.digest, size: l.size })),
    ],
    annotations: {
      'org.opencontainers.image.created': created,
      'org.opencontainers.image.base.digest': base.manifestDescriptor.digest,
      'org.opencontainers.image.base.name': base.name,
    },
  };
  const manifestDescriptor = await store.putJson(MEDIA_TYPE.manifest, manifest);
  const image: PlatformImage = {
    platform,
    digest: manifestDescriptor.digest,
    configDigest: configDescriptor.digest,
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
  return { image, manifestDescriptor, manifest };
}

/** A registry base that cannot be had: say which, and how to build without a registry. */
function baseUnreachable(base: BaseSpec, error: unknown): unknown {
  if (
    base.kind !== 'registry' ||
    !isBerthError(error) ||
    error.code !== 'BERTH_ERR_PACKAGING_REGISTRY_UNAVAILABLE'
  )
    return error;
  return new BerthError(
    error.code,
    `cannot pull the base image ${formatReference(base.reference)}: ${error.message}. Give another base with --base (or image.base in berth.yaml); without a registry, use a saved one: --base oci-archive:FILE, docker-archive:FILE or oci:DIR (docs/images.md#without-a-registry)`,
    { cause: error },
  );
}

async function openCache(
  dir: string | false | undefined,
  env: NodeJS.ProcessEnv,
): Promise<LayerCache | undefined> {
  if (dir === false) return undefined;
  const cache = new LayerCache(dir ?? defaultCacheDir(env));
  try {
    await cache.init();
    return cache;
  } catch {
    return undefined; // a read-only home: build without a cache
  }
}

/**
 * @example
 * const result = await buildImage({ models: ['./models'], base: { kind: 'oci', path: './base' }, ... });
 */
export async function buildImage(options: BuildOptions): Promise<BuildResult> {
  const scratch = await mkdtemp(join(tmpdir(), 'berth-build-'));
  const forgetScratch = removeOnExit(scratch);
  try {
    // A new oci: folder is written beside its name and renamed when whole; an existing layout gets
    // its blobs first and its index.json last, so it names either the old image or the new one.
    const ociPath = options.output.kind === 'oci' ? options.output.path : undefined;
    const freshOci =
      ociPath !== undefined &&
      !(await stat(ociPath).then(
        () => true,
        () => false,
      ));
    const { result, bom } =
      ociPath !== undefined && freshOci
        ? await writeWhole(ociPath, (temp) => buildInto(options, scratch, temp))
        : await buildInto(options, scratch, ociPath ?? join(scratch, 'image'));
    const sbomFile = options.sbomFile;
    if (sbomFile !== undefined) await writeWhole(sbomFile, (temp) => writeFile(temp, bom));
    options.onProgress?.({ step: 'done', digest: result.digest });
    return result;
  } finally {
    await rm(scratch, { recursive: true, force: true });
    forgetScratch();
  }
}

/** Builds the image into a blob store at `storeRoot` and writes it to its output. */
async function buildInto(
  options: BuildOptions,
  scratch: string,
  storeRoot: string,
): Promise<{ result: BuildResult; bom: Uint8Array }> {
  const progress = options.onProgress ?? (() => undefined);
  const env = options.env ?? process.env;
  const cache = await openCache(options.cacheDir, env);
  // Base blobs pulled from a registry need somewhere to go even without a cache.
  const blobCache = cache ?? new LayerCache(join(scratch, 'cache'));
  if (cache === undefined) await blobCache.init();
  const store = new BlobStore(storeRoot);
  await store.init();
  const pushRegistry = options.output.kind === 'registry' ? options.output.reference.registry : undefined;
  const clients = new Map<string, RegistryClient>();
  const clientFor = async (registry: string): Promise<RegistryClient> => {
    let client = clients.get(registry);
    if (client === undefined) {
      const credentials = await findCredentials(registry, {
        env,
        ...(pushRegistry === undefined ? {} : { defaultRegistry: pushRegistry }),
      });
      client = new RegistryClient(registry, {
        insecure: options.insecureRegistries?.includes(registry) === true,
        ...(credentials === undefined ? {} : { credentials }),
      });
      clients.set(registry, client);
    }
    return client;
  };
  // Credentials are looked up before the first request, so the source gets ready clients.
  const registries = [
    ...(options.base.kind === 'registry' ? [options.base.reference.registry] : []),
    ...(pushRegistry === undefined ? [] : [pushRegistry]),
  ];
  for (const registry of registries) await clientFor(registry);
  const sourceContext = {
    cache: blobCache,
    scratch,
    client: (registry: string) => clients.get(registry) ?? new RegistryClient(registry),
  };

  const root = options.packageRoot ?? PACKAGE_ROOT;
  const models = await collectModels(options.models);
  const npm = await npmComponents(root, await productionPackages(root));
  const context: BuildContext = {
    options,
    store,
    cache,
    models,
    npm,
    progress,
    modelLayers: new Map(),
  };
  const built: {
    image: PlatformImage;
    manifestDescriptor: Descriptor;
    manifest: ImageManifest;
    base: BaseImage;
  }[] = [];
  for (const platform of options.platforms) {
    const base = await openBase(options.base, platform, sourceContext).catch((error: unknown) => {
      throw baseUnreachable(options.base, error);
    });
    progress({
      step: 'base',
      platform: platformString(platform),
      name: base.name,
      layers: base.manifest.layers.length,
    });
    built.push({ ...(await buildPlatformImage(context, base, platform)), base });
  }
  const first = built[0];
  if (first === undefined) throw new Error('no platform to build');
  let top = first.manifestDescriptor;
  if (built.length > 1) {
    top = await store.putJson(MEDIA_TYPE.index, {
      schemaVersion: 2,
      mediaType: MEDIA_TYPE.index,
      manifests: built.map((b) => ({
        ...b.manifestDescriptor,
        platform: {
          os: b.image.platform.os,
          architecture: b.image.platform.architecture,
          ...(b.image.platform.variant === undefined ? {} : { variant: b.image.platform.variant }),
        },
      })),
      annotations: { 'org.opencontainers.image.created': options.created.toISOString() },
    });
  }
  const bom = sbomBytes(
    cyclonedxBom({
      image: { name: options.name, version: options.tag, created: options.created },
      berthVersion: options.version,
      components: [...npm, ...modelComponents(models)],
    }),
  );
  const reference = `${options.name}:${options.tag}`;
  const written = await writeImage({
    target: options.output,
    store,
    top,
    reference,
    tag: options.tag,
    images: built.map((b) => ({
      manifestDescriptor: b.manifestDescriptor,
      manifest: b.manifest,
      base: b.base,
    })),
    sbom: bom,
    created: options.created,
    client: pushRegistry === undefined ? undefined : await clientFor(pushRegistry),
    onProgress: progress,
  });
  const result: BuildResult = {
    digest: top.digest,
    mediaType: top.mediaType,
    reference,
    configDigest: first.image.configDigest,
    platform: first.image.platform,
    layers: first.image.layers,
    addedSize: first.image.addedSize,
    images: built.map((b) => b.image),
    sbom: {
      digest: sha256(bom),
      ...(written.referrer === undefined ? {} : { referrer: written.referrer }),
    },
  };
  return { result, bom };
}
