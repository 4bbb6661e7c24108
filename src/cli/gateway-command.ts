/**
 * `berth gateway`: the gateway alone, in front of OIP servers found by DNS (on Kubernetes, the
 * pods behind a headless Service), with access control, rate limits, resilience and the canary
 * split of `berth up`. The work is the orchestrator's (cluster-gateway.ts); this file reads the
 * command line and the spec, and logs what changes.
 */
import { dirname } from 'node:path';
import { Command } from 'commander';
import { BerthError } from '../ground/index.js';
import { LOG_LEVELS } from '../observability/log-options.js';
import { addAccessOptions, gatewayAccessOf, tlsOf, withServeSpec, type AccessFlags } from './access-flags.js';
import { helpSection, prose } from './help-text.js';
import { logFormatOf, logFormatOption, logLevelOption } from './log-flags.js';
import { parseChoice, parseDuration, parseInteger, parseSize } from './option-parsers.js';
import { tuneServerProcess } from './server-process.js';

interface GatewayFlags extends AccessFlags {
  file?: string;
  upstream?: string;
  canaryUpstream?: string;
  upstreamGrpcPort: string;
  traffic?: string;
  host: string;
  port: string;
  grpc: boolean;
  grpcPort: string;
  maxBodySize: string;
  discoveryInterval: string;
  drainTimeout: string;
  logLevel: string;
  logFormat: string;
}

