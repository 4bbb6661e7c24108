/**
 * A distroless-like Node.js base image for tests, since no registry is reachable here: the host's
 * node binary at /nodejs/bin/node (where distroless keeps it), the shared libraries `ldd` says it
 * and onnxruntime's native binaries need (distroless's `cc` base carries all of glibc), /etc/passwd
 * and /etc/group with the nonroot user 65532, and /tmp, written as an OCI image layout. Built once
 * per test file, on first use, and removed after the file's last test: vitest stops its workers
 * with SIGTERM, so a folder kept for the whole worker process would have no exit hook to remove it
 * (and each file runs in a process of its own anyway).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../src/packaging/runtime-files.js';
import {
  BlobStore,
  buildLayer,
  MEDIA_TYPE,
  writeLayoutIndex,
  type LayerEntry,
} from '../../src/packaging/index.js';
import { tempDirsForFile } from './temp-dir.js';

const ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64' };

/** The libraries ldd lists for a binary, and its ELF interpreter: [path as ldd printed it, real file]. */
function sharedLibraries(binary: string): [string, string][] {
  const out = execFileSync('ldd', [binary], { encoding: 'utf8' });
  const libraries: [string, string][] = [];
  for (const line of out.split('\n')) {
    const linked = /=>\s+(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (linked?.[1] !== undefined) libraries.push([linked[1], realpathSync(linked[1])]);
  }
  return libraries;
}

export interface TestBaseImage {
  readonly dir: string;
  readonly ref: string;
  readonly multiRef: string;
}

/**
 * Call at a test file's top level. The returned function gives `oci:DIR:node` holding the base
 * image (and `oci:DIR:multi`, two platforms; `slim` and `nonode`, see below), built on first use.
 *
 * @example
 * const baseImage = testBaseImageForFile();
 * beforeAll(async () => { base = `oci:${(await baseImage()).dir}:node`; });
 */
export function testBaseImageForFile(): () => Promise<TestBaseImage> {
  const tempDir = tempDirsForFile('berth-base-');
  let built: Promise<TestBaseImage> | undefined;
  return () => (built ??= buildBaseImage(tempDir()));
}

/** Builds the base image into `dir` (the caller removes it): for scripts outside vitest. */
export async function buildBaseImage(dir: string): Promise<TestBaseImage> {
  const store = new BlobStore(dir);
  await store.init();
  const node = realpathSync(process.execPath);
  const entries: LayerEntry[] = [
    { type: 'file', path: 'nodejs/bin/node', mode: 0o755, source: node },
    {
      type: 'file',
      path: 'etc/passwd',
      mode: 0o644,
      source: Buffer.from(
        'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n',
      ),
    },
    { type: 'file', path: 'etc/group', mode: 0o644, source: Buffer.from('root:x:0:\nnonroot:x:65532:\n') },
    { type: 'directory', path: 'tmp', mode: 0o1777 },
    { type: 'directory', path: 'home/nonroot', mode: 0o755, uid: 65532 },
  ];
  const seen = new Set<string>();
  const onnx = join(
    PACKAGE_ROOT,
    'node_modules',
    'onnxruntime-node',
    'bin',
    'napi-v6',
    'linux',
    process.arch,
  );
  const natives = readdirSync(onnx)
    .filter((f) => f.endsWith('.node') || f.includes('.so'))
    .map((f) => join(onnx, f));
  for (const [path, real] of [node, ...natives].flatMap(sharedLibraries)) {
    if (path.startsWith(PACKAGE_ROOT)) continue;
    const inImage = path.slice(1);
    if (seen.has(inImage)) continue;
    seen.add(inImage);
    entries.push({ type: 'file', path: inImage, mode: 0o755, source: real });
  }
  const created = new Date(0);
  const layer = await buildLayer(store, entries, created);
  const architecture = ARCH[process.arch] ?? process.arch;
  const config = await store.putJson(MEDIA_TYPE.config, {
    created: created.toISOString(),
    architecture,
    os: 'linux',
    config: {
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      Entrypoint: ['/nodejs/bin/node'],
      User: '65532',
      WorkingDir: '/home/nonroot',
    },
    rootfs: { type: 'layers', diff_ids: [layer.diffId] },
    history: [{ created: created.toISOString(), created_by: 'berth test base: host node and its libraries' }],
  });
  const manifest = await store.putJson(MEDIA_TYPE.manifest, {
    schemaVersion: 2,
    mediaType: MEDIA_TYPE.manifest,
    config,
    layers: [layer.descriptor],
  });
  await writeLayoutIndex(dir, manifest, 'node', 'localhost/berth-test-base:node');

  // Variants on top of the same layer. `slim`: laid out like the official node:*-slim images,
  // node on the PATH at /usr/local/bin/node behind an entrypoint script. `nonode`: node removed
  // by a whiteout in a later layer, while the entrypoint still names it.
  const variant = async (ref: string, extra: LayerEntry[], settings: Record<string, unknown>) => {
    const top = await buildLayer(store, extra, created);
    const variantConfig = await store.putJson(MEDIA_TYPE.config, {
      created: created.toISOString(),
      architecture,
      os: 'linux',
      config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], ...settings },
      rootfs: { type: 'layers', diff_ids: [layer.diffId, top.diffId] },
    });
    const variantManifest = await store.putJson(MEDIA_TYPE.manifest, {
      schemaVersion: 2,
      mediaType: MEDIA_TYPE.manifest,
      config: variantConfig,
      layers: [layer.descriptor, top.descriptor],
    });
    await writeLayoutIndex(dir, variantManifest, ref, `localhost/berth-test-base:${ref}`);
  };
  await variant(
    'slim',
    [
      { type: 'symlink', path: 'usr/local/bin/node', target: '/nodejs/bin/node' },
      {
        type: 'file',
        path: 'usr/local/bin/docker-entrypoint.sh',
        mode: 0o755,
        source: Buffer.from('#!/bin/sh\nexec "$@"\n'),
      },
    ],
    { Entrypoint: ['docker-entrypoint.sh'], Cmd: ['node'] },
  );
  await variant(
    'nonode',
    [{ type: 'file', path: 'nodejs/bin/.wh.node', mode: 0o644, source: Buffer.alloc(0) }],
    {
      Entrypoint: ['/nodejs/bin/node'],
    },
  );

  // `multi`: an index of this image and a linux/arm64 stand-in (never run; it has no real node),
  // for builds of several platforms.
  const other = architecture === 'amd64' ? 'arm64' : 'amd64';
  const standIn = await buildLayer(
    store,
    [
      {
        type: 'file',
        path: 'nodejs/bin/node',
        mode: 0o755,
        source: Buffer.from(`#!/bin/sh\necho ${other} stand-in\n`),
      },
      { type: 'directory', path: 'tmp', mode: 0o1777 },
    ],
    created,
  );
  const standInConfig = await store.putJson(MEDIA_TYPE.config, {
    created: created.toISOString(),
    architecture: other,
    os: 'linux',
    config: { Entrypoint: ['/nodejs/bin/node'], User: '65532' },
    rootfs: { type: 'layers', diff_ids: [standIn.diffId] },
  });
  const standInManifest = await store.putJson(MEDIA_TYPE.manifest, {
    schemaVersion: 2,
    mediaType: MEDIA_TYPE.manifest,
    config: standInConfig,
    layers: [standIn.descriptor],
  });
  const index = await store.putJson(MEDIA_TYPE.index, {
    schemaVersion: 2,
    mediaType: MEDIA_TYPE.index,
    manifests: [
      { ...manifest, platform: { os: 'linux', architecture } },
      { ...standInManifest, platform: { os: 'linux', architecture: other } },
    ],
  });
  await writeLayoutIndex(dir, index, 'multi', 'localhost/berth-test-base:multi');
  return { dir, ref: 'node', multiRef: 'multi' };
}
