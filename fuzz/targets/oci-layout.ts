/**
 * A base image given as an OCI image layout (`berth build --base oci:DIR`): index.json, then
 * through image indexes by platform to a manifest and its config, then the manifest's layers
 * checked and converted to OCI media types. The input is a JSON document of the layout's parts
 * (fuzz/image-parts.ts) written as blobs with their real digests, and index.json; an input that
 * is not such a document is written as index.json itself.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { imageParts } from '../image-parts.ts';
import { mutateJson } from '../json-mutate.ts';
import { inRunFolder, openBaseImage } from '../open-base.ts';
import { text, utf8, scratchFolder, type FuzzTarget } from '../target.ts';

const ROOT = scratchFolder('oci-layout');

const CONFIG = {
  architecture: 'amd64',
  os: 'linux',
  rootfs: { type: 'layers', diff_ids: ['@layer'] },
  config: { Env: ['PATH=/usr/bin'] },
};
const MANIFEST = {
  schemaVersion: 2,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: '@config', size: 1 },
  layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: '@layer', size: 1 }],
};
const descriptor = (mediaType: string, extra: object = {}) => ({
  mediaType,
  digest: '@manifest',
  size: 1,
  ...extra,
});

/** Writes the layout an input describes into `dir`: its parts as blobs, and index.json. */
function writeLayout(dir: string, data: Uint8Array): void {
  mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
  writeFileSync(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const parts = imageParts(data, 'index');
  if (parts === undefined) {
    writeFileSync(join(dir, 'index.json'), data);
    return;
  }
  for (const [name, part] of Object.entries(parts)) {
    if (name === 'index') writeFileSync(join(dir, 'index.json'), part.bytes);
    else writeFileSync(join(dir, 'blobs', 'sha256', part.digest.slice(7)), part.bytes);
  }
}

export const target: FuzzTarget = {
  name: 'oci-layout',
  description: 'a base image as an OCI image layout: index.json, image indexes by platform, manifest, config',
  focus: [
    '/packaging/image-documents',
    '/packaging/oci-layout',
    '/packaging/image-source',
    '/packaging/blob-store',
    '/packaging/digest',
  ],
  dictionary: [
    '"@manifest"',
    '"@config"',
    '"@layer"',
    '"@nested"',
    '"mediaType"',
    '"digest"',
    '"platform"',
    '"manifests"',
  ],
  maxLength: 4096,
  seeds: () =>
    Promise.resolve({
      image: utf8.encode(
        JSON.stringify({
          index: {
            schemaVersion: 2,
            manifests: [
              descriptor(MANIFEST.mediaType, {
                annotations: { 'org.opencontainers.image.ref.name': 'base' },
              }),
            ],
          },
          manifest: MANIFEST,
          config: CONFIG,
          layer: 'a layer',
        }),
      ),
      'multi-platform': utf8.encode(
        JSON.stringify({
          index: {
            schemaVersion: 2,
            manifests: [{ mediaType: 'application/vnd.oci.image.index.v1+json', digest: '@nested', size: 1 }],
          },
          nested: {
            schemaVersion: 2,
            manifests: [
              descriptor(MANIFEST.mediaType, {
                platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
              }),
              descriptor(MANIFEST.mediaType, { platform: { os: 'linux', architecture: 'amd64' } }),
            ],
          },
          manifest: MANIFEST,
          config: CONFIG,
          layer: 'a layer',
        }),
      ),
      'plain-index': utf8.encode('{"schemaVersion":2,"manifests":[]}'),
    }),
  mutate: (data, random) => {
    const json = mutateJson(text.decode(data), random);
    return json === undefined ? undefined : utf8.encode(json);
  },
  run: (data) =>
    inRunFolder(ROOT, (dir) => {
      writeLayout(dir, data);
      return openBaseImage({ kind: 'oci', path: dir }, ROOT);
    }),
};
