import { describe, expect, it } from 'vitest';
import { parseConfig, parseDockerArchiveManifest, parseIndex, parseManifest } from './image-documents.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;
const descriptor = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: DIGEST, size: 10 };

function refusal(read: () => unknown): { code: string; message: string } {
  try {
    read();
  } catch (error) {
    return error as { code: string; message: string };
  }
  throw new Error('expected a refusal');
}

describe('base-image documents', () => {
  it('reads well-formed documents and keeps the fields it does not know', () => {
    const index = parseIndex(
      JSON.stringify({ schemaVersion: 2, manifests: [descriptor], extra: 1 }),
      'index.json',
    );
    expect(index.manifests[0]?.digest).toBe(DIGEST);
    expect((index as unknown as { extra: number }).extra).toBe(1);
    const manifest = parseManifest(
      JSON.stringify({ schemaVersion: 2, config: descriptor, layers: [descriptor] }),
      'm',
    );
    expect(manifest.layers).toHaveLength(1);
    const config = parseConfig(
      JSON.stringify({
        os: 'linux',
        architecture: 'amd64',
        config: null,
        rootfs: { type: 'layers', diff_ids: [DIGEST] },
      }),
      'c',
    );
    expect(config.rootfs.diff_ids).toEqual([DIGEST]);
    expect(
      parseDockerArchiveManifest('[{"Config":"c.json","Layers":["l.tar"],"RepoTags":null}]', 'manifest.json'),
    ).toMatchObject({
      Config: 'c.json',
      Layers: ['l.tar'],
    });
  });

  it('refuses, naming the document and the field, what the fuzzer found crashing the readers', () => {
    // Each of these was a SyntaxError or TypeError inside berth build before.
    expect(refusal(() => parseIndex('{"schemaVersion" 2}', 'base/index.json'))).toMatchObject({
      code: 'BERTH_ERR_PACKAGING_INVALID_IMAGE',
      message: expect.stringMatching(/^base\/index\.json is not JSON: /) as string,
    });
    expect(refusal(() => parseIndex('null', 'base/index.json')).message).toMatch(
      /^base\/index\.json: \(top level\): /,
    );
    expect(refusal(() => parseManifest('{"schemaVersion":2,"layers":[]}', 'blob x')).message).toMatch(
      /^blob x: config: /,
    );
    expect(
      refusal(() =>
        parseManifest(JSON.stringify({ config: { ...descriptor, digest: null }, layers: [] }), 'blob x'),
      ).message,
    ).toMatch(/config\.digest: /);
    expect(
      refusal(() =>
        parseManifest(
          JSON.stringify({ config: descriptor, layers: [{ ...descriptor, digest: 'md5:1' }] }),
          'm',
        ),
      ).message,
    ).toMatch(/layers\.0\.digest: expected a sha256:<64 hex digits> digest/);
    expect(refusal(() => parseConfig('{"os":"linux","architecture":"amd64"}', 'c')).message).toMatch(
      /rootfs: /,
    );
    expect(
      refusal(() => parseDockerArchiveManifest('[{"Config":["c.json"],"Layers":[]}]', 'a.tar')).message,
    ).toMatch(/^a\.tar: 0\.Config: /);
    expect(refusal(() => parseDockerArchiveManifest('[]', 'a.tar')).message).toMatch(
      /expected exactly one image/,
    );
  });
});
