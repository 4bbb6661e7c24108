/**
 * A base image given as an oci-archive (`berth build --base oci-archive:FILE`): the tar unpacked
 * (names that leave its folder refused), then read as an OCI image layout. The input is the same
 * description of an image's parts as `oci-layout` takes (fuzz/image-parts.ts), packed into a tar
 * with index.json, oci-layout and blobs/sha256/…; an input that is not such a description is the
 * archive's index.json.
 */
import { imageParts } from '../image-parts.ts';
import { mutateJson } from '../json-mutate.ts';
import { openArchive } from '../open-base.ts';
import { scratchFolder, text, utf8, type FuzzTarget } from '../target.ts';
import { target as layout } from './oci-layout.ts';

const ROOT = scratchFolder('oci-archive');

/** The archive's files: the layout an input describes. */
function filesOf(data: Uint8Array): Record<string, Uint8Array> {
  const files: Record<string, Uint8Array> = { 'oci-layout': utf8.encode('{"imageLayoutVersion":"1.0.0"}') };
  const parts = imageParts(data, 'index');
  if (parts === undefined) return { ...files, 'index.json': data };
  for (const [name, part] of Object.entries(parts)) {
    files[name === 'index' ? 'index.json' : `blobs/sha256/${part.digest.slice(7)}`] = part.bytes;
  }
  return files;
}

export const target: FuzzTarget = {
  name: 'oci-archive',
  description: 'a base image as an oci-archive: the tar unpacked, then read as an OCI image layout',
  focus: ['/packaging/oci-layout', '/packaging/image-source', '/packaging/image-documents'],
  dictionary: layout.dictionary,
  maxLength: 4096,
  seeds: () => layout.seeds(),
  mutate: (data, random) => {
    const json = mutateJson(text.decode(data), random);
    return json === undefined ? undefined : utf8.encode(json);
  },
  run: (data) => openArchive('oci-archive', filesOf(data), ROOT),
};
