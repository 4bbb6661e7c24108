/**
 * `berth up`: a gateway and supervised, autoscaled replicas on this machine, in the foreground,
 * as `docker compose up` runs containers. The work is the orchestrator's (local-deployment.ts);
 * this file reads the command line and the spec, multiplexes the replicas' logs, and prints the
 * table once the replicas are ready.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { BerthError } from '../ground/index.js';
import { LOG_LEVELS } from '../observability/log-options.js';
import { logFormatOf, logFormatOption, logLevelOption } from './log-flags.js';
import type { LocalDeployment } from '../orchestrator/index.js';
import { helpSection, prose } from './help-text.js';
import { parseChoice, parseDuration, parseInteger, parseSize } from './option-parsers.js';
import { table } from './table.js';
import { tuneServerProcess } from './server-process.js';
import { addAccessOptions, gatewayAccessOf, tlsOf, withServeSpec, type AccessFlags } from './access-flags.js';

interface UpFlags extends AccessFlags {
  file?: string;
  replicas?: string;
  host: string;
  port: string;
  grpc: boolean;
  grpcPort: string;
  controlPort: string;
  maxBodySize: string;
  watch?: string;
  logLevel: string;
  logFormat: string;
}

/** Where the berth command's script is, to run replicas with: bin/berth.js beside dist/. */
const BERTH_BIN = fileURLToPath(new URL('../../bin/berth.js', import.meta.url));

/** pino's numeric levels, as a replica's JSON log line carries them. */
const LEVEL_NAMES: Record<number, 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal'> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};

