/**
 * What onnxruntime writes of its own while berth serves: no text lines next to the JSON log, even
 * for a model it warns about and a run it fails, and no telemetry files; its lines only at debug.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createClient, outputOf } from '../../src/client/index.js';
import { buildOnnxModel } from '../../src/runtime/backends/onnx/onnx-model.js';
import { doubleModel, writeModel } from '../fixtures/models.js';
import { BERTH_BIN } from '../helpers/cli.js';
import { tempDirsForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirsForFile('berth-onnx-logs-');

/** onnxruntime warns at load: "Removing initializer 'spare'. It is not used by any node". */
function unusedInitializerModel(): Uint8Array {
  return buildOnnxModel({
    graphName: 'unused',
    inputs: [{ name: 'INPUT0', elemType: 'FLOAT', shape: ['batch', 4] }],
    outputs: [{ name: 'OUTPUT0', elemType: 'FLOAT', shape: ['batch', 4] }],
    initializers: [{ name: 'spare', elemType: 'FLOAT', dims: [2], data: [1, 2] }],
    nodes: [{ opType: 'Identity', inputs: ['INPUT0'], outputs: ['OUTPUT0'] }],
  });
}

/** Loads, and fails every run: onnxruntime logs an error line for the Reshape kernel. */
function failingReshapeModel(): Uint8Array {
  return buildOnnxModel({
    graphName: 'bad_reshape',
    inputs: [{ name: 'INPUT0', elemType: 'FLOAT', shape: ['batch', 4] }],
    outputs: [{ name: 'OUTPUT0', elemType: 'FLOAT', shape: [3] }],
    initializers: [{ name: 'shape', elemType: 'INT64', dims: [1], data: [3] }],
    nodes: [{ opType: 'Reshape', inputs: ['INPUT0', 'shape'], outputs: ['OUTPUT0'] }],
  });
}

/**
 * The child's environment without what would switch onnxruntime's telemetry off on its own
 * (microsoft/onnxruntime#27379: the variable, its unit tests, CI systems), so that the test sees
 * what berth does rather than what the machine running it does.
 */
const TELEMETRY_SWITCHES = [
  'ORT_DISABLE_TELEMETRY',
  'ORT_RUNNING_UNIT_TESTS',
  'TF_BUILD',
  'SYSTEM_TEAMFOUNDATIONCOLLECTIONURI',
  'GITHUB_ACTIONS',
  'GITLAB_CI',
  'CIRCLECI',
  'TRAVIS',
  'JENKINS_URL',
  'CODEBUILD_BUILD_ID',
  'BUILDKITE',
  'TEAMCITY_VERSION',
  'APPVEYOR',
  'BITBUCKET_BUILD_NUMBER',
];

function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of TELEMETRY_SWITCHES) Reflect.deleteProperty(env, name);
  return { ...env, ...extra };
}

interface Captured {
  readonly child: ChildProcess;
  readonly stdout: () => string;
  readonly stderr: () => string;
  readonly exited: Promise<number | null>;
  /** Whether the process has ended and its output is all in. */
  readonly ended: () => boolean;
}

const running: ChildProcess[] = [];
afterEach(() => {
  for (const child of running.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

/** Runs node with ARGS, keeping every byte of its output (startServe keeps parsed lines only). */
function capture(args: readonly string[], env: NodeJS.ProcessEnv): Captured {
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.push(child);
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  let ended = false;
  const exited = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      ended = true;
      resolve(code);
    }),
  );
  return { child, stdout: () => out, stderr: () => err, exited, ended: () => ended };
}

