/** `berth serve`: one inference server process. */
import { Command, Option } from 'commander';
import { DEFAULT_DECODE_LIMITS } from '../protocol/index.js';
import { createLogger, LOG_FORMATS, LOG_LEVELS, type LogFormat } from '../observability/index.js';
import { createModelCatalog, modelFromBytes, type ModelDescriptor } from '../repository/index.js';
import { buildIrisModel } from '../runtime/index.js';
import { MODEL_CONTROL_MODES, startServer } from '../server/index.js';
import { parseChoice, parseDuration, parseInteger, parseSeconds, parseSize } from './option-parsers.js';
import { VERSION } from './version.js';

interface ServeFlags {
  host: string;
  port: string;
  grpc: boolean;
  grpcPort: string;
  grpcMaxMessageSize: string;
  intraOpThreads: string;
  interOpThreads: string;
  logLevel: string;
  logFormat: string;
  maxBodySize: string;
  maxTensorElements: string;
  drainTimeout: string;
  requestTimeout: string;
  strictReadiness: boolean;
  modelControlMode: string;
  loadModel: string[];
  repositoryPollSecs: string;
}

export const EXAMPLE_MODEL_NAME = 'iris';

function exampleModels(): ModelDescriptor[] {
  return [modelFromBytes(EXAMPLE_MODEL_NAME, buildIrisModel())];
}

