/**
 * Why onnxruntime could not create a session, said in terms a user can act on. onnxruntime's own
 * messages name neither the file nor the fix ("Protobuf parsing failed", "Failed to load shared
 * library"), so a failed load is looked at again here: a file that is not ONNX is the user's
 * input (INVALID_ARGUMENT), a CUDA execution provider that is missing is the machine's setup
 * (UNAVAILABLE, with what to install: docs/gpu.md), and anything else stays a runtime failure.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { BerthError } from '../../../ground/index.js';
import type { ModelArtifact } from '../../../repository/index.js';
import type { LoadOptions } from '../../backend.js';
import { readOnnxModelInfo } from './onnx-model.js';

/** The CUDA provider libraries onnxruntime-node loads for `executionProviders: ['cuda']` (Linux). */
export const CUDA_PROVIDER_LIBRARIES = [
  'libonnxruntime_providers_shared.so',
  'libonnxruntime_providers_cuda.so',
] as const;

export const GPU_DOCS = 'docs/gpu.md';

/** The folder holding onnxruntime-node's native binding, where it looks for provider libraries. */
export function onnxruntimeBinaryDir(): string {
  const main = createRequire(import.meta.url).resolve('onnxruntime-node');
  return join(dirname(main), '..', 'bin', 'napi-v6', process.platform, process.arch);
}

/** The CUDA provider libraries missing from `dir`. */
export function missingCudaLibraries(dir: string = onnxruntimeBinaryDir()): string[] {
  return CUDA_PROVIDER_LIBRARIES.filter((name) => !existsSync(join(dir, name)));
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Why CUDA could not be used; undefined when the failure does not look like CUDA's. */
function cudaProblem(ortMessage: string): string | undefined {
  const where = `${process.platform}/${process.arch}`;
  if (where !== 'linux/x64' && where !== 'win32/x64') {
    return `onnxruntime-node has no CUDA execution provider for ${where} (only linux/x64 and win32/x64)`;
  }
  if (where === 'linux/x64') {
    const dir = onnxruntimeBinaryDir();
    const missing = missingCudaLibraries(dir);
    if (missing.length > 0) {
      return (
        `onnxruntime-node's CUDA execution provider is not installed: ${missing.join(', ')} missing from ${dir}. ` +
        'npm does not install it by default: reinstall onnxruntime-node with ONNXRUNTIME_NODE_INSTALL=cuda12 ' +
        '(its install script fetches the libraries from NuGet), on a machine with CUDA 12 and cuDNN 9'
      );
    }
  }
  if (!/cuda|shared library|provider/i.test(ortMessage)) return undefined;
  return (
    `the CUDA execution provider is installed but could not start (${ortMessage}): it needs CUDA 12 ` +
    '(libcudart.so.12, libcublas.so.12) and cuDNN 9 (libcudnn.so.9) on the library path, and a visible GPU'
  );
}

/** Why the bytes are not an ONNX model, or undefined when they parse as one. */
async function notOnnx(artifact: ModelArtifact): Promise<string | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = artifact.kind === 'file' ? await readFile(artifact.path) : artifact.bytes;
  } catch {
    return undefined;
  }
  try {
    readOnnxModelInfo(bytes);
    return undefined;
  } catch (error) {
    return messageOf(error);
  }
}

/**
 * The BerthError for a session onnxruntime could not create.
 *
 * @example
 * try { await ort.InferenceSession.create(path, options) }
 * catch (error) { throw await explainLoadFailure(error, artifact, loadOptions) }
 */
export async function explainLoadFailure(
  error: unknown,
  artifact: ModelArtifact,
  options: LoadOptions,
): Promise<BerthError> {
  const ortMessage = messageOf(error);
  const where = artifact.kind === 'file' ? `${artifact.path}: ` : '';
  const invalid = await notOnnx(artifact);
  if (invalid !== undefined) {
    return new BerthError('BERTH_ERR_RUNTIME_INVALID_MODEL', `${where}${invalid}`, { cause: error });
  }
  if (options.execution === 'cuda') {
    const problem = cudaProblem(ortMessage);
    if (problem !== undefined) {
      return new BerthError(
        'BERTH_ERR_RUNTIME_PROVIDER_UNAVAILABLE',
        `execution "cuda" (config.pbtxt KIND_GPU, config.yaml execution: cuda) cannot be used: ${problem}. ` +
          `Use KIND_CPU (execution: cpu) to run on the CPU; see ${GPU_DOCS} in the berth package`,
        { cause: error },
      );
    }
  }
  return new BerthError(
    'BERTH_ERR_RUNTIME_LOAD_FAILED',
    `onnxruntime could not load the model: ${ortMessage}`,
    {
      cause: error,
    },
  );
}
