/**
 * KIND_GPU through the real CLI: on a machine whose onnxruntime-node has no CUDA provider (npm's
 * default install, and this machine), a Triton repository that asks for the GPU stops at start
 * with what is missing and where the docs are, instead of "Failed to load shared library".
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createClient } from '../../src/client/index.js';
import { missingCudaLibraries } from '../../src/runtime/backends/onnx/onnx-load-error.js';
import { doubleModel, writeModel } from '../fixtures/models.js';
import { tempDirsForFile } from '../helpers/temp-dir.js';
import { runCli, startServeForEachTest } from '../helpers/cli.js';

const serve = startServeForEachTest();
const tempDir = tempDirsForFile('berth-e2e-gpu-');

function repositoryWith(configFile: string, config: string): string {
  const repo = tempDir();
  writeModel(repo, 'double', doubleModel());
  writeFileSync(join(repo, 'double', configFile), config);
  return repo;
}

function serveLogs(repo: string, ...extra: string[]) {
  const result = runCli(['serve', repo, '--port', '0', '--grpc-port', '0', '--log-format', 'json', ...extra]);
  const lines = result.stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { status: result.status, lines };
}

describe.skipIf(missingCudaLibraries().length === 0)('a model that asks for the GPU without CUDA', () => {
  it.each([
    ['config.pbtxt', 'platform: "onnxruntime_onnx"\ninstance_group [{ kind: KIND_GPU }]\n'],
    ['config.yaml', 'execution: cuda\n'],
  ])('%s: exits 2 naming the missing CUDA provider libraries and docs/gpu.md', (file, config) => {
    const { status, lines } = serveLogs(repositoryWith(file, config));
    expect(status).toBe(2);
    const failure = lines.find((l) => l.level === 50 && l.model === 'double');
    expect(failure?.code).toBe('BERTH_ERR_RUNTIME_PROVIDER_UNAVAILABLE');
    for (const part of [
      'libonnxruntime_providers_cuda.so',
      'ONNXRUNTIME_NODE_INSTALL=cuda12',
      'docs/gpu.md',
    ]) {
      expect(String(failure?.msg)).toContain(part);
    }
  });

  it('with KIND_CPU the same repository serves', async () => {
    const repo = repositoryWith(
      'config.pbtxt',
      'platform: "onnxruntime_onnx"\ninstance_group [{ kind: KIND_CPU }]\n',
    );
    const p = await serve([repo]);
    await p.waitForLog((l) => String(l.msg).startsWith('models loaded'));
    expect(await createClient({ url: p.url }).modelReady('double')).toBe(true);
  });
});
