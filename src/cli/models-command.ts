/** `berth models`: model control and state of a running server (berth or Triton), REST or gRPC. */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { prose } from './help-text.js';
import type { OipClient } from '../client/index.js';
import { BerthError, type ModelIndexEntry } from '../ground/index.js';
import { parseDuration } from './option-parsers.js';
import { table } from './table.js';

interface ConnectionFlags {
  url: string;
  timeout: string;
  json?: boolean;
}

/** The client is imported when a models command runs, so `berth serve` does not load it. */
async function connect(flags: ConnectionFlags): Promise<OipClient> {
  const { createClient } = await import('../client/index.js');
  return createClient({ url: flags.url, timeoutMs: parseDuration('--timeout', flags.timeout) });
}

function withConnection(command: Command): Command {
  return command
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    .option(
      '--url <url>',
      'server to talk to: http://host:port (REST) or grpc://host:port',
      'http://127.0.0.1:8000',
    )
    .option('--timeout <duration>', 'longest wait for the server (a load waits for the model)', '10m')
    .option('--json', 'print JSON for scripts');
}

function formatIndex(index: readonly ModelIndexEntry[]): string {
  if (index.length === 0) return '  (no models)\n';
  return (
    table([
      ['MODEL', 'VERSION', 'STATE', 'REASON'],
      ...index.map((e) => [e.name, e.version === '' ? '-' : e.version, e.state, e.reason]),
    ]) + '\n'
  );
}

