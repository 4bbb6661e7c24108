/** `berth serve`: one inference server process. */
import { rmdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { Command, Option } from 'commander';
import { BerthError, DEFAULT_DECODE_LIMITS } from '../ground/index.js';
// Only what the options need is loaded with the command line; the server, the runtime and the
// logger are imported when `serve` runs, so that `berth --version` and `berth health` (an image's
// health check, every 10 s) do not pay for them.
import { LOG_LEVELS } from '../observability/log-options.js';
import { logFormatOf, logFormatOption, logLevelOption } from './log-flags.js';
import type { ModelDescriptor } from '../repository/index.js';
import type { LoadFailure } from '../runtime/index.js';
import { MODEL_CONTROL_MODES } from '../engine/model-control.js';
import { helpSection, prose } from './help-text.js';
import { parseChoice, parseDuration, parseInteger, parseSeconds, parseSize } from './option-parsers.js';
import { VERSION } from './version.js';
import {
  addAccessOptions,
  auditOf,
  authOf,
  limitsOf,
  tlsOf,
  withServeSpec,
  type AccessFlags,
} from './access-flags.js';
import { tuneServerProcess } from './server-process.js';

interface ServeFlags extends AccessFlags {
  file?: string;
  host: string;
  port: string;
  socket?: string;
  grpcSocket?: string;
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
  exitOnError: boolean;
  modelControlMode: string;
  loadModel: string[];
  repositoryPollSecs: string;
  corsOrigin: string[];
}

export const EXAMPLE_MODEL_NAME = 'iris';

/** The parent when this process started (npm's shell), before any model loaded. */
const STARTED_UNDER = process.ppid;

async function exampleModels(): Promise<ModelDescriptor[]> {
  const [{ modelFromBytes }, { buildIrisModel }] = await Promise.all([
    import('../repository/index.js'),
    import('../runtime/index.js'),
  ]);
  return [modelFromBytes(EXAMPLE_MODEL_NAME, buildIrisModel())];
}

/** The exit status for models that did not load at start: 1 for berth's own faults, else 2. */
export function exitStatusOf(failures: readonly LoadFailure[]): number {
  return failures.some((f) => f.error.category === 'INTERNAL') ? 1 : 2;
}

/**
 * `npx berth serve`, `npm exec` and `npm start` run berth under `sh -c`: npm passes SIGTERM to
 * that shell, which dies of it without passing it on, and berth would run on as an orphan. Under
 * npm, berth therefore watches its parent and shuts down (draining) when it is gone; so does a
 * replica of `berth up` (BERTH_SUPERVISED=1, set by the supervisor), so that none outlives a
 * supervisor killed with SIGKILL. Elsewhere a parent that exits is not a reason to stop
 * (`nohup berth serve &`).
 */
function watchParent(onGone: () => void): void {
  if (process.env.npm_lifecycle_event === undefined && process.env.BERTH_SUPERVISED !== '1') return;
  // The supervisor says who it is: a parent killed while this replica was still starting (before
  // this runs) is then noticed too, where process.ppid would already name the new parent.
  const given = Number(process.env.BERTH_PARENT_PID);
  const parent = Number.isInteger(given) && given > 0 ? given : STARTED_UNDER;
  if (process.ppid !== parent) {
    onGone();
    return;
  }
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    onGone();
  }, 250);
  timer.unref();
}

/**
 * A unix socket's file outlives its server: removed at shutdown. When `berth up` is gone (killed,
 * so it could not clean up), the last of its replicas also removes the folder it made for their
 * sockets (BERTH_SOCKET_DIR), so that no file is left behind.
 */
function removeSocket(path: string, parentGone: boolean): void {
  try {
    rmSync(path, { force: true });
    const dir = process.env.BERTH_SOCKET_DIR;
    if (parentGone && dir !== undefined && dir !== '' && dirname(path) === dir) rmdirSync(dir);
  } catch {
    // Another replica's socket is still there (the folder is not empty), or it is gone already.
  }
}