/** Polls standard error until PATTERN matches, or fails once the process has ended without it. */
async function waitFor(run: Captured, pattern: RegExp): Promise<RegExpExecArray> {
  for (;;) {
    const match = pattern.exec(run.stderr());
    if (match !== null) return match;
    if (run.ended()) throw new Error(`exited before ${String(pattern)}; standard error:\n${run.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("onnxruntime's own output", () => {
  it('berth serve --log-format json: every line is JSON, onnxruntime writes nothing and keeps no telemetry', async () => {
    const repo = tempDir();
    writeModel(repo, 'double', doubleModel());
    writeModel(repo, 'unused', unusedInitializerModel());
    writeModel(repo, 'bad_reshape', failingReshapeModel());
    const tmp = tempDir('berth-onnx-logs-tmp-');
    const cache = tempDir('berth-onnx-logs-cache-');
    const serve = capture(
      [BERTH_BIN, 'serve', repo, '--port', '0', '--no-grpc', '--log-format', 'json'],
      childEnv({ TMPDIR: tmp, XDG_CACHE_HOME: cache }),
    );
    const [, url] = await waitFor(serve, /"url":"(http:[^"]+)"/);
    await waitFor(serve, /models loaded: 3 of 3 ready/);

    const client = createClient({ url: String(url) });
    const result = await client.infer('double', [
      { name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] },
    ]);
    expect(Array.from(outputOf(result, 'OUTPUT0').data as Float32Array)).toEqual([2, 4, 6, 8]);
    await expect(
      client.infer('bad_reshape', [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }]),
    ).rejects.toThrow(/cannot be reshaped/);
    await waitFor(serve, /"reqId"[^\n]*cannot be reshaped/);
    serve.child.kill('SIGTERM');
    expect(await serve.exited).toBe(0);

    expect(serve.stdout()).toBe('');
    const lines = serve
      .stderr()
      .split('\n')
      .filter((line) => line !== '');
    const notJson = lines.filter((line) => {
      try {
        return typeof JSON.parse(line) !== 'object';
      } catch {
        return true;
      }
    });
    expect(notJson).toEqual([]);
    // Not in a JSON line either: onnxruntime's text reached no log field.
    const native = (line: string) =>
      /\[[VIWEF]:onnxruntime|telemetry/i.test(line) || line.includes('\u001b[');
    expect(lines.filter(native)).toEqual([]);
    // With telemetry on, onnxruntime leaves .ses and mat-debug-<pid>.log in TMPDIR and
    // Microsoft/DeveloperTools/.onnxruntime/{deviceid,onnxruntime.db} in the cache folder.
    expect(readdirSync(tmp)).toEqual([]);
    expect(readdirSync(cache)).toEqual([]);
  });

  it("the ONNX backend lets onnxruntime's lines through at debug (info and up) and trace (verbose)", async () => {
    const dist = new URL('../../dist/', import.meta.url).href;
    // A file, not `node -e`: worker threads inherit --input-type, which then fails their load.
    const script = join(tempDir(), 'load-iris.mjs');
    writeFileSync(
      script,
      [
        `const { createOnnxBackend, buildIrisModel } = await import('${dist}runtime/index.js');`,
        `const { createLogger } = await import('${dist}observability/index.js');`,
        `const logger = createLogger({ level: process.argv[2], format: 'json' });`,
        `const load = { intraOpThreads: 1, interOpThreads: 1, spinning: false, execution: 'cpu' };`,
        `const model = await createOnnxBackend({ logger }).load({ kind: 'bytes', bytes: buildIrisModel() }, load);`,
        `await model.dispose();`,
      ].join('\n'),
    );
    const nativeLines = async (level: string) => {
      const run = capture([script, level], childEnv({ TMPDIR: tempDir('berth-onnx-logs-tmp-') }));
      expect(await run.exited, run.stderr()).toBe(0);
      return new Set([...run.stderr().matchAll(/\[([VIWEF]):onnxruntime/g)].map((m) => m[1]));
    };
    expect(await nativeLines('info')).toEqual(new Set());
    expect(await nativeLines('debug')).toEqual(new Set(['I']));
    expect(await nativeLines('trace')).toEqual(new Set(['V', 'I']));
  });
});
