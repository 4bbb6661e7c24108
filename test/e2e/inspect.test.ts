/** `berth inspect` as a real process. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildIrisModel } from '../../src/runtime/index.js';
import { runCli } from '../helpers/cli.js';
import { tempDirsForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirsForFile('berth-inspect-');

const dir = tempDir();
const iris = join(dir, 'iris.onnx');
writeFileSync(iris, buildIrisModel());

describe('berth inspect', () => {
  it('prints inputs, outputs with -1 for dynamic dims, opsets and metadata', () => {
    const result = runCli(['inspect', iris]);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/features\s+FP32\s+\[-1 \(batch\), 4\]/);
    expect(result.stdout).toMatch(/label\s+BYTES\s+\[-1 \(batch\)\]/);
    expect(result.stdout).toMatch(/opsets ai\.onnx 13/);
    expect(result.stdout).toMatch(/metadata:/);
  });

  it('prints JSON with --json', () => {
    const result = runCli(['inspect', iris, '--json']);
    expect(result.status).toBe(0);
    const json = JSON.parse(result.stdout) as { inputs: unknown[]; opsets: unknown[]; sha256: string };
    expect(json.inputs).toEqual([
      { name: 'features', datatype: 'FP32', shape: [-1, 4], dims: ['batch', 4], onnxType: 'tensor(float)' },
    ]);
    expect(json.opsets).toEqual([{ domain: 'ai.onnx', version: 13 }]);
    expect(json.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('exits non-zero with a clear message for a file that is not ONNX', () => {
    const bad = join(dir, 'bad.onnx');
    writeFileSync(bad, 'hello world');
    const result = runCli(['inspect', bad]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/not an ONNX model.*BERTH_ERR_RUNTIME_INVALID_MODEL/);
    expect(result.stderr).not.toMatch(/at .*\.js:\d+/);
  });
});
