/**
 * `berth build` timings and image sizes for BENCHMARKS.md: the built-in example and mobilenet_v2,
 * each built cold (empty layer cache), again from the cache, and pushed to a local registry
 * (Debian's docker-registry) twice (the second push finds every blob present). Uses the test base
 * image (the host's node laid out like distroless), since no registry on the internet is reachable.
 *
 * Usage (after `npm run build` at the top and one `npm run bench` for bench/models):
 *   cd bench && npx tsx src/image-build.ts [--runs 3]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildBaseImage } from '../../test/helpers/base-image.js';
import { startRegistry } from '../../test/helpers/registry.js';
import { BENCH_DIR, BERTH_BIN } from './paths.js';

interface Layer {
  name: string;
  size: number;
  uncompressedSize?: number;
  cached?: boolean;
}

interface Result {
  digest: string;
  layers: Layer[];
  addedSize: number;
  ms: number;
}

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1] ?? 3) || 3;
const mib = (bytes: number) => `${(bytes / (1 << 20)).toFixed(1)} MiB`;

function berth(args: string[], cacheDir: string): Result {
  const started = performance.now();
  const run = spawnSync(process.execPath, [BERTH_BIN, 'build', ...args, '--json'], {
    encoding: 'utf8',
    env: { ...process.env, BERTH_CACHE_DIR: cacheDir, SOURCE_DATE_EPOCH: '0' },
    maxBuffer: 16 << 20,
  });
  if (run.status !== 0) throw new Error(`berth build ${args.join(' ')}: ${run.stderr}`);
  const result = JSON.parse(run.stdout) as Result;
  return { ...result, ms: Math.round(performance.now() - started) };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

const baseDir = mkdtempSync(join(tmpdir(), 'berth-bench-base-'));
const base = await buildBaseImage(baseDir);
const registry = await startRegistry();
const images: { label: string; models: string[] }[] = [
  { label: 'built-in iris', models: [] },
  { label: 'mobilenet_v2', models: [join(BENCH_DIR, 'models', 'repos', 'mobilenet_v2.batching')] },
];
const rows: string[] = [];
const sizeRows: string[] = [];
try {
  for (const image of images) {
    const times = {
      cold: [] as number[],
      cached: [] as number[],
      pushCold: [] as number[],
      pushAgain: [] as number[],
    };
    let sample: Result | undefined;
    for (let run = 0; run < runs; run++) {
      const cache = mkdtempSync(join(tmpdir(), 'berth-bench-cache-'));
      const out = () => `oci:${mkdtempSync(join(tmpdir(), 'berth-bench-out-'))}`;
      const args = [...image.models, '--base', `oci:${base.dir}:${base.ref}`];
      const cold = berth([...args, '--output', out()], cache);
      const cached = berth([...args, '--output', out()], cache);
      if (cached.digest !== cold.digest) throw new Error('a cached build gave another digest');
      const ref = `${registry.host}/bench/${image.label.replace(/[^a-z0-9]+/g, '-')}-${run}:1`;
      const pushArgs = [...args, '--push', ref, '--insecure-registry', registry.host];
      const pushCold = berth(pushArgs, mkdtempSync(join(tmpdir(), 'berth-bench-cache-')));
      const pushAgain = berth(pushArgs, cache);
      times.cold.push(cold.ms);
      times.cached.push(cached.ms);
      times.pushCold.push(pushCold.ms);
      times.pushAgain.push(pushAgain.ms);
      sample = cold;
      rmSync(cache, { recursive: true, force: true });
    }
    rows.push(
      `| ${image.label} | ${median(times.cold)} ms | ${median(times.cached)} ms | ${median(times.pushCold)} ms | ${median(times.pushAgain)} ms |`,
    );
    for (const layer of sample?.layers ?? []) {
      sizeRows.push(
        `| ${image.label} | ${layer.name} | ${mib(layer.size)} | ${layer.uncompressedSize === undefined ? '-' : mib(layer.uncompressedSize)} |`,
      );
    }
    sizeRows.push(`| ${image.label} | **added by berth** | **${mib(sample?.addedSize ?? 0)}** | |`);
  }
} finally {
  await registry.stop();
  rmSync(baseDir, { recursive: true, force: true });
}
process.stdout.write(
  [
    `Median of ${runs} runs. Node ${process.version}.`,
    '',
    '| image | build, cold cache | build, cached | push to an empty registry (cold cache) | push again (cached) |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
    '| image | layer | compressed | uncompressed |',
    '| --- | --- | ---: | ---: |',
    ...sizeRows,
    '',
  ].join('\n'),
);
