/**
 * Commands load only what they use: `berth --version` and `berth health` (every image's health
 * check, run every 10 s) must not load the server, the runtime or the logger. Checked by the
 * packages each run resolves (module.registerHooks, Node 22.15+), not by timing.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BERTH_BIN } from '../helpers/cli.js';
import { tempDirsForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirsForFile('berth-startup-');
const HEAVY = ['fastify', 'onnxruntime-node', '@grpc/grpc-js', 'pino', 'prom-client', 'zod', 'yaml'];

/** The npm packages `berth ARGS` resolves, by name. */
function packagesLoaded(args: string[]): Set<string> {
  const probe = join(tempDir(), 'probe.mjs');
  writeFileSync(
    probe,
    [
      "import { registerHooks } from 'node:module';",
      "import { writeSync } from 'node:fs';",
      'const seen = new Set();',
      'registerHooks({ resolve(specifier, context, next) {',
      '  const result = next(specifier, context);',
      '  const match = /\\/node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(result.url);',
      '  if (match) seen.add(match[1]);',
      '  return result;',
      '} });',
      "process.on('exit', () => writeSync(2, `\\nPACKAGES ${JSON.stringify([...seen])}\\n`));",
    ].join('\n'),
  );
  const run = spawnSync(process.execPath, ['--import', probe, BERTH_BIN, ...args], { encoding: 'utf8' });
  const line = run.stderr.split('\n').find((l) => l.startsWith('PACKAGES '));
  if (line === undefined) throw new Error(`no PACKAGES line; stderr:\n${run.stderr}`);
  return new Set(JSON.parse(line.slice('PACKAGES '.length)) as string[]);
}

describe('berth start-up', () => {
  it('loads neither the server, the runtime nor the logger for --version and health', () => {
    for (const args of [['--version'], ['health', '--url', 'http://127.0.0.1:9']]) {
      const loaded = packagesLoaded(args);
      expect(loaded.has('commander')).toBe(true);
      expect(HEAVY.filter((name) => loaded.has(name))).toEqual([]);
    }
  });

  it('loads the server for serve only when serve runs, not for its --help', () => {
    expect(HEAVY.filter((name) => packagesLoaded(['serve', '--help']).has(name))).toEqual([]);
    const serving = packagesLoaded(['serve', join(tempDir(), 'missing.onnx')]);
    // gRPC starts after the first loads begin (a cold-start choice), so it is not asked for here.
    expect(['fastify', 'pino'].filter((name) => serving.has(name))).toEqual(['fastify', 'pino']);
  });
});
