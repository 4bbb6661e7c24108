/**
 * A base image given as a `docker save` archive (`berth build --base docker-archive:FILE`): the
 * tar unpacked (names that leave its folder refused), manifest.json read, and the config and
 * layer files it names made into blobs. The input is a JSON document of the archive's files —
 * `{"manifest.json": …, "files": {"NAME": …}}`, each value written as JSON or, for a string, as
 * text — packed into a tar; an input that is not such a document is manifest.json itself.
 */
import { mutateJson } from '../json-mutate.ts';
import { openArchive } from '../open-base.ts';
import { text, utf8, scratchFolder, type FuzzTarget } from '../target.ts';

const ROOT = scratchFolder('docker-archive');

const bytesOf = (value: unknown) =>
  typeof value === 'string' ? utf8.encode(value) : utf8.encode(JSON.stringify(value));

/** The archive's files an input describes. */
function filesOf(data: Uint8Array): Record<string, Uint8Array> {
  try {
    const parsed = JSON.parse(text.decode(data)) as unknown;
    if (
      parsed !== null &&
      typeof parsed === 'object' &&
      !Array.isArray(parsed) &&
      'manifest.json' in parsed
    ) {
      const { 'manifest.json': manifest, files } = parsed as { 'manifest.json': unknown; files?: unknown };
      const out: Record<string, Uint8Array> = { 'manifest.json': bytesOf(manifest) };
      if (files !== null && typeof files === 'object') {
        for (const [name, value] of Object.entries(files)) out[name] = bytesOf(value);
      }
      return out;
    }
  } catch {
    // not a description: the bytes are manifest.json
  }
  return { 'manifest.json': data };
}

const CONFIG = { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } };

export const target: FuzzTarget = {
  name: 'docker-archive',
  description: 'a base image as a docker save archive: tar unpacking, manifest.json, config and layer files',
  focus: [
    '/packaging/image-documents',
    '/packaging/image-source',
    '/packaging/blob-store',
    '/packaging/oci-layout',
  ],
  dictionary: [
    '"Config"',
    '"Layers"',
    '"RepoTags"',
    '"../"',
    '"/etc/passwd"',
    '"config.json"',
    '"layer.tar"',
  ],
  maxLength: 4096,
  seeds: () =>
    Promise.resolve({
      image: utf8.encode(
        JSON.stringify({
          'manifest.json': [{ Config: 'config.json', RepoTags: ['base:1'], Layers: ['layer.tar'] }],
          files: { 'config.json': CONFIG, 'layer.tar': 'layer bytes' },
        }),
      ),
      'two-layers': utf8.encode(
        JSON.stringify({
          'manifest.json': [{ Config: 'c/config.json', Layers: ['l/1.tar', 'l/2.tar'] }],
          files: { 'c/config.json': CONFIG, 'l/1.tar': 'one', 'l/2.tar': 'two' },
        }),
      ),
    }),
  mutate: (data, random) => {
    const json = mutateJson(text.decode(data), random);
    return json === undefined ? undefined : utf8.encode(json);
  },
  run: (data) => openArchive('docker-archive', filesOf(data), ROOT),
};
