/**
 * A base image pulled from a registry (`berth build --base REGISTRY/NAME:TAG`), from the point
 * where the registry has answered: the manifest or image index fetched by tag, an index resolved
 * by platform to a manifest fetched by digest, the manifest's media type, layers and config. The
 * registry is the input: a JSON document of parts (fuzz/image-parts.ts) — `index` answers the tag
 * when there is one, else `manifest` does — served by an in-process client with the parts' real
 * digests, as RegistryClient returns them once it has checked them.
 */
import { Readable } from 'node:stream';
import type * as Ground from '../../src/ground/index.js';
import type * as Packaging from '../../src/packaging/index.js';
import type * as Cache from '../../src/packaging/layer-cache.js';
import { imageParts, type ImagePart } from '../image-parts.ts';
import { mutateJson } from '../json-mutate.ts';
import { inRunFolder, openBaseImage } from '../open-base.ts';
import { berth, text, utf8, scratchFolder, type FuzzTarget } from '../target.ts';

const packaging = await berth<typeof Packaging>('packaging/index.js');
const layers = await berth<typeof Cache>('packaging/layer-cache.js');
const ground = await berth<typeof Ground>('ground/index.js');

const ROOT = scratchFolder('registry-manifest');

const INDEX_TYPE = 'application/vnd.oci.image.index.v1+json';
const MANIFEST_TYPE = 'application/vnd.oci.image.manifest.v1+json';

/** What the registry answers, from the described parts; a raw input is the tag's manifest. */
function registryOf(data: Uint8Array) {
  const parts = imageParts(data, 'manifest') ?? {};
  const raw = Object.keys(parts).length === 0;
  const byDigest = new Map<string, ImagePart>(Object.values(parts).map((part) => [part.digest, part]));
  const missing = (what: string) =>
    new ground.BerthError('BERTH_ERR_PACKAGING_IMAGE_NOT_FOUND', `${what}: not found`);
  const tagged = parts.index ?? parts.manifest;
  return {
    manifest: (_repository: string, reference: string) => {
      if (raw) {
        return Promise.resolve({
          bytes: Buffer.from(data),
          mediaType: MANIFEST_TYPE,
          digest: 'sha256:' + '0'.repeat(64),
        });
      }
      const part = reference.startsWith('sha256:') ? byDigest.get(reference) : tagged;
      if (part === undefined) return Promise.reject(missing(reference));
      const mediaType = part.mediaType ?? (part === parts.index ? INDEX_TYPE : MANIFEST_TYPE);
      return Promise.resolve({ bytes: Buffer.from(part.bytes), mediaType, digest: part.digest });
    },
    blob: (_repository: string, digest: string) => {
      const part = byDigest.get(digest);
      return part === undefined
        ? Promise.reject(missing(digest))
        : Promise.resolve(Readable.from([Buffer.from(part.bytes)]));
    },
  };
}

const CONFIG = { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: ['@layer'] } };
const MANIFEST = {
  schemaVersion: 2,
  mediaType: MANIFEST_TYPE,
  config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: '@config', size: 0 },
  layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: '@layer', size: 7 }],
};

export const target: FuzzTarget = {
  name: 'registry-manifest',
  description: "a registry's answers for a base image: manifest or image index by tag, by platform, config",
  focus: [
    '/packaging/image-documents',
    '/packaging/image-source',
    '/packaging/oci-layout',
    '/packaging/blob-store',
  ],
  dictionary: [
    '"@manifest"',
    '"@config"',
    '"@layer"',
    '"mediaType"',
    '"digest"',
    '"size"',
    '"platform"',
    '"manifests"',
  ],
  maxLength: 4096,
  seeds: () =>
    Promise.resolve({
      manifest: utf8.encode(JSON.stringify({ layer: 'a layer', config: CONFIG, manifest: MANIFEST })),
      index: utf8.encode(
        JSON.stringify({
          layer: 'a layer',
          config: CONFIG,
          manifest: { ...MANIFEST, mediaType: 'application/vnd.docker.distribution.manifest.v2+json' },
          index: {
            schemaVersion: 2,
            mediaType: INDEX_TYPE,
            manifests: [
              {
                mediaType: MANIFEST_TYPE,
                digest: '@manifest',
                size: 1,
                platform: { os: 'linux', architecture: 'arm64' },
              },
              {
                mediaType: MANIFEST_TYPE,
                digest: '@manifest',
                size: 1,
                platform: { os: 'linux', architecture: 'amd64' },
              },
            ],
          },
        }),
      ),
    }),
  mutate: (data, random) => {
    const json = mutateJson(text.decode(data), random);
    return json === undefined ? undefined : utf8.encode(json);
  },
  run: (data) =>
    inRunFolder(ROOT, async (dir) => {
      const cache = new layers.LayerCache(dir);
      await cache.store.init();
      const reference = packaging.parseImageReference('registry.test/base:1');
      return openBaseImage({ kind: 'registry', reference }, dir, {
        cache,
        client: () => registryOf(data) as never,
      });
    }),
};