export function gatewayCommand(): Command {
  return addAccessOptions(new Command('gateway'))
    .summary('run the gateway alone, in front of OIP servers found by DNS (the gateway pods on Kubernetes)')
    .description(
      prose([
        "Run berth up's gateway without its replicas: the Open Inference Protocol over REST and gRPC",
        'on --port and --grpc-port, forwarded to the servers --upstream names, with the same',
        'balancing (least outstanding requests), outlier ejection, circuit breakers, safe retries',
        'under a retry budget, buffer, API keys, JWTs, rate limits, audit log and TLS.',
        '',
        '--upstream dns:HOST:PORT is looked up every --discovery-interval and every address it has',
        'becomes an upstream: on Kubernetes, a headless Service answers with one address per ready',
        'pod, so pods join and leave the balancer as they come and go, with no API credential. An',
        'IP address works too (dns:10.0.0.7:8000).',
        '',
        "--canary-upstream names a candidate's servers, and --traffic a JSON file saying what share",
        'of requests they answer or get a copy of, and whether answers are compared (as',
        'rollout.analysis.compare says; counted in berth_gateway_comparisons_total), read every second:',
        '  {"candidate": true, "weight": 10, "mirror": 0, "step": 0, "compare": false}',
        '`berth deploy` writes that file through a ConfigMap at each step of a canary; the',
        '`x-berth-track: canary` header pins a request to the candidate while it is in the gateway.',
        '',
        "The spec (berth.yaml, or -f FILE) supplies the serve section's access control and TLS,",
        '`resilience`, and `rollout.analysis.compare`; see docs/kubernetes.md, "berth\'s gateway on the cluster".',
        '',
        'SIGTERM or SIGINT: the gateway stops taking requests, answers those in flight (up to',
        '--drain-timeout), and exits 0.',
      ]),
    )
    .option('-f, --file <berth.yaml>', 'the spec file (default: ./berth.yaml when it exists)')
    .option('--upstream <dns:HOST:PORT>', 'the servers of the stable track (required)')
    .option('--canary-upstream <dns:HOST:PORT>', "the candidate's servers, for canary and shadow rollouts")
    .option('--upstream-grpc-port <port>', "the upstreams' gRPC port", '8001')
    .option('--traffic <file>', 'the traffic file: the share of requests the candidate answers (JSON)')
    .option('--host <host>', 'the address to listen on (0.0.0.0 for all interfaces)', '127.0.0.1')
    .option('-p, --port <port>', 'the REST port (0 picks a free one)', '8000')
    .option('--grpc-port <port>', 'the gRPC port (0 picks a free one)', '8001')
    .option('--no-grpc', 'serve REST only (the upstreams are reached over REST only)')
    .option('--max-body-size <size>', 'largest request body the gateway accepts', '64MiB')
    .option('--discovery-interval <duration>', 'how often the upstream names are looked up', '5s')
    .option('--drain-timeout <duration>', 'longest wait for in-flight requests at shutdown', '30s')
    .addOption(logLevelOption())
    .addOption(logFormatOption())
    .addHelpText(
      'after',
      helpSection({
        notes: [
          'The gateway is ready (GET /v2/health/ready) while some upstream is; requests that find none wait in the buffer (resilience.buffer).',
          "Metrics on GET /metrics: requests by model and track, upstream latency, retries, ejections, breakers, and the canary's weight.",
        ],
        examples: [
          'berth gateway --upstream dns:fraud-pods:8000 --host 0.0.0.0',
          'berth gateway -f berth.yaml --upstream dns:fraud-pods:8000 --canary-upstream dns:fraud-canary-pods:8000 --traffic /etc/berth/traffic/traffic.json',
          'berth gateway --upstream dns:127.0.0.1:9000 --api-keys keys.json --rate-limit 100/s',
        ],
      }),
    )
    .action(async (cliFlags: GatewayFlags, command: Command) => {
      tuneServerProcess();
      const [
        { createLogger },
        { loadSpec, resilienceSection, rolloutSection },
        orchestrator,
        { parseDnsTarget },
      ] = await Promise.all([
        import('../observability/index.js'),
        import('../spec/index.js'),
        import('../orchestrator/index.js'),
        import('../gateway/index.js'),
      ]);
      const loaded = await loadSpec(cliFlags.file);
      const flags =
        loaded === undefined
          ? cliFlags
          : withServeSpec(cliFlags, loaded.spec.serve, dirname(loaded.path), (name) =>
              command.getOptionValueSource(name),
            );
      const logger = createLogger({
        level: parseChoice('--log-level', flags.logLevel, LOG_LEVELS),
        format: logFormatOf(flags.logFormat),
      });
      if (flags.upstream === undefined)
        throw new BerthError(
          'BERTH_ERR_CLI_USAGE',
          '--upstream is required: the servers to forward to, as dns:HOST:PORT (e.g. dns:fraud-pods:8000)',
        );
      const upstreamGrpc = flags.grpc
        ? parseInteger('--upstream-grpc-port', flags.upstreamGrpcPort, 1, 65535)
        : undefined;
      const stable = parseDnsTarget('--upstream', flags.upstream, upstreamGrpc);
      const candidate =
        flags.canaryUpstream === undefined
          ? undefined
          : parseDnsTarget('--canary-upstream', flags.canaryUpstream, upstreamGrpc);
      const port = parseInteger('--port', flags.port, 0, 65535);
      const grpcPort = flags.grpc ? parseInteger('--grpc-port', flags.grpcPort, 0, 65535) : undefined;
      const maxBodyBytes = parseSize('--max-body-size', flags.maxBodySize);
      const discoveryIntervalMs = parseDuration('--discovery-interval', flags.discoveryInterval);
      const stopTimeoutMs = parseDuration('--drain-timeout', flags.drainTimeout);
      const resilience = resilienceSection.parse(loaded?.spec.resilience ?? {});
      const { compare } = rolloutSection.parse(loaded?.spec.rollout ?? {}).analysis;

      const access = await gatewayAccessOf(flags, logger);
      const tls = await tlsOf(flags, logger).catch((error: unknown) => {
        access?.close();
        throw error;
      });
      const gateway = await orchestrator.ClusterGateway.start({
        stable,
        ...(candidate === undefined ? {} : { candidate }),
        ...(flags.traffic === undefined ? {} : { trafficFile: flags.traffic }),
        resilience,
        compare,
        host: flags.host,
        port,
        ...(grpcPort === undefined ? {} : { grpcPort }),
        maxBodyBytes,
        ...(access === undefined ? {} : { access: access.access }),
        ...(tls === undefined ? {} : { tls }),
        discoveryIntervalMs,
        stopTimeoutMs,
        onEvent: (level, message, fields) => logger[level](fields, message),
      }).catch((error: unknown) => {
        access?.close();
        tls?.close();
        throw error;
      });
      const status = gateway.status();
      logger.info(
        {
          url: status.url,
          grpc: status.grpc,
          upstream: flags.upstream,
          upstreams: status.stable.length,
          ...(candidate === undefined ? {} : { canaryUpstream: flags.canaryUpstream }),
        },
        `berth gateway: listening on ${status.url}${status.grpc === undefined ? '' : ` and grpc://${status.grpc}`}, ${status.stable.length} upstream(s) at ${stable.host}`,
      );

      let signals = 0;
      const shutdown = async (signal: string) => {
        if (++signals > 1) {
          logger.warn({ signal }, 'second signal: exiting now');
          process.exit(1);
        }
        logger.info({ signal }, 'shutting down: answering the requests in flight');
        await gateway.stop();
        access?.close();
        tls?.close();
        logger.info('stopped');
        logger.flush();
        process.exit(0);
      };
      process.on('SIGTERM', () => void shutdown('SIGTERM'));
      process.on('SIGINT', () => void shutdown('SIGINT'));
    });
}