export function serveCommand(): Command {
  return new Command('serve')
    .summary('serve ONNX models over the Open Inference Protocol (REST and gRPC)')
    .description(
      [
        'Serve ONNX models over the Open Inference Protocol v2: REST (with Triton binary tensors) on',
        '--port, and gRPC (inference.GRPCInferenceService, grpc.health.v1, server reflection) on',
        '--grpc-port.',
        '',
        'MODEL is a .onnx file (served as a model named after the file, version 1) or a model',
        'repository folder in the Triton layout: REPO/<model>/<version>/model.onnx with an optional',
        'REPO/<model>/config.yaml. Without MODEL, the built-in example model "iris" is served.',
        '',
        'SIGTERM or SIGINT: readiness turns false, new requests are refused, in-flight requests',
        'finish (up to --drain-timeout), then the process exits 0.',
      ].join('\n'),
    )
    .argument('[models...]', '.onnx files and/or model repository folders')
    .option('--host <host>', 'address to listen on (0.0.0.0 for all interfaces)', '127.0.0.1')
    .option('-p, --port <port>', 'HTTP port (0 picks a free one)', '8000')
    .option('--grpc-port <port>', 'gRPC port (0 picks a free one)', '8001')
    .option('--no-grpc', 'serve REST only')
    .option('--grpc-max-message-size <size>', 'largest gRPC request message accepted', '64MiB')
    .option('--intra-op-threads <n>', 'threads inside one operator per model (0: one per core)', '0')
    .option('--inter-op-threads <n>', 'threads across operators per model (0: runtime default)', '0')
    .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('info'))
    .addOption(
      new Option('--log-format <format>', 'log format (auto: pretty on a terminal, else json)')
        .choices(['auto', ...LOG_FORMATS])
        .default('auto'),
    )
    .option('--max-body-size <size>', 'largest request body accepted, after decompression', '64MiB')
    .option(
      '--max-tensor-elements <n>',
      'most elements in one request tensor',
      String(DEFAULT_DECODE_LIMITS.maxTensorElements),
    )
    .option('--drain-timeout <duration>', 'longest wait for in-flight requests at shutdown', '30s')
    .option('--request-timeout <duration>', 'longest time to receive one request', '60s')
    .option('--no-strict-readiness', 'report ready once any model is ready, not only when all are')
    .addOption(
      new Option(
        '--model-control-mode <mode>',
        'none: load every model at start; explicit: load and unload through the repository API; poll: follow repository changes',
      )
        .choices(MODEL_CONTROL_MODES)
        .default('none'),
    )
    .option(
      '--load-model <name>',
      'explicit mode: a model to load at start (repeatable; * for all)',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option(
      '--repository-poll-secs <seconds>',
      'poll mode: seconds between two reads of the repository',
      '15',
    )
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  berth serve                         # the built-in iris classifier on :8000',
        '  berth serve model.onnx --port 9000  # one model, named "model"',
        '  berth serve ./models --host 0.0.0.0 # a Triton-style repository',
        '  berth serve --port 0 --grpc-port 0  # free ports (see the "listening" log line)',
        '  grpcurl -plaintext localhost:8001 list',
        '  berth serve ./models --model-control-mode explicit --load-model fraud',
        '  berth serve ./models --model-control-mode poll --repository-poll-secs 5',
      ].join('\n'),
    )
    .action(async (paths: string[], flags: ServeFlags) => {
      const format: LogFormat =
        flags.logFormat === 'auto'
          ? process.stderr.isTTY
            ? 'pretty'
            : 'json'
          : parseChoice('--log-format', flags.logFormat, LOG_FORMATS);
      const logger = createLogger({ level: parseChoice('--log-level', flags.logLevel, LOG_LEVELS), format });
      const options = {
        host: flags.host,
        port: parseInteger('--port', flags.port, 0, 65535),
        ...(flags.grpc
          ? {
              grpc: {
                port: parseInteger('--grpc-port', flags.grpcPort, 0, 65535),
                maxMessageBytes: parseSize('--grpc-max-message-size', flags.grpcMaxMessageSize),
              },
            }
          : {}),
        intraOpThreads: parseInteger('--intra-op-threads', flags.intraOpThreads, 0, 1024),
        interOpThreads: parseInteger('--inter-op-threads', flags.interOpThreads, 0, 1024),
        limits: {
          maxBodyBytes: parseSize('--max-body-size', flags.maxBodySize),
          maxTensorElements: parseInteger('--max-tensor-elements', flags.maxTensorElements, 1, 2 ** 31 - 1),
        },
        drainTimeoutMs: parseDuration('--drain-timeout', flags.drainTimeout),
        requestTimeoutMs: parseDuration('--request-timeout', flags.requestTimeout),
        strictReadiness: flags.strictReadiness,
        modelControl: {
          mode: parseChoice('--model-control-mode', flags.modelControlMode, MODEL_CONTROL_MODES),
          startupModels: flags.loadModel,
          pollIntervalMs: parseSeconds('--repository-poll-secs', flags.repositoryPollSecs, 0.1, 3600),
        },
      };
      const catalog = await createModelCatalog(paths, paths.length === 0 ? exampleModels() : []);
      const models = await catalog.names();
      const server = await startServer({ ...options, catalog, logger, version: VERSION });
      const grpcAddress = server.grpcPort === undefined ? undefined : `${flags.host}:${server.grpcPort}`;
      logger.info(
        { url: server.url, grpc: grpcAddress, models, version: VERSION },
        `berth listening on ${server.url}${grpcAddress === undefined ? '' : ` and grpc://${grpcAddress}`}`,
      );

      let signals = 0;
      const shutdown = (signal: NodeJS.Signals) => {
        signals++;
        if (signals > 1) {
          logger.warn({ signal }, 'second signal: exiting now');
          process.exit(1);
        }
        logger.info({ signal }, 'shutting down: draining in-flight requests');
        void server.close().then(
          ({ drained }) => {
            logger.info({ drained }, 'stopped');
            logger.flush();
            process.exit(0);
          },
          (error: unknown) => {
            logger.error({ err: error }, 'error while shutting down');
            logger.flush();
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', shutdown);
      process.on('SIGINT', shutdown);

      await server.loaded;
      const index = server.registry.index();
      const ready = index.filter((e) => e.state === 'READY').length;
      logger.info({ ready, total: index.length }, `models loaded: ${ready} of ${index.length} ready`);
    });
}
