/**
 * `berth render dockerfile|compose|k8s|nomad|terraform`: files for other tools that build or run
 * the image `berth build` writes (k8s: render-k8s.ts; nomad and terraform: render-hcl.ts). `berth
 * render runtime` is the Dockerfile's build-stage helper. A Helm chart (`render helm`) is planned,
 * not written yet.
 */
import { isIP } from 'node:net';
import { Command } from 'commander';
import { BerthError } from '../ground/index.js';
import type { Platform } from '../packaging/index.js';
import { parseImageReference } from '../packaging/image-reference.js';
import { helpSection } from './help-text.js';
import { defaultImageTag, parsePlatforms, sourceDateEpoch, splitImageTag } from './image-options.js';
import { VERSION } from './version.js';
import { reportWritten, writeOutputFiles, type OutputFlags } from './render-output.js';
import { k8sCommand } from './render-k8s.js';
import { nomadCommand, terraformCommand } from './render-hcl.js';

function onePlatform(value: string | undefined): Platform {
  const [first, ...rest] = parsePlatforms(value);
  if (first === undefined || rest.length > 0) throw invalid('--platform', 'give one platform');
  return first;
}

const PLANNED = ['helm'] as const;
const MEMORY_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
};

function invalid(option: string, message: string): BerthError {
  return new BerthError('BERTH_ERR_CLI_INVALID_OPTION', `${option}: ${message}`);
}

interface DockerfileFlags extends OutputFlags {
  tag?: string;
  node?: string;
  nodeImage?: string;
  baseImage?: string;
  berthPackage?: string;
  link: boolean;
  revision?: string;
  source?: string;
}

interface ComposeFlags extends OutputFlags {
  image?: string;
  service?: string;
  modelsVolume?: boolean;
  cpus?: string;
  memory?: string;
  host: string;
  port: string;
  grpcPort: string;
  node?: string;
}