/** Reads --config: a file path, or JSON given inline. */
function configText(value: string): string {
  if (value.trimStart().startsWith('{')) return value;
  try {
    return readFileSync(value, 'utf8');
  } catch (error) {
    throw new BerthError(
      'BERTH_ERR_CLI_INVALID_OPTION',
      `--config: cannot read ${value} (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
    );
  }
}

async function run<T>(flags: ConnectionFlags, task: (client: OipClient) => Promise<T>): Promise<T> {
  const client = await connect(flags);
  try {
    return await task(client);
  } finally {
    client.close();
  }
}

export function modelsCommand(): Command {
  const models = new Command('models')
    .summary('list, load and unload the models of a running server; pull the models of an image')
    .description(
      prose([
        "List a running server's models with the state of each version (Triton's repository index),",
        'and load, reload or unload them. Load and unload need a server started with',
        '--model-control-mode explicit. Works over REST (http://) or gRPC (grpc://), against berth',
        'or Triton.',
      ]),
    );

  models.addCommand(
    withConnection(new Command('list'))
      .summary('every model version with its state')
      .option('--ready', 'only versions that are ready')
      .addHelpText(
        'after',
        '\nExamples:\n  berth models list\n  berth models list --url grpc://127.0.0.1:8001 --json',
      )
      .action(async (flags: ConnectionFlags & { ready?: boolean }) => {
        const index = await run(flags, (c) => c.repositoryIndex({ readyOnly: flags.ready === true }));
        process.stdout.write(
          flags.json === true ? JSON.stringify(index, null, 2) + '\n' : formatIndex(index),
        );
      }),
  );

  models.addCommand(
    withConnection(new Command('load'))
      .summary('load or reload a model, waiting until it serves')
      .argument('<model>', "model name (a folder of the server's repository)")
      .option(
        '--config <file-or-json>',
        "config replacing the model's config file (Triton ModelConfig JSON or config.yaml keys as JSON)",
      )
      .addHelpText(
        'after',
        [
          '',
          'Examples:',
          '  berth models load fraud',
          '  berth models load fraud --config \'{"max_batch_size": 16}\'',
          '  berth models load fraud --config fraud-config.json --url grpc://10.0.0.5:8001',
        ].join('\n'),
      )
      .action(async (name: string, flags: ConnectionFlags & { config?: string }) => {
        const config = flags.config === undefined ? undefined : configText(flags.config);
        if (flags.json !== true) process.stderr.write(`loading ${name}...\n`);
        const started = performance.now();
        const index = await run(flags, async (c) => {
          await c.loadModel(name, config === undefined ? {} : { config });
          return (await c.repositoryIndex()).filter((e) => e.name === name);
        });
        const ms = Math.round(performance.now() - started);
        if (flags.json === true)
          process.stdout.write(JSON.stringify({ model: name, ms, versions: index }, null, 2) + '\n');
        else process.stdout.write(`loaded ${name} in ${ms} ms\n${formatIndex(index)}`);
      }),
  );

  models.addCommand(
    withConnection(new Command('unload'))
      .summary('unload a model once its accepted requests have finished')
      .argument('<model>', 'model name')
      .addHelpText('after', '\nExamples:\n  berth models unload fraud')
      .action(async (name: string, flags: ConnectionFlags) => {
        await run(flags, (c) => c.unloadModel(name));
        if (flags.json === true) process.stdout.write(JSON.stringify({ model: name, unloaded: true }) + '\n');
        else process.stdout.write(`unloaded ${name}\n`);
      }),
  );

  models.addCommand(
    withConnection(new Command('stats'))
      .summary("requests, failures, queue and compute time per model version (Triton's statistics)")
      .argument('[model]', 'model name (default: every model)')
      .option('--model-version <version>', 'one version of the model')
      .addHelpText('after', '\nExamples:\n  berth models stats\n  berth models stats fraud --json')
      .action(async (name: string | undefined, flags: ConnectionFlags & { modelVersion?: string }) => {
        const stats = await run(flags, (c) => c.modelStatistics(name, flags.modelVersion));
        if (flags.json === true) {
          process.stdout.write(JSON.stringify({ model_stats: stats }, null, 2) + '\n');
          return;
        }
        const ms = (d: { count: number; ns: number }) =>
          d.count === 0 ? '-' : (d.ns / d.count / 1e6).toFixed(2);
        process.stdout.write(
          table([
            ['MODEL', 'VERSION', 'SUCCESS', 'FAIL', 'EXECUTIONS', 'INFERENCES', 'QUEUE MS', 'COMPUTE MS'],
            ...stats.map((s) => [
              s.name,
              s.version,
              String(s.inference_stats.success.count),
              String(s.inference_stats.fail.count),
              String(s.execution_count),
              String(s.inference_count),
              ms(s.inference_stats.queue),
              ms(s.inference_stats.compute_infer),
            ]),
          ]) + '\n',
        );
      }),
  );
  models.addCommand(pullCommand());
  return models;
}

/** `berth models pull IMAGE DIR`: a Kubernetes init container's job (docs/kubernetes.md). */
function pullCommand(): Command {
  return new Command('pull')
    .summary('fetch the models of an image berth build pushed into a folder')
    .description(
      [
        'Fetch the models/ tree of an image `berth build` pushed (by digest, ideally) from its registry',
        "into DIR, check every model file against the sha256 the image's labels record, and mark DIR",
        'with what it holds: a DIR that already holds the same image is left as it is. berth render k8s',
        'runs this as an init container for kubernetes.models.source oci. Credentials as berth build',
        'finds them (BERTH_REGISTRY_USERNAME/PASSWORD, ~/.docker/config.json, $DOCKER_CONFIG).',
      ].join(' '),
    )
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    .argument('<image>', 'the image: registry.example/fraud@sha256:...')
    .argument('<dir>', 'the folder to write the models into')
    .option(
      '--platform <os/arch>',
      "whose image to read from a multi-platform index (default: this machine's)",
    )
    .option(
      '--insecure-registry <host>',
      'talk plain HTTP to this registry (repeatable)',
      (v: string, a: string[]) => [...a, v],
      [],
    )
    .option('--json', 'print what was fetched as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  berth models pull registry.example/fraud@sha256:... /models\n  berth models pull localhost:5000/fraud:1.0 ./models --insecure-registry localhost:5000\n',
    )
    .action(
      async (
        image: string,
        dir: string,
        flags: { platform?: string; insecureRegistry: string[]; json?: boolean },
      ) => {
        const { parsePlatforms } = await import('./image-options.js');
        const [platform] = parsePlatforms(flags.platform);
        const { pullModels } = await import('../packaging/index.js');
        const started = performance.now();
        const pulled = await pullModels({
          image,
          dir,
          platform: platform as NonNullable<typeof platform>,
          insecureRegistries: flags.insecureRegistry,
        });
        const ms = Math.round(performance.now() - started);
        process.stdout.write(
          flags.json === true
            ? `${JSON.stringify({ ...pulled, dir, ms }, null, 2)}\n`
            : `${pulled.fetched ? 'pulled' : 'already there:'} ${pulled.models.map((m) => `${m.name} (version ${m.version})`).join(', ')} from ${image} into ${dir}${pulled.fetched ? ` in ${ms} ms` : ''}\n`,
        );
      },
    );
}
