/**
 * `berth models pull IMAGE DIR`: the models of an image `berth build` pushed, fetched from the
 * registry into a folder, as a Kubernetes init container does before berth serves them (what
 * KServe calls a modelcar, without a second image at run time). Only the image's `models/` tree
 * is written; every model file is checked against the sha256 the image's labels record; a folder
 * that already holds the same image (a per-pod cache that survived a restart) is left as it is.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, normalize, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { BerthError } from '../ground/index.js';
import { parseImageReference } from './image-reference.js';
import { openBase } from './image-source.js';
import { LayerCache } from './layer-cache.js';
import { MEDIA_TYPE } from './media-types.js';
import { fileSha256 } from './model-files.js';
import type { Platform } from './oci-layout.js';
import { registryClientFor, type RegistryAccess } from './registry-client.js';

/** The file written last, naming what the folder holds. */
export const PULLED_MARKER = '.berth-models.json';

export interface PullModelsOptions extends RegistryAccess {
  /** The image, ideally by digest: registry.example/fraud@sha256:... */
  readonly image: string;
  readonly dir: string;
  readonly platform: Platform;
}

export interface PulledModels {
  /** The image manifest's digest. */
  readonly digest: string;
  readonly models: readonly { readonly name: string; readonly version: number; readonly sha256: string }[];
  /** false when the folder already held this image. */
  readonly fetched: boolean;
}

function invalid(message: string): BerthError {
  return new BerthError('BERTH_ERR_PACKAGING_INVALID_IMAGE', message);
}

/** The models an image's labels name: berth.model.<name>.version and .sha256. */
function labelledModels(labels: Readonly<Record<string, string>>): PulledModels['models'] {
  const models: { name: string; version: number; sha256: string }[] = [];
  for (const [key, sha] of Object.entries(labels)) {
    const match = /^berth\.model\.(.+)\.sha256$/.exec(key);
    if (match === null) continue;
    const name = match[1] as string;
    models.push({ name, version: Number(labels[`berth.model.${name}.version`] ?? '1'), sha256: sha });
  }
  return models.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The layers `berth build` made for models (its history names them `model:<name>`), so that the
 * base's and berth's own layers are not fetched; every layer when the history does not line up.
 */
export function modelLayers<L>(
  layers: readonly L[],
  history: readonly Record<string, unknown>[],
): readonly L[] {
  const nonEmpty = history.filter((h) => h['empty_layer'] !== true);
  if (nonEmpty.length !== layers.length) return layers;
  const picked = layers.filter((_, i) => {
    const by = nonEmpty[i]?.['created_by'];
    return typeof by === 'string' && /^berth build \S+: model:/.test(by);
  });
  return picked.length > 0 ? picked : layers;
}

/** A layer's entries under models/, written below `dir`; anything else is skipped. */
async function extractModels(file: string, gzip: boolean, dir: string): Promise<void> {
  const extract = tar.extract();
  const done = (async () => {
    for await (const entry of extract) {
      const name = entry.header.name.replace(/^\.?\//, '');
      if (!name.startsWith('models/') || name.split('/').some((p) => p === '..') || name.includes('/.wh.')) {
        entry.resume();
        continue;
      }
      const rel = normalize(name.slice('models/'.length));
      const target = join(dir, rel);
      if (rel === '' || rel === '.' || !(target + sep).startsWith(dir + sep)) {
        entry.resume();
        continue;
      }
      if (entry.header.type === 'directory') {
        await mkdir(target, { recursive: true });
        entry.resume();
      } else if (entry.header.type === 'file') {
        await mkdir(dirname(target), { recursive: true });
        await pipeline(entry, createWriteStream(target, { mode: 0o644 }));
      } else {
        throw invalid(
          `${entry.header.name}: a ${entry.header.type} in the models tree; berth images hold files and folders only`,
        );
      }
    }
  })();
  const read = gzip
    ? pipeline(createReadStream(file), createGunzip(), extract)
    : pipeline(createReadStream(file), extract);
  await Promise.all([read, done]);
}

/**
 * Fetches the models of `image` into `dir`.
 *
 * @throws BerthError BERTH_ERR_PACKAGING_INVALID_IMAGE when the image holds no berth models or a
 *   file does not match its recorded sha256; registry errors as `berth build --base` reports them.
 */
export async function pullModels(options: PullModelsOptions): Promise<PulledModels> {
  const reference = parseImageReference(options.image);
  const scratch = await mkdtemp(join(tmpdir(), 'berth-models-pull-'));
  try {
    const client = await registryClientFor(reference.registry, options);
    const cache = new LayerCache(join(scratch, 'cache'));
    await cache.init();
    const image = await openBase({ kind: 'registry', reference }, options.platform, {
      cache,
      scratch,
      client: () => client,
    });
    const digest = image.manifestDescriptor.digest;
    const labels = (image.config.config?.['Labels'] ?? {}) as Record<string, string>;
    const models = labelledModels(labels);
    if (models.length === 0)
      throw invalid(
        `${options.image}: the image records no berth models (berth.model.* labels); build it with berth build MODELS`,
      );
    const marker = join(options.dir, PULLED_MARKER);
    const held = await readFile(marker, 'utf8').then(
      (text) => (JSON.parse(text) as { digest?: string }).digest,
      () => undefined,
    );
    if (held === digest) return { digest, models, fetched: false };
    await mkdir(options.dir, { recursive: true });
    for (const layer of modelLayers(image.manifest.layers, image.config.history ?? [])) {
      const gzip = layer.mediaType === MEDIA_TYPE.layerGzip;
      await extractModels(await image.blobFile(layer), gzip, options.dir);
    }
    for (const model of models) {
      const file = join(options.dir, model.name, String(model.version), 'model.onnx');
      const actual = await fileSha256(file).catch(() => undefined);
      if (actual !== undefined && actual !== model.sha256)
        throw invalid(
          `${options.image}: ${model.name}/${model.version}/model.onnx is ${actual}, the image's label says ${model.sha256}`,
        );
    }
    await writeFile(marker, `${JSON.stringify({ image: options.image, digest, models }, null, 2)}\n`);
    return { digest, models, fetched: true };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