/** A value that goes into the Dockerfile as a word: no spaces, quotes, `$` or backslashes. */
function word(option: string, value: string | undefined): string | undefined {
  if (value !== undefined && !/^[^\s"'$\\]+$/.test(value))
    throw invalid(
      option,
      `expected a value without spaces, quotes, "$" or "\\", got ${JSON.stringify(value)}`,
    );
  return value;
}

function nodePath(value: string | undefined): string | undefined {
  if (value !== undefined && !/^\/[^\s"'$\\]*$/.test(value))
    throw invalid('--node', `expected an absolute path such as /nodejs/bin/node, got "${value}"`);
  return value;
}

function port(option: string, value: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 65535)
    throw invalid(option, `expected a port from 1 to 65535, got "${value}"`);
  return n;
}

function cpus(value: string): string {
  if (!/^\d+(\.\d+)?$/.test(value) || Number(value) <= 0)
    throw invalid('--cpus', `expected a number of CPUs above 0 such as 2 or 0.5, got "${value}"`);
  return value;
}

/** Compose's byte format; at least 6 MiB, Docker's smallest memory limit. */
function memory(value: string): string {
  const match = /^(\d+(?:\.\d+)?)([a-z]*)$/i.exec(value.trim());
  const unit = MEMORY_UNITS[(match?.[2] ?? '').toLowerCase()];
  if (match === null || unit === undefined)
    throw invalid('--memory', `expected a size such as 2g, 512m or 1.5gb, got "${value}"`);
  if (Number(match[1]) * unit < 6 * 1024 ** 2)
    throw invalid('--memory', `expected at least 6m, got "${value}"`);
  return value.trim().toLowerCase();
}

function withOutput(command: Command): Command {
  return command
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    .argument('[models...]', '.onnx files and/or model repository folders, as for berth build')
    .option('-o, --output <dir>', 'folder to write into (created if missing)', '.')
    .option('--force', 'replace files that exist')
    .option('--json', 'print what was written as JSON, for scripts')
    .option('--node <path>', "node's path in the image (default: /nodejs/bin/node, distroless's)");
}

function dockerfileCommand(): Command {
  return withOutput(new Command('dockerfile'))
    .summary('write a multi-stage Dockerfile and .dockerignore that build the berth build image')
    .description(
      [
        'Write DIR/Dockerfile and DIR/.dockerignore: a multi-stage build of the image `berth build` writes',
        '(same layers, user 65532, ports 8000 and 8001, command, environment, stop signal, health check',
        'and labels), for teams that build with docker buildx or podman. DIR is the build context, so',
        'the models must be inside it; .dockerignore lets in nothing but them.',
      ].join(' '),
    )
    .option(
      '-t, --tag <name:tag>',
      'image name and tag for the labels (default: berth-<first model>:<berth version>)',
    )
    .option('--base-image <ref>', 'default of the BASE_IMAGE build argument (runtime image with Node.js)')
    .option('--node-image <ref>', 'default of the NODE_IMAGE build argument (build stage: Node.js with npm)')
    .option(
      '--berth-package <spec>',
      'default of BERTH_PACKAGE: what npm installs (default: berth-ml@<version>)',
    )
    .option('--no-link', 'plain COPY instead of COPY --link (podman and buildah before 5.6 / 1.41)')
    .option('--revision <rev>', 'org.opencontainers.image.revision label (e.g. a git commit)')
    .option('--source <url>', 'org.opencontainers.image.source label')
    .addHelpText(
      'after',
      helpSection({
        examples: [
          'berth render dockerfile ./models  # writes ./Dockerfile, ./.dockerignore',
          'docker buildx build --platform linux/amd64,linux/arm64 -t registry.example/fraud:1.0 --push .',
          'berth render dockerfile ./models --no-link && podman build --format docker -t fraud:1.0 .',
          'berth render dockerfile model.onnx -o build --base-image gcr.io/distroless/nodejs24-debian12:nonroot@sha256:...',
        ],
      }),
    )
    .action(async (models: string[], flags: DockerfileFlags) => {
      const { name, tag } = splitImageTag(flags.tag ?? defaultImageTag(models));
      const node = nodePath(flags.node);
      const nodeImage = word('--node-image', flags.nodeImage);
      const baseImage = word('--base-image', flags.baseImage);
      const berthPackage = word('--berth-package', flags.berthPackage);
      // Imported here so that `berth serve` does not load the packaging module.
      const { renderDockerfile } = await import('../packaging/index.js');
      const rendered = await renderDockerfile({
        models,
        context: flags.output,
        name,
        tag,
        created: sourceDateEpoch(),
        berthVersion: VERSION,
        link: flags.link,
        ...(node === undefined ? {} : { nodePath: node }),
        ...(nodeImage === undefined ? {} : { nodeImage }),
        ...(baseImage === undefined ? {} : { baseImage }),
        ...(berthPackage === undefined ? {} : { berthPackage }),
        ...(flags.revision === undefined ? {} : { revision: flags.revision }),
        ...(flags.source === undefined ? {} : { source: flags.source }),
      });
      const written = await writeOutputFiles(flags, {
        Dockerfile: rendered.dockerfile,
        '.dockerignore': rendered.dockerignore,
      });
      reportWritten(
        flags,
        written,
        rendered.warnings,
        [
          `build: docker buildx build -t ${name}:${tag} ${flags.output}`,
          `   or: podman build --format docker -t ${name}:${tag} ${flags.output}`,
        ],
        { image: `${name}:${tag}`, models: rendered.models },
      );
    });
}

function composeCommand(): Command {
  return withOutput(new Command('compose'))
    .summary('write a hardened compose.yaml that runs the berth image')
    .description(
      [
        'Write DIR/compose.yaml with one service running the image `berth build` tags for these models:',
        'user 65532, read-only root filesystem with a /tmp tmpfs, all capabilities dropped,',
        'no-new-privileges, ports on 127.0.0.1, CPU and memory limits, the health check and stop signal',
        "of the image, and a stop grace period longer than berth's drain. With --models-volume the",
        'models are mounted read-only at /models into an image built without them.',
      ].join(' '),
    )
    .option(
      '--image <ref>',
      'image to run (default: what berth build tags; berth:<version> with --models-volume)',
    )
    .option('--service <name>', 'service name (default: from the image name)')
    .option('--models-volume', 'mount the models read-only at /models instead of baking them into the image')
    .option('--cpus <n>', 'deploy.resources.limits.cpus (default: 2)')
    .option('--memory <size>', 'deploy.resources.limits.memory, with a unit b, k, m or g (default: 2g)')
    .option('--host <address>', 'host address the ports are published on', '127.0.0.1')
    .option('--port <port>', 'host port for REST (the container listens on 8000)', '8000')
    .option('--grpc-port <port>', 'host port for gRPC (the container listens on 8001)', '8001')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  berth render compose ./models && docker compose up -d',
        '  berth render compose ./models --models-volume --memory 4g --cpus 4 -o deploy',
        '  berth render compose --image registry.example/fraud@sha256:... --host 0.0.0.0',
      ].join('\n'),
    )
    .action(async (models: string[], flags: ComposeFlags) => {
      const volume = flags.modelsVolume === true;
      if (volume && models.length === 0)
        throw invalid('--models-volume', 'give the .onnx files or repository folders to mount');
      const image = flags.image ?? (volume ? `berth:${VERSION}` : defaultImageTag(models));
      try {
        parseImageReference(image);
      } catch (error) {
        throw invalid('--image', (error as Error).message);
      }
      const service =
        flags.service ??
        (image.split('@')[0] ?? image)
          .split('/')
          .pop()
          ?.replace(/:[^:]*$/, '')
          .replace(/^berth-(?=.)/, '') ??
        'berth';
      if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(service))
        throw invalid('--service', `expected letters, digits, "_", "." or "-", got "${service}"`);
      if (isIP(flags.host) === 0) throw invalid('--host', `expected an IP address, got "${flags.host}"`);
      const node = nodePath(flags.node);
      const { renderCompose } = await import('../packaging/index.js');
      const rendered = await renderCompose({
        models,
        directory: flags.output,
        image,
        service,
        modelsVolume: volume,
        ...(flags.cpus === undefined ? {} : { cpus: cpus(flags.cpus) }),
        ...(flags.memory === undefined ? {} : { memory: memory(flags.memory) }),
        host: isIP(flags.host) === 6 ? `[${flags.host}]` : flags.host,
        httpPort: port('--port', flags.port),
        grpcPort: port('--grpc-port', flags.grpcPort),
        berthVersion: VERSION,
        ...(node === undefined ? {} : { nodePath: node }),
      });
      const written = await writeOutputFiles(flags, { 'compose.yaml': rendered.yaml });
      reportWritten(flags, written, [], [`run: docker compose -f ${written[0] ?? ''} up -d`], {
        image,
        service,
        mounts: rendered.mounts,
      });
    });
}

