/**
 * Failed loads on real onnxruntime sessions: a file that is not ONNX, and CUDA asked for on a
 * machine whose onnxruntime-node has no CUDA provider (npm's default install).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { doubleModel } from '../../../../test/fixtures/models.js';
import { BerthError } from '../../../ground/index.js';
import type { LoadOptions } from '../../backend.js';
import { createOnnxBackend } from './onnx-backend.js';
import { CUDA_PROVIDER_LIBRARIES, missingCudaLibraries, onnxruntimeBinaryDir } from './onnx-load-error.js';

const dir = mkdtempSync(join(tmpdir(), 'berth-load-error-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cpu: LoadOptions = { intraOpThreads: 1, interOpThreads: 1, spinning: false, execution: 'cpu' };
const backend = createOnnxBackend();

async function loadFailure(...args: Parameters<typeof backend.load>): Promise<BerthError> {
  const result = await backend.load(...args).then(
    async (model) => {
      await model.dispose();
      return undefined;
    },
    (error: unknown) => error,
  );
  expect(result).toBeInstanceOf(BerthError);
  return result as BerthError;
}

describe('a load onnxruntime refuses', () => {
  it('names a file that is not ONNX, as the user input it is', async () => {
    const path = join(dir, 'notonnx.onnx');
    writeFileSync(path, 'this is not onnx');
    const error = await loadFailure({ kind: 'file', path }, cpu);
    expect(error.code).toBe('BERTH_ERR_RUNTIME_INVALID_MODEL');
    expect(error.category).toBe('INVALID_ARGUMENT');
    expect(error.message).toBe(
      `${path}: not an ONNX model: protobuf decoding failed (invalid wire type 4 at offset 1)`,
    );
  });

  it('finds onnxruntime-node binary folder, where it looks for provider libraries', () => {
    expect(onnxruntimeBinaryDir()).toMatch(
      new RegExp(`onnxruntime-node/bin/napi-v6/${process.platform}/${process.arch}$`),
    );
    expect(missingCudaLibraries(dir)).toEqual([...CUDA_PROVIDER_LIBRARIES]);
  });

  // npm installs onnxruntime-node without its CUDA provider; on a machine that has it, this
  // failure cannot be produced (and the model may well load on a GPU).
  it.skipIf(missingCudaLibraries().length === 0)(
    'says what CUDA needs when execution is cuda and the provider is not installed',
    async () => {
      const path = join(dir, 'double.onnx');
      writeFileSync(path, doubleModel());
      const error = await loadFailure({ kind: 'file', path }, { ...cpu, execution: 'cuda' });
      expect(error.code).toBe('BERTH_ERR_RUNTIME_PROVIDER_UNAVAILABLE');
      expect(error.category).toBe('UNAVAILABLE');
      for (const part of [
        'execution "cuda" (config.pbtxt KIND_GPU, config.yaml execution: cuda) cannot be used',
        'libonnxruntime_providers_cuda.so',
        `missing from ${onnxruntimeBinaryDir()}`,
        'ONNXRUNTIME_NODE_INSTALL=cuda12',
        'CUDA 12 and cuDNN 9',
        'docs/gpu.md',
      ]) {
        expect(error.message).toContain(part);
      }
      // The same model loads on the CPU: the failure is the provider's, not the model's.
      const model = await backend.load({ kind: 'file', path }, cpu);
      await model.dispose();
    },
  );
});