/** `--cors-origin` values, each an origin (scheme://host[:port]) or `*`. */
function corsOriginsOf(values: readonly string[]): string[] {
  for (const value of values) {
    let ok = value === '*';
    try {
      const url = new URL(value);
      ok ||= (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value;
    } catch {
      // not a URL: refused below
    }
    if (!ok) {
      throw new BerthError(
        'BERTH_ERR_CLI_INVALID_OPTION',
        `--cors-origin: expected an origin such as https://app.example (no path, no trailing /) or *; got "${value}"`,
      );
    }
  }
  return [...new Set(values)];
}

export function serveCommand(): Command {
  return addAccessOptions(new Command('serve'))
    .summary('serve ONNX models over the Open Inference Protocol (REST and gRPC)')
    .description(
      prose([
        'Serve ONNX models over the Open Inference Protocol v2: REST (with Triton binary tensors) on',
        '--port, and gRPC (inference.GRPCInferenceService, grpc.health.v1, server reflection) on',
        '--grpc-port.',
        '',
        'MODEL is a .onnx file (served as a model named after the file, version 1) or a model',
        'repository folder in the Triton layout: REPO/<model>/<version>/model.onnx with an optional',
        "REPO/<model>/config.pbtxt (Triton's model configuration) or REPO/<model>/config.yaml",
        "(berth's). Give the repository, not one model's folder. Without MODEL, the built-in example",
        'model "iris" is served.',
        '',
        'A model given at start that fails to load stops the server (exit status 2, or 1 for an',
        'internal error), as Triton does; --no-exit-on-error serves the other models. Models loaded',
        'later (poll, explicit) never stop it.',
        '',
        'SIGTERM or SIGINT: readiness turns false, new requests are refused, in-flight requests',
        'finish (up to --drain-timeout), then the process exits 0.',
      ]),
    )
    .argument('[models...]', '.onnx files and/or model repository folders')
    .option(
      '-f, --file <berth.yaml>',
      'a spec file: its `serve` section (auth, limits, tls, auditLog) and, without models, its repository',
    )
    .option('--host <host>', 'address to listen on (0.0.0.0 for all interfaces)', '127.0.0.1')
    .option('-p, --port <port>', 'HTTP port (0 picks a free one)', '8000')
    .option('--grpc-port <port>', 'gRPC port (0 picks a free one)', '8001')
    .option('--socket <path>', 'serve REST on this unix socket instead of --host:--port (as berth up does)')
    .option(
      '--grpc-socket <path>',
      'serve gRPC on this unix socket instead of --host:--grpc-port (as berth up does)',
    )
    .option('--no-grpc', 'serve REST only')
    .option('--grpc-max-message-size <size>', 'largest gRPC request message accepted', '64MiB')
    .option('--intra-op-threads <n>', 'threads inside one operator per model (0: one per core)', '0')
    .option('--inter-op-threads <n>', 'threads across operators per model (0: runtime default)', '0')
    .addOption(logLevelOption())
    .addOption(logFormatOption())
    .option('--max-body-size <size>', 'largest request body accepted, after decompression', '64MiB')
    .option(
      '--max-tensor-elements <n>',
      'most elements in one request tensor',
      String(DEFAULT_DECODE_LIMITS.maxTensorElements),
    )
    .option('--drain-timeout <duration>', 'longest wait for in-flight requests at shutdown', '30s')
    .option('--request-timeout <duration>', 'longest time to receive one request', '60s')
    .option('--no-strict-readiness', 'report ready once any model is ready, not only when all are')
    .option('--no-exit-on-error', 'keep serving when a model given at start fails to load')
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
    .option(
      '--cors-origin <origin>',
      'let browser pages from this origin (https://app.example, or * for any) call the REST API (repeatable)',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .addHelpText(
      'after',
      helpSection({
        examples: [
          'berth serve  # the built-in iris classifier on :8000',
          'berth serve model.onnx --port 9000  # one model, named "model"',
          'berth serve ./models --host 0.0.0.0  # a Triton repository (config.pbtxt or config.yaml)',
          'berth serve --port 0 --grpc-port 0  # free ports (the "listening" log line says which)',
          'grpcurl -plaintext localhost:8001 list',
          'berth serve ./models --model-control-mode explicit --load-model fraud',
          'berth serve ./models --model-control-mode poll --repository-poll-secs 5',
          'berth keys create --role infer --file keys.json && berth serve ./models --api-keys keys.json',
          'berth serve ./models --host 0.0.0.0 --tls-cert tls.crt --tls-key tls.key --api-keys keys.json',
        ],
      }),
    )
    .action(async (given: string[], cliFlags: ServeFlags, command: Command) => {
      tuneServerProcess();
      // With -f, the spec's `serve` section fills in the access and TLS options the command line
      // did not give, and its repository is served when no model is given.
      const loaded =
        cliFlags.file === undefined
          ? undefined
          : await (await import('../spec/index.js')).loadSpec(cliFlags.file);
      const flags =
        loaded === undefined
          ? cliFlags
          : withServeSpec(cliFlags, loaded.spec.serve, dirname(loaded.path), (name) =>
              command.getOptionValueSource(name),
            );
      const paths = given.length === 0 && loaded?.repository !== undefined ? [loaded.repository] : given;
      const [{ createLogger }, { createModelCatalog }, { startServer }] = await Promise.all([
        import('../observability/index.js'),
        import('../repository/index.js'),
        import('../server/index.js'),
      ]);
      const format = logFormatOf(flags.logFormat);
      const logger = createLogger({ level: parseChoice('--log-level', flags.logLevel, LOG_LEVELS), format });
      const options = {
        host: flags.host,
        port: parseInteger('--port', flags.port, 0, 65535),
        ...(flags.socket === undefined ? {} : { socketPath: flags.socket }),
        ...(flags.grpc
          ? {
              grpc: {
                port: parseInteger('--grpc-port', flags.grpcPort, 0, 65535),
                ...(flags.grpcSocket === undefined ? {} : { socketPath: flags.grpcSocket }),
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
      const catalog = await createModelCatalog(paths, paths.length === 0 ? await exampleModels() : []);
      for (const path of await catalog.emptyRepositories()) {
        logger.warn(
          { repository: path },
          `${path}: the model repository holds no model folder (expected ${path}/<model>/<version>/model.onnx)`,
        );
      }
      const models = await catalog.names();
      const auth = await authOf(flags, logger);
      const tls = await tlsOf(flags, logger);
      const limitsPerCaller = await limitsOf(flags, logger);
      const audit = await auditOf(flags);
      const server = await startServer({
        ...options,
        catalog,
        logger,
        version: VERSION,
        ...(auth === undefined
          ? {}
          : { access: { keys: auth.authenticator, protectHealth: flags.authHealth } }),
        ...(tls === undefined ? {} : { tls }),
        ...(limitsPerCaller === undefined ? {} : { limitsPerCaller }),
        ...(audit === undefined ? {} : { audit }),
        ...(flags.corsOrigin.length === 0 ? {} : { corsOrigins: corsOriginsOf(flags.corsOrigin) }),
      });
      const grpcAddress = server.grpcAddress;
      const grpcShown =
        grpcAddress === undefined
          ? ''
          : grpcAddress.startsWith('unix:')
            ? ` and gRPC on ${grpcAddress}`
            : ` and grpc://${grpcAddress}`;
      logger.info(
        { url: server.url, grpc: grpcAddress, models, version: VERSION },
        `berth listening on ${server.url}${grpcShown}`,
      );

      let signals = 0;
      /** Drains and exits; `status` is what a drain that ends well exits with. */
      const shutdown = (signal: NodeJS.Signals | 'parent exited', status = 0) => {
        signals++;
        if (signals > 1) {
          logger.warn({ signal }, 'second signal: exiting now');
          process.exit(1);
        }
        if (status === 0) logger.info({ signal }, 'shutting down: draining in-flight requests');
        auth?.close();
        void limitsPerCaller?.shared?.close();
        tls?.close();
        void server
          .close()
          .then(async (outcome) => {
            await audit?.close();
            return outcome;
          })
          .then(
            ({ drained }) => {
              if (flags.grpcSocket !== undefined) removeSocket(flags.grpcSocket, false);
              if (flags.socket !== undefined) removeSocket(flags.socket, signal === 'parent exited');
              logger.info({ drained }, 'stopped');
              logger.flush();
              process.exit(status);
            },
            (error: unknown) => {
              logger.error({ err: error }, 'error while shutting down');
              logger.flush();
              process.exit(1);
            },
          );
      };
      // Node passes the signal's number as a second argument: not an exit status.
      process.on('SIGTERM', () => shutdown('SIGTERM'));
      process.on('SIGINT', () => shutdown('SIGINT'));
      watchParent(() => {
        logger.warn(
          'the parent process (npm or berth up) exited without passing on its signal: shutting down',
        );
        shutdown('parent exited');
      });

      const failures = await server.loaded;
      const index = server.registry.index();
      const ready = index.filter((e) => e.state === 'READY').length;
      logger.info({ ready, total: index.length }, `models loaded: ${ready} of ${index.length} ready`);
      if (failures.length === 0 || !flags.exitOnError || signals > 0) return;
      // Triton's --exit-on-error: a deployment with a model that cannot load is a failed one.
      for (const { name, error } of failures) {
        const message = error.message.startsWith(`model "${name}"`)
          ? error.message
          : `model "${name}": ${error.message}`;
        logger.error({ model: name, code: error.code }, message);
      }
      const status = exitStatusOf(failures);
      logger.error(
        { failed: failures.map((f) => f.name), status },
        `exiting with status ${status}: ${failures.length} model${failures.length === 1 ? '' : 's'} given at start did not load (--no-exit-on-error serves the others)`,
      );
      shutdown('SIGTERM', status);
    });
}
