/**
 * `berth bench`: a closed-loop load generator for any Open Inference Protocol server (berth,
 * Triton, KServe), as perf_analyzer is for Triton. The engine is src/loadgen/, imported when the
 * command runs.
 */
import { Command, Option } from 'commander';
import { BerthError } from '../ground/index.js';
import type { LevelReport, LiveCounts } from '../loadgen/index.js';
import { helpSection } from './help-text.js';
import { parseDuration, parseInteger } from './option-parsers.js';
import { table } from './table.js';

interface BenchFlags {
  model: string;
  modelVersion?: string;
  concurrency: string;
  duration: string;
  warmup: string;
  shape?: string[];
  batchSize?: string;
  data: string;
  binary?: boolean;
  json?: boolean;
  grpc?: boolean;
  header?: string[];
  jsonOutput?: boolean;
  timeout: string;
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

function positiveDuration(option: string, value: string): number {
  const ms = parseDuration(option, value);
  if (ms <= 0)
    throw new BerthError(
      'BERTH_ERR_CLI_INVALID_OPTION',
      `${option}: expected a duration above 0, got "${value}"`,
    );
  return ms;
}

/** The table, then each error class of each level with its count and first message. */
function formatReport(rows: string[][], errors: readonly string[]): string {
  const listed = errors.length === 0 ? '' : `\nerrors:\n${errors.map((line) => `  ${line}\n`).join('')}`;
  return `${table(rows)}\n${listed}`;
}

export function benchCommand(): Command {
  return new Command('bench')
    .summary('measure throughput and latency of a model on any OIP server (REST or gRPC)')
    .description(
      [
        'Load a model on a running Open Inference Protocol server (berth, Triton, KServe) with' +
          ' closed-loop clients, as perf_analyzer does: at each --concurrency level, N clients each' +
          ' send their next request when the answer to the last has arrived. A warm-up is dropped,' +
          ' then --duration is measured. Prints throughput, latency percentiles and errors by status.',
        'URL is http://host:port for REST (default http://127.0.0.1:8000), grpc://host:port for' +
          ' gRPC, or host:port with --grpc.',
      ].join('\n\n'),
    )
    .argument('[url]', 'the server: http://host:port (REST), grpc://host:port or, with --grpc, host:port')
    .requiredOption('-m, --model <name>', 'the model to benchmark')
    .option('--model-version <version>', 'one version of the model (default: the server picks)')
    .option('-c, --concurrency <list>', 'concurrent clients, a level each, e.g. 1,4,16', '1')
    .option('--duration <duration>', 'measured time per level', '10s')
    .option('--warmup <duration>', 'time per level before measuring (dropped)', '2s')
    .option('--shape <name:dims>', 'shape of an input, e.g. INPUT0:1,3,224,224 (repeatable)', collect)
    .option('-b, --batch-size <n>', 'leading dimension of inputs whose first dimension is -1')
    .option('--data <source>', 'random (seeded), zero, or a JSON file of inputs', 'random')
    .addOption(new Option('--binary', 'REST: binary tensors both ways (the default)').conflicts('json'))
    .addOption(new Option('--json', 'REST: JSON tensors both ways').conflicts('binary'))
    .option('--grpc', 'URL is the gRPC endpoint (host:port)')
    .option('-H, --header <name:value>', 'header (gRPC: metadata) on every request (repeatable)', collect)
    .option('--json-output', 'print one JSON document instead of the table (for scripts)')
    .option('--timeout <duration>', 'longest wait for one answer', '30s')
    .addHelpText(
      'after',
      helpSection({
        notes: [
          'Each run makes one request up front (from the model metadata: variable dimensions are' +
            ' set to 1 unless --shape or --batch-size says otherwise, and a note says so) and sends' +
            ' those same bytes every time, so that the generator stays cheap. Every answer is' +
            ' checked: a success status that is not an inference response with all the' +
            " model's outputs counts as an error of its own (malformed).",
          'Exit status: 0 when every request succeeded, 1 when any failed, 2 for a wrong command' +
            ' line, an unknown model or a server that cannot be reached.',
        ],
        examples: [
          'berth bench http://127.0.0.1:8000 -m iris',
          'berth bench http://localhost:8000 -m resnet -c 1,4,16 --shape input:1,3,224,224',
          'berth bench 127.0.0.1:8001 --grpc -m iris --duration 30s',
          'berth bench http://triton:8000 -m simple --data in.json --json-output > out.json',
          'berth bench http://kserve-ingress -m iris -H "Host: iris.default.example.com"',
        ],
      }),
    )
    .action(async (url: string | undefined, flags: BenchFlags) => {
      const loadgen = await import('../loadgen/index.js');
      const grpc = flags.grpc === true;
      const target = loadgen.parseTarget(url ?? (grpc ? '127.0.0.1:8001' : 'http://127.0.0.1:8000'), grpc);
      if (target.protocol === 'grpc' && (flags.json === true || flags.binary === true))
        throw new BerthError(
          'BERTH_ERR_CLI_INVALID_OPTION',
          `--${flags.json === true ? 'json' : 'binary'}: REST only; gRPC always sends raw tensor bytes`,
        );
      const options = {
        target,
        model: flags.model,
        ...(flags.modelVersion === undefined ? {} : { version: flags.modelVersion }),
        concurrency: loadgen.parseConcurrency(flags.concurrency),
        durationMs: positiveDuration('--duration', flags.duration),
        warmupMs: parseDuration('--warmup', flags.warmup),
        shapes: loadgen.parseShapes(flags.shape ?? []),
        ...(flags.batchSize === undefined
          ? {}
          : { batchSize: parseInteger('--batch-size', flags.batchSize, 1, 1 << 20) }),
        data: loadgen.parseDataSource(flags.data),
        encoding: flags.json === true ? ('json' as const) : ('binary' as const),
        headers: Object.fromEntries((flags.header ?? []).map(loadgen.parseHeader)),
        timeoutMs: positiveDuration('--timeout', flags.timeout),
      };

      const err = process.stderr;
      const tty = err.isTTY;
      let progress: NodeJS.Timeout | undefined;
      const stopProgress = () => {
        if (progress !== undefined) clearInterval(progress);
        progress = undefined;
      };
      const report = await loadgen
        .runBench(options, {
          onPlan: (setup) => err.write(loadgen.setupLines(setup).join('\n') + '\n'),
          onLevelStart: (concurrency: number, live: Readonly<LiveCounts>) => {
            if (!tty) return;
            const started = performance.now();
            progress = setInterval(() => {
              const line = loadgen.progressLine(
                concurrency,
                performance.now() - started,
                options.warmupMs,
                options.durationMs,
                live,
              );
              err.write(`\r${line.slice(0, Math.max(20, (err.columns || 80) - 1))}\x1b[K`);
            }, 250);
            progress.unref();
          },
          onLevelDone: (level: LevelReport) => {
            stopProgress();
            const busy = loadgen.clientCpuNote(level);
            err.write(
              `${tty ? '\r\x1b[K' : ''}${loadgen.levelLine(level)}\n${busy === undefined ? '' : `${busy}\n`}`,
            );
          },
        })
        .finally(stopProgress);

      process.stdout.write(
        flags.jsonOutput === true
          ? JSON.stringify(report, null, 2) + '\n'
          : formatReport(loadgen.reportRows(report), loadgen.errorLines(report)),
      );
      process.exitCode = report.ok ? 0 : 1;
    });
}
