/**
 * Everything the bench measures over HTTP, each in its own process on 127.0.0.1, and which
 * request formats each is sent per model.
 */
import { cpus } from 'node:os';
import { join } from 'node:path';

import type { BenchModel, BerthVariant, ConfigObject, Format } from './models.js';
import { BENCH_DIR, BERTH_BIN, PYTHON } from './paths.js';
import { type Running, startProcess } from './process.js';

export const TARGET_IDS = [
  'node-http-bare',
  'berth',
  'berth-no-batching',
  'berth-tuned',
  'node-naive',
  'fastapi-torch',
  'flask-torch',
] as const;
export type TargetId = (typeof TARGET_IDS)[number];

/** The `berth, tuned` variant: extra `berth serve` flags and config keys over the default berth. */
export interface TunedOptions {
  readonly args: readonly string[];
  readonly config: ConfigObject;
}

export interface Target {
  readonly id: TargetId;
  readonly label: string;
  /** What it is, for the report. */
  readonly about: string;
  start(model: BenchModel, port: number): Promise<Running>;
  /** The request formats the sweep measures it with for a model; empty to skip the model. */
  formats(model: BenchModel): readonly Format[];
}

const CORES = cpus().length;
const PYTHON_DIR = join(BENCH_DIR, 'python');
const pythonEnv = (model: BenchModel, torchThreads: number) => ({
  BENCH_MODEL_DIR: model.dir,
  BENCH_TORCH_THREADS: String(torchThreads),
  PYTHONDONTWRITEBYTECODE: '1',
});
/** Big inputs are sent as binary tensors to every peer: JSON parsing would dominate otherwise. */
const binaryUnlessSmall = (model: BenchModel): readonly Format[] =>
  model.name === 'mlp' ? ['json', 'binary'] : ['binary'];

const berth =
  (variant: BerthVariant, extraArgs: readonly string[] = []) =>
  (model: BenchModel, port: number) =>
    startProcess(
      `berth (${variant})`,
      process.execPath,
      [BERTH_BIN, 'serve', model.repos[variant], '--port', String(port), '--grpc-port', '0', ...extraArgs],
      { port },
    );

/** Every target; `berth, tuned` runs with `tuned`'s flags and config keys. */
export const createTargets = (tuned: TunedOptions): readonly Target[] => [
  {
    id: 'node-http-bare',
    label: 'bare node:http',
    about: 'node:http answering a fixed response, no model: the HTTP limit',
    start: (_model, port) =>
      startProcess('bare node:http', process.execPath, [join(BENCH_DIR, 'servers', 'bare-http.mjs')], {
        port,
      }),
    formats: (model) => (model.name === 'mlp' ? binaryUnlessSmall(model) : []),
  },
  {
    id: 'berth',
    label: 'berth',
    about: 'berth serve, dynamic batching on (maxBatchSize 64/32, maxQueueDelayMs 0)',
    start: berth('batching'),
    formats: (model) => (model.name === 'resnet18' ? ['binary'] : ['json', 'binary']),
  },
  {
    id: 'berth-no-batching',
    label: 'berth, no batching',
    about: 'berth serve, maxBatchSize 0: one request per execution',
    start: berth('no-batching'),
    formats: binaryUnlessSmall,
  },
  {
    id: 'berth-tuned',
    label: 'berth, tuned',
    about:
      `berth serve ${tuned.args.length > 0 ? `${tuned.args.join(' ')} ` : ''}with the batching config` +
      (Object.keys(tuned.config).length > 0 ? ` and ${JSON.stringify(tuned.config)}` : '') +
      ' (`--tuned-args`, `--tuned-config`)',
    start: berth('tuned', tuned.args),
    formats: binaryUnlessSmall,
  },
  {
    id: 'node-naive',
    label: 'naive node:http + ORT',
    about: 'node:http + onnxruntime-node, one session.run per request (bench/servers/naive-node.mjs)',
    start: (model, port) =>
      startProcess(
        'naive node',
        process.execPath,
        [join(BENCH_DIR, 'servers', 'naive-node.mjs'), model.onnxPath],
        {
          port,
        },
      ),
    formats: binaryUnlessSmall,
  },
  {
    id: 'fastapi-torch',
    label: 'FastAPI + uvicorn + torch',
    about: `one uvicorn worker, model run in Starlette's thread pool, torch.set_num_threads(${CORES})`,
    start: (model, port) =>
      startProcess(
        'fastapi',
        PYTHON,
        [
          '-m',
          'uvicorn',
          'fastapi_app:app',
          '--host',
          '127.0.0.1',
          '--port',
          String(port),
          '--log-level',
          'warning',
          '--no-access-log',
        ],
        { port, cwd: PYTHON_DIR, env: pythonEnv(model, CORES) },
      ),
    formats: binaryUnlessSmall,
  },
  {
    id: 'flask-torch',
    label: 'Flask + gunicorn + torch',
    about: `gunicorn, ${CORES} sync workers, torch.set_num_threads(1) each`,
    start: (model, port) =>
      startProcess(
        'flask',
        PYTHON,
        [
          '-m',
          'gunicorn',
          '-w',
          String(CORES),
          '-b',
          `127.0.0.1:${port}`,
          '--log-level',
          'warning',
          'flask_app:app',
        ],
        { port, cwd: PYTHON_DIR, env: pythonEnv(model, 1) },
      ),
    formats: binaryUnlessSmall,
  },
];
