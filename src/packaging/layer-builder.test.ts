import { writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { BlobStore } from './blob-store.js';
import { sha256 } from './digest.js';
import { buildLayer, completeEntries, type LayerEntry } from './layer-builder.js';
import { LayerCache } from './layer-cache.js';
import { tempDirsForFile } from '../../test/helpers/temp-dir.js';

const tempDir = tempDirsForFile('berth-layer-src-');

async function store(): Promise<BlobStore> {
  const s = new BlobStore(tempDir('berth-layer-'));
  await s.init();
  return s;
}

/** Every header of a tar, in order. */
async function headers(bytes: Buffer): Promise<tar.Header[]> {
  const extract = tar.extract();
  const out: tar.Header[] = [];
  const done = new Promise<void>((resolve, reject) => {
    extract.on('entry', (header, stream, next) => {
      out.push(header);
      stream.on('end', next);
      stream.resume();
    });
    extract.on('finish', resolve);
    extract.on('error', reject);
  });
  extract.end(bytes);
  await done;
  return out;
}

describe('completeEntries', () => {
  it('adds every parent directory and sorts bytewise', () => {
    const entries: LayerEntry[] = [
      { type: 'file', path: 'b/z.txt', mode: 0o644, source: new Uint8Array() },
      { type: 'file', path: 'a/B/c.txt', mode: 0o644, source: new Uint8Array() },
      { type: 'symlink', path: 'a/link', target: 'B/c.txt' },
    ];
    expect(completeEntries(entries).map((e) => `${e.type}:${e.path}`)).toEqual([
      'directory:a',
      'directory:a/B',
      'file:a/B/c.txt',
      'symlink:a/link',
      'directory:b',
      'file:b/z.txt',
    ]);
  });

  it('refuses absolute, unnormalised and repeated paths', () => {
    for (const path of ['/etc/passwd', 'a/../b', 'a//b', './a']) {
      expect(() => completeEntries([{ type: 'directory', path, mode: 0o755 }])).toThrow(
        /relative and normalised/,
      );
    }
    const twice: LayerEntry = { type: 'directory', path: 'a', mode: 0o755 };
    expect(() => completeEntries([twice, twice])).toThrow(/given twice/);
  });
});

describe('buildLayer', () => {
  it('gives the same digest for the same entries, whatever the files on disk say about time and owner', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'x.js'), 'console.log(1);\n');
    const entries: LayerEntry[] = [
      { type: 'file', path: 'app/x.js', mode: 0o644, source: join(dir, 'x.js') },
      { type: 'file', path: 'app/data.bin', mode: 0o600, source: new Uint8Array([1, 2, 3]), uid: 65532 },
      { type: 'directory', path: 'tmp', mode: 0o1777 },
    ];
    const epoch = new Date(1_700_000_000_000);
    const one = await buildLayer(await store(), entries, epoch);
    writeFileSync(join(dir, 'x.js'), 'console.log(1);\n'); // same bytes, new mtime
    const two = await buildLayer(await store(), [...entries].reverse(), epoch);
    expect(two.descriptor.digest).toBe(one.descriptor.digest);
    expect(two.diffId).toBe(one.diffId);
    const other = await buildLayer(await store(), entries, new Date(0));
    expect(other.descriptor.digest).not.toBe(one.descriptor.digest);
  });

  it('writes a gzip blob whose digest and diff_id match its bytes, with normalised headers', async () => {
    const s = await store();
    const layer = await buildLayer(
      s,
      [
        { type: 'file', path: 'app/run.sh', mode: 0o755, source: new Uint8Array(Buffer.from('#!/bin/sh\n')) },
        { type: 'symlink', path: 'app/latest', target: 'run.sh' },
      ],
      new Date(0),
    );
    const blob = await readFile(s.path(layer.descriptor.digest));
    expect(sha256(blob)).toBe(layer.descriptor.digest);
    expect(blob.byteLength).toBe(layer.descriptor.size);
    expect([...blob.subarray(4, 8)]).toEqual([0, 0, 0, 0]); // no time
    expect(blob[9]).toBe(255); // "unknown" OS, the same on every build machine
    const plain = gunzipSync(blob);
    expect(sha256(plain)).toBe(layer.diffId);
    expect(plain.byteLength).toBe(layer.uncompressedSize);
    const list = await headers(plain);
    expect(list.map((h) => [h.name, h.type, h.mode, h.uid, h.gid, h.uname, h.mtime.getTime()])).toEqual([
      ['app/', 'directory', 0o755, 0, 0, '', 0],
      ['app/latest', 'symlink', 0o777, 0, 0, '', 0],
      ['app/run.sh', 'file', 0o755, 0, 0, '', 0],
    ]);
  });
});

describe('buildLayer with a layer cache', () => {
  const epoch = new Date(0);
  async function fixture() {
    const cache = new LayerCache(tempDir('berth-layer-cache-'));
    await cache.init();
    const file = join(tempDir(), 'weights.bin');
    writeFileSync(file, 'aaaa');
    const entries: LayerEntry[] = [
      { type: 'file', path: 'models/m/1/model.onnx', mode: 0o644, source: file },
      { type: 'file', path: 'models/m/config.yaml', mode: 0o644, source: Buffer.from('maxBatchSize: 4\n') },
    ];
    return { cache, file, entries };
  }

  it('finds an unchanged layer by its tar, and notices a same-size rewrite', async () => {
    const { cache, file, entries } = await fixture();
    const first = await buildLayer(await store(), entries, epoch, cache);
    expect(first.cached).toBe(false);
    // Just written, so only the tar's diff_id may answer (see the next test).
    const again = await buildLayer(await store(), entries, epoch, cache);
    expect(again).toEqual({ ...first, cached: true, cachedBy: 'tar' });
    writeFileSync(file, 'bbbb');
    const changed = await buildLayer(await store(), entries, epoch, cache);
    expect(changed.cached).toBe(false);
    expect(changed.diffId).not.toBe(first.diffId);
    writeFileSync(file, 'aaaa');
    expect(await buildLayer(await store(), entries, epoch, cache)).toEqual({
      ...first,
      cached: true,
      cachedBy: 'tar',
    });
    const other = await buildLayer(
      await store(),
      [
        entries[0] as LayerEntry,
        { type: 'file', path: 'models/m/config.yaml', mode: 0o644, source: Buffer.from('x') },
      ],
      epoch,
      cache,
    );
    expect(other.cached).toBe(false);
  });

  it('finds a layer of settled files by their metadata alone, and misses once one is rewritten', async () => {
    const { cache, file, entries } = await fixture();
    await new Promise((resolve) => setTimeout(resolve, 2100));
    const first = await buildLayer(await store(), entries, epoch, cache);
    expect(await buildLayer(await store(), entries, epoch, cache)).toEqual({
      ...first,
      cached: true,
      cachedBy: 'files',
    });
    writeFileSync(file, 'bbbb');
    const changed = await buildLayer(await store(), entries, epoch, cache);
    expect(changed.cached).toBe(false);
    expect(changed.diffId).not.toBe(first.diffId);
  });
});
