import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isBerthError } from '../ground/index.js';
import { findNode, nodeCandidates } from './base-node.js';
import { BlobStore } from './blob-store.js';
import type { BaseImage } from './image-source.js';
import { buildLayer, type LayerEntry } from './layer-builder.js';
import { MEDIA_TYPE } from './media-types.js';
import type { ImageConfig } from './oci-layout.js';
import { tempDirsForFile } from '../../test/helpers/temp-dir.js';

const tempDir = tempDirsForFile('berth-base-node-');

const EXECUTABLE = Buffer.from('#!/bin/sh\n');

/** A base image of these layers (in order) and this config, in a store of its own. */
async function baseOf(layers: LayerEntry[][], config: ImageConfig['config']): Promise<BaseImage> {
  const store = new BlobStore(tempDir());
  await store.init();
  const built = [];
  for (const entries of layers) built.push(await buildLayer(store, entries, new Date(0)));
  const imageConfig = {
    architecture: 'amd64',
    os: 'linux',
    config,
    rootfs: { type: 'layers', diff_ids: built.map((l) => l.diffId) },
  } as ImageConfig;
  const configDescriptor = await store.putJson(MEDIA_TYPE.config, imageConfig);
  const manifest = {
    schemaVersion: 2 as const,
    mediaType: MEDIA_TYPE.manifest,
    config: configDescriptor,
    layers: built.map((l) => l.descriptor),
  };
  return {
    name: 'test/base:1',
    manifest,
    manifestDescriptor: await store.putJson(MEDIA_TYPE.manifest, manifest),
    config: imageConfig,
    blobFile: (d) => Promise.resolve(store.path(d.digest)),
  };
}

function file(path: string, mode = 0o755): LayerEntry {
  return { type: 'file', path, mode, source: EXECUTABLE };
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (isBerthError(error) && error.code === 'BERTH_ERR_PACKAGING_NO_NODE') return error.message;
    throw error;
  }
  throw new Error('expected the base to be refused');
}

describe('nodeCandidates', () => {
  it('tries the entrypoint when it is node, then node in each PATH folder, then distroless', async () => {
    const base = await baseOf([[file('x')]], {
      Entrypoint: ['/nodejs/bin/node'],
      Env: ['PATH=/usr/local/bin:/usr/bin'],
    });
    expect(nodeCandidates(base)).toEqual(['/nodejs/bin/node', '/usr/local/bin/node', '/usr/bin/node']);
    expect(nodeCandidates(base, '/opt/node')).toEqual(['/opt/node']);
  });

  it("skips an entrypoint that is a script, and uses Docker's PATH when the config has none", async () => {
    const base = await baseOf([[file('x')]], { Entrypoint: ['docker-entrypoint.sh'], Cmd: ['node'] });
    expect(nodeCandidates(base)).toEqual([
      '/usr/local/sbin/node',
      '/usr/local/bin/node',
      '/usr/sbin/node',
      '/usr/bin/node',
      '/sbin/node',
      '/bin/node',
      '/nodejs/bin/node',
    ]);
  });
});

describe('findNode', () => {
  it("finds distroless's node from the entrypoint", async () => {
    const base = await baseOf([[file('nodejs/bin/node')]], { Entrypoint: ['/nodejs/bin/node'] });
    expect(await findNode(base, undefined)).toBe('/nodejs/bin/node');
  });

  it("finds the official node images' /usr/local/bin/node behind docker-entrypoint.sh", async () => {
    const base = await baseOf([[file('usr/local/bin/docker-entrypoint.sh'), file('usr/local/bin/node')]], {
      Entrypoint: ['docker-entrypoint.sh'],
      Cmd: ['node'],
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
    });
    expect(await findNode(base, undefined)).toBe('/usr/local/bin/node');
  });

  it('follows symbolic links, in the file and in its folders (a merged /usr)', async () => {
    const base = await baseOf(
      [
        [
          { type: 'symlink', path: 'bin', target: 'usr/bin' },
          { type: 'symlink', path: 'usr/bin/node', target: '../lib/node/bin/node' },
          file('usr/lib/node/bin/node'),
        ],
      ],
      { Env: ['PATH=/bin'] },
    );
    expect(await findNode(base, undefined)).toBe('/bin/node');
  });

  it('applies later layers: a whiteout or an opaque folder removes node', async () => {
    const whiteout = await baseOf([[file('usr/bin/node')], [file('usr/bin/.wh.node', 0o644)]], {
      Env: ['PATH=/usr/bin'],
    });
    expect(await refusal(findNode(whiteout, undefined))).toContain('/usr/bin/node');
    const opaque = await baseOf([[file('usr/bin/node')], [file('usr/bin/.wh..wh..opq', 0o644)]], {
      Env: ['PATH=/usr/bin'],
    });
    await refusal(findNode(opaque, undefined));
    const readded = await baseOf(
      [[file('usr/bin/node')], [file('usr/bin/.wh.node', 0o644)], [file('usr/bin/node')]],
      {
        Env: ['PATH=/usr/bin'],
      },
    );
    expect(await findNode(readded, undefined)).toBe('/usr/bin/node');
  });

  it('refuses a base without node, naming the base and every path tried', async () => {
    const base = await baseOf([[file('usr/bin/python3'), file('usr/local/bin/node', 0o644)]], {
      Entrypoint: ['/usr/bin/python3'],
      Env: ['PATH=/usr/local/bin:/usr/bin'],
    });
    const message = await refusal(findNode(base, undefined));
    expect(message).toContain(
      'base image test/base:1 has no node at /usr/local/bin/node, /usr/bin/node, /nodejs/bin/node',
    );
    expect(message).toContain('--node');
  });

  it('checks --node too, and does not look elsewhere', async () => {
    const base = await baseOf([[file('nodejs/bin/node'), file('opt/node/bin/node')]], {});
    expect(await findNode(base, '/opt/node/bin/node')).toBe('/opt/node/bin/node');
    expect(await refusal(findNode(base, '/opt/missing'))).toContain('has no node at /opt/missing;');
  });

  it("remembers the answer for the base's manifest, so a rebuild reads no layer", async () => {
    const memo = tempDir();
    const base = await baseOf([[file('nodejs/bin/node')]], {});
    expect(await findNode(base, undefined, memo)).toBe('/nodejs/bin/node');
    expect(await readdir(join(memo, 'base-node'))).toHaveLength(1);
    const unreadable: BaseImage = { ...base, blobFile: () => Promise.reject(new Error('layer read')) };
    expect(await findNode(unreadable, undefined, memo)).toBe('/nodejs/bin/node');
    await expect(findNode(unreadable, '/other', memo)).rejects.toThrow('layer read');
  });
});