export function upCommand(): Command {
  return addAccessOptions(new Command('up'))
    .summary('run a gateway and self-healing, autoscaled replicas on this machine')
    .description(
      prose([
        'Run models behind a gateway on this machine, in the foreground: the gateway listens on',
        '--port and --grpc-port (the Open Inference Protocol over REST and gRPC, tensors passed',
        'through unchanged) and forwards each request to one of several replicas, `berth serve` processes',
        'on loopback ports. Replicas that exit are restarted (with exponential backoff; a crash',
        'loop shows in `berth status`), replicas that fail are ejected, safe retries go to another',
        'replica under a retry budget, and requests that find no replica ready (a cold start, a',
        'scale from zero) wait in a bounded buffer.',
        '',
        'MODEL is a .onnx file or a model repository folder, as for `berth serve`; without one, the',
        "spec's `repository`, else the built-in example model. The spec (berth.yaml, or -f FILE)",
        'supplies `replicas` (autoscaling between min and max on requests in flight, with the',
        "semantics of Kubernetes' HorizontalPodAutoscaler) and `resilience` (timeouts, retries,",
        'ejection, breakers, buffer); see docs/up.md.',
        '',
        'The control API (`berth status`, `berth scale`) listens on --control-port, on loopback only.',
        '',
        'SIGTERM or SIGINT: the gateway stops taking requests and answers those in flight, the',
        'replicas drain and stop, and berth exits 0. No replica outlives `berth up`, even one',
        'killed with SIGKILL: each replica stops when its parent is gone.',
      ]),
    )
    .argument('[models...]', '.onnx files and/or model repository folders')
    .option('-f, --file <berth.yaml>', 'the spec file (default: ./berth.yaml when it exists)')
    .option('--replicas <n>', 'run exactly N replicas (no autoscaling), whatever the spec says')
    .option('--host <host>', "the gateway's address (0.0.0.0 for all interfaces)", '127.0.0.1')
    .option('-p, --port <port>', "the gateway's REST port (0 picks a free one)", '8000')
    .option('--grpc-port <port>', "the gateway's gRPC port (0 picks a free one)", '8001')
    .option('--no-grpc', 'serve REST only')
    .option('--control-port <port>', 'the control API port, on 127.0.0.1 (0 picks a free one)', '8002')
    .option('--max-body-size <size>', 'largest request body the gateway accepts', '64MiB')
    .option(
      '--watch <interval>',
      "look at the models this often and roll out what changed by the spec's strategy (rollout.watch)",
    )
    .addOption(logLevelOption())
    .addOption(logFormatOption())
    .addHelpText(
      'after',
      helpSection({
        notes: [
          "Each replica's log lines come through with its id: a `replica` field in JSON lines.",
          'gRPC (inference.GRPCInferenceService) goes through the gateway on --grpc-port, messages passed through unchanged; grpc.health.v1 and server reflection are answered by the gateway.',
        ],
        examples: [
          'berth up  # the built-in iris model, one replica, gateway on :8000',
          'berth up ./models --replicas 2',
          'berth up -f berth.yaml  # replicas, autoscaling and resilience from the spec',
          'berth status  # replicas, load and the autoscaler’s reason',
          'berth scale 3',
          'berth up ./models --watch 10s  # a new version folder is rolled out on its own',
          'berth up ./models --api-keys keys.json --rate-limit 100/s  # keys, roles and limits at the gateway',
          'berth up ./models --tls-cert tls.crt --tls-key tls.key  # HTTPS and gRPC over TLS at the gateway',
        ],
      }),
    )
    .action(async (paths: string[], cliFlags: UpFlags, command: Command) => {
      tuneServerProcess();
      const [{ createLogger }, { loadSpec, replicasSection, resilienceSection, rolloutSection }] =
        await Promise.all([import('../observability/index.js'), import('../spec/index.js')]);
      const loaded = await loadSpec(cliFlags.file);
      // The spec's `serve` section fills in the access and TLS options the command line did not give.
      const flags =
        loaded === undefined
          ? cliFlags
          : withServeSpec(cliFlags, loaded.spec.serve, dirname(loaded.path), (name) =>
              command.getOptionValueSource(name),
            );
      const format = logFormatOf(flags.logFormat);
      const logger = createLogger({ level: parseChoice('--log-level', flags.logLevel, LOG_LEVELS), format });
      const port = parseInteger('--port', flags.port, 0, 65535);
      const controlPort = parseInteger('--control-port', flags.controlPort, 0, 65535);
      const grpcPort = flags.grpc ? parseInteger('--grpc-port', flags.grpcPort, 0, 65535) : undefined;
      const fixedReplicas =
        flags.replicas === undefined ? undefined : parseInteger('--replicas', flags.replicas, 1, 256);
      const maxBodyBytes = parseSize('--max-body-size', flags.maxBodySize);
      const replicas = replicasSection.parse(loaded?.spec.replicas ?? {});
      const resilience = resilienceSection.parse(loaded?.spec.resilience ?? {});
      const rollout = rolloutSection.parse(loaded?.spec.rollout ?? {});
      const models =
        paths.length > 0
          ? paths.map((p) => resolve(p))
          : loaded?.repository !== undefined
            ? [loaded.repository]
            : [];
      const orchestrator = await import('../orchestrator/index.js');
      await orchestrator.checkPathsExist(models);
      const watchMs = flags.watch === undefined ? rollout.watch : parseDuration('--watch', flags.watch);
      if (watchMs !== undefined && models.length === 0) {
        throw new BerthError(
          'BERTH_ERR_CLI_USAGE',
          'rollout.watch (--watch) needs models to watch: give a repository or .onnx files, or `repository` in the spec',
        );
      }
      // Watched models are served from a snapshot per revision (docs/up.md, "Rollouts").
      const watch = watchMs === undefined ? undefined : await orchestrator.prepareWatch(models, watchMs);
      // Every way out but SIGKILL removes the snapshots: a failed start, a shutdown, a crash.
      if (watch !== undefined) process.once('exit', () => watch.close());
      const children = new Map<string, ReturnType<typeof logger.child>>();
      /** Each replica's first error line: the cause, where later ones summarise it. */
      const firstError = new Map<string, string>();
      let everReady = false;
      let fatal: BerthError | undefined;
      /** Set once the shutdown below exists; a failure before then is acted on right after. */
      const stop: { now?: (signal: string, status?: number) => Promise<void> } = {};

      const onLine = (id: string, line: string, stream: 'stdout' | 'stderr') => {
        let log = children.get(id);
        if (log === undefined) {
          log = logger.child({ replica: id });
          children.set(id, log);
        }
        const record = parseLogLine(line);
        if (record === undefined) {
          // A line that is not berth's (a native library's): kept, as a warning on stderr.
          if (line.trim() !== '') (stream === 'stderr' ? log.warn : log.info).call(log, { stream }, line);
          return;
        }
        const { level, msg, ...fields } = record;
        // The replica's own time and base fields give way to this process's.
        delete fields.time;
        delete fields.service;
        delete fields.hostname;
        const name = LEVEL_NAMES[typeof level === 'number' ? level : 30] ?? 'info';
        const message = typeof msg === 'string' ? msg : '';
        if ((name === 'error' || name === 'fatal') && !firstError.has(id)) firstError.set(id, message);
        log[name](fields, message);
      };

      const fail = (error: BerthError) => {
        if (fatal !== undefined) return;
        fatal = error;
        void stop.now?.('start failed', 2);
      };

      const access = await gatewayAccessOf(flags, logger);
      const tls = await tlsOf(flags, logger);
      const deployment: LocalDeployment = await orchestrator.LocalDeployment.start({
        ...(access === undefined ? {} : { access: access.access }),
        ...(tls === undefined ? {} : { tls }),
        berthBin: BERTH_BIN,
        serveArgs: watch?.args ?? models,
        replicas,
        ...(fixedReplicas === undefined ? {} : { fixedReplicas }),
        resilience,
        rollout,
        host: flags.host,
        port,
        ...(grpcPort === undefined ? {} : { grpcPort }),
        maxBodyBytes,
        onLine,
        onEvent: (event) => {
          switch (event.type) {
            case 'ready':
              everReady = true;
              logger.info(
                { replica: event.id, url: event.url, ms: Math.round(event.ms) },
                `replica ${event.id} ready`,
              );
              break;
            case 'exited': {
              const { code, signal } = event.exit;
              const how = signal === null ? `status ${code ?? '?'}` : signal;
              if (event.restartInMs === undefined) {
                logger.info({ replica: event.id, code, signal }, `replica ${event.id} exited (${how})`);
                break;
              }
              logger.warn(
                { replica: event.id, code, signal, restartInMs: event.restartInMs },
                `replica ${event.id} exited (${how}); restarting in ${event.restartInMs} ms`,
              );
              // Status 2 before any replica was ever ready is the spec's or the models' fault
              // (a model that does not load): restarting would only loop.
              if (!everReady && code === 2) {
                const why = firstError.get(event.id);
                fail(
                  new BerthError(
                    'BERTH_ERR_RUNTIME_LOAD_FAILED',
                    `replica ${event.id} exited with status 2 before it was ready${why === undefined ? '' : `: ${why}`}`,
                  ),
                );
              }
              break;
            }
            case 'scaled':
              logger.info(
                { from: event.from, to: event.to, reason: event.reason },
                `scale ${event.from} → ${event.to}: ${event.reason}`,
              );
              break;
            case 'cold-start':
              logger.info(
                { ms: event.ms },
                `scaled from zero: the first request waited ${event.ms} ms for a replica`,
              );
              break;
            case 'draining':
              logger.info({ replica: event.id }, `replica ${event.id} leaves the balancer and drains`);
              break;
            case 'ejected':
              logger.warn(
                { replica: event.id },
                `replica ${event.id} ejected: it kept failing (resilience.outlier)`,
              );
              break;
            case 'health':
              if (event.healthy)
                logger.info(
                  { replica: event.id },
                  `replica ${event.id} is healthy again: back in the balancer`,
                );
              else
                logger.warn(
                  { replica: event.id },
                  `replica ${event.id} failed its health checks: out of the balancer`,
                );
              break;
            case 'rollout':
              logger.info(event.fields, event.message);
              break;
            case 'started':
            case 'stopped':
              break;
          }
        },
      });
      const control = await orchestrator
        .startControlApi(deployment, controlPort)
        .catch(async (error: unknown) => {
          await deployment.stop();
          throw error;
        });
      watch?.begin(deployment, {
        onEvent: (message, fields) => logger.info(fields, message),
        onError: (error) => logger.error({ err: error }, `rollout.watch: ${error.message}`),
      });

      const grpcAddress = deployment.grpcAddress;
      logger.info(
        { url: deployment.url, grpc: grpcAddress, control: control.url },
        `berth up: gateway listening on ${deployment.url}${grpcAddress === undefined ? '' : ` and grpc://${grpcAddress}`}, control API on ${control.url}`,
      );

      let signals = 0;
      const shutdown = async (signal: string, status = 0) => {
        signals++;
        if (signals > 1 && status === 0) {
          logger.warn({ signal }, 'second signal: exiting now (replicas stop on their own)');
          process.exit(1);
        }
        if (status === 0) logger.info({ signal }, 'shutting down: draining the gateway, then the replicas');
        await deployment.stop();
        await control.close();
        access?.close();
        tls?.close();
        if (fatal !== undefined) process.stderr.write(`berth: ${fatal.message} (${fatal.code})\n`);
        logger.info('stopped');
        logger.flush();
        process.exit(status);
      };
      stop.now = shutdown;
      if (fatal !== undefined) void shutdown('start failed', 2);
      process.on('SIGTERM', () => void shutdown('SIGTERM'));
      process.on('SIGINT', () => void shutdown('SIGINT'));

      const started = performance.now();
      await deployment.whenReady();
      if (fatal !== undefined || signals > 0) return;
      const status = deployment.status();
      const ready = status.replicas.filter((r) => r.state === 'ready').length;
      const lines = [
        `berth up: ${ready} of ${status.scaling.desired} replica${status.scaling.desired === 1 ? '' : 's'} ready in ${((performance.now() - started) / 1000).toFixed(1)} s`,
        table([
          ['gateway', status.gateway.url, 'Open Inference Protocol, REST'],
          ...(status.gateway.grpc === undefined
            ? []
            : [['', `grpc://${status.gateway.grpc}`, 'Open Inference Protocol, gRPC']]),
          ['control', control.url, 'berth status, berth scale'],
          ['scaling', status.scaling.mode, status.scaling.reason],
        ]),
        '',
        table([
          ['REPLICA', 'STATE', 'PID', 'URL'],
          ...status.replicas.map((r) => [r.id, r.state, String(r.pid ?? '-'), r.url ?? '-']),
        ]),
        '',
      ];
      process.stdout.write(lines.join('\n'));
    });
}

/** A replica's JSON log line, or undefined for anything else. */
function parseLogLine(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