function runtimeCommand(): Command {
  return new Command('runtime')
    .summary("copy berth's runtime files (the berth layer of berth build) into a folder")
    .description(
      [
        "Copy berth's own files as `berth build` puts them in the image's /app: package.json, bin/,",
        'dist/ without tests and maps, and the production dependencies pruned of tests, docs and',
        "onnxruntime binaries for other platforms. The Dockerfile's build stage runs this.",
      ].join(' '),
    )
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    .argument('<dir>', 'folder to create (must not exist)')
    .option(
      '--platform <os/arch>',
      'linux/amd64 or linux/arm64: whose onnxruntime binaries to keep (default: this machine)',
    )
    .addHelpText('after', '\nExample:\n  berth render runtime /out/app --platform linux/arm64')
    .action(async (dir: string, flags: { platform?: string }) => {
      const { writeRuntimeFiles } = await import('../packaging/index.js');
      const files = await writeRuntimeFiles(dir, onePlatform(flags.platform));
      process.stdout.write(`wrote ${files} files to ${dir}\n`);
    });
}

/** `render helm`: named, so that the error says it is coming. */
function plannedCommand(what: (typeof PLANNED)[number]): Command {
  return new Command(what)
    .allowUnknownOption()
    .allowExcessArguments()
    .exitOverride()
    .action(() => {
      throw invalid(
        'render',
        `"${what}" is not available yet (a Helm chart is planned); use dockerfile, compose, k8s, nomad or terraform`,
      );
    });
}

export function renderCommand(): Command {
  const render = new Command('render')
    .summary('write a Dockerfile, compose.yaml, Kubernetes manifests, a Nomad job or Terraform for berth')
    .description(
      [
        'Write files for other tools: `dockerfile` (a multi-stage Dockerfile and .dockerignore that',
        'build the image `berth build` writes, for docker buildx or podman), `compose` (a hardened',
        'compose.yaml that runs it), `k8s` (Kubernetes manifests from berth.yaml, a kustomize base),',
        '`nomad` (a Nomad job) or `terraform` (the k8s objects as hashicorp/kubernetes resources).',
        'A Helm chart is not available yet.',
      ].join(' '),
    )
    .argument('[what]', 'dockerfile, compose, k8s, nomad or terraform')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  berth render dockerfile ./models && docker buildx build -t fraud:1.0 .',
        '  berth render compose ./models && docker compose up -d',
        '  berth render k8s --image-from build.json && kubectl apply -k k8s',
      ].join('\n'),
    )
    // Reached only when `what` is none of the subcommands.
    .action((what: string | undefined) => {
      throw invalid(
        'render',
        `${what === undefined ? 'expected what to render' : `unknown "${what}"`}: use dockerfile, compose, k8s, nomad or terraform (${PLANNED.join(', ')}: not yet available)`,
      );
    });
  render.addCommand(dockerfileCommand());
  render.addCommand(composeCommand());
  render.addCommand(k8sCommand());
  render.addCommand(nomadCommand());
  render.addCommand(terraformCommand());
  render.addCommand(runtimeCommand());
  for (const what of PLANNED) render.addCommand(plannedCommand(what), { hidden: true });
  return render;
}
