/**
 * Everything the bench measures over HTTP, each in its own process on 127.0.0.1, and which
 * request formats each is sent per model.
 */
import { cpus } from 'node:os';
import { join } from 'node:path';

import type { BenchModel, Format } from './models.js';
import { BENCH_DIR, BERTH_BIN, PYTHON } from './paths.js';
import { type Running, startProcess } from './process.js';

export type TargetId =
  'berth' | 'berth-no-batching' | 'node-http-bare' | 'node-naive' | 'fastapi-torch' | 'flask-torch';

export interface Target {
  readonly id: TargetId;
  readonly label: string;
  /** What it is, for the report. */
  readonly about: string;
  start(model: BenchModel, port: number): Promise<Running>;
  /** The request formats it is measured with for a model; empty to skip the model. */
  formats(model: BenchModel, quick: boolean): readonly Format[];
}

const CORES = cpus().length;
const PYTHON_DIR = join(BENCH_DIR, 'python');
const pythonEnv = (model: BenchModel, torchThreads: number) => ({
  BENCH_MODEL_DIR: model.dir,
  BENCH_TORCH_THREADS: String(torchThreads),
  PYTHONDONTWRITEBYTECODE: '1',
});
/**
 * Big inputs are sent as binary tensors to every peer: JSON parsing would dominate otherwise. A
 * quick run measures peers with binary tensors only.
 */
const binaryUnlessSmall = (model: BenchModel, quick: boolean): readonly Format[] =>
  model.name === 'mlp' && !quick ? ['json', 'binary'] : ['binary'];

const berth = (variant: 'batching' | 'no-batching') => (model: BenchModel, port: number) =>
  startProcess(
    `berth (${variant})`,
    process.execPath,
    [BERTH_BIN, 'serve', model.repos[variant], '--port', String(port), '--grpc-port', '0'],
    {
      port,
    },
  );

export const TARGETS: readonly Target[] = [
  {
    id: 'node-http-bare',
    label: 'bare node:http',
    about: 'node:http answering a fixed response, no model: the HTTP limit',
    start: (_model, port) =>
      startProcess('bare node:http', process.execPath, [join(BENCH_DIR, 'servers', 'bare-http.mjs')], {
        port,
      }),
    formats: (model) => (model.name === 'mlp' ? ['json'] : []),
  },
  {
    id: 'berth',
    label: 'berth',
    about: 'berth serve, dynamic batching on (maxBatchSize 64/32, maxQueueDelayMs 0)',
    start: berth('batching'),
    formats: (model, quick) =>
      model.name === 'resnet18' || (quick && model.name !== 'mlp') ? ['binary'] : ['json', 'binary'],
  },
  {
    id: 'berth-no-batching',
    label: 'berth, no batching',
    about: 'berth serve, maxBatchSize 0: one request per execution',
    start: berth('no-batching'),
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
