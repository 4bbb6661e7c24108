/**
 * `berth render compose`: a compose.yaml that runs one berth image the way a security review
 * expects: non-root, read-only root filesystem, every capability dropped, no privilege escalation,
 * ports on the loopback interface, resource limits, and the image's health check, stop signal and
 * a grace period longer than berth's drain. Keys follow the Compose Specification
 * (https://github.com/compose-spec/compose-spec/blob/main/spec.md, services and deploy.resources).
 *
 * The models are baked into the image (what `berth build` and `berth render dockerfile` make) or,
 * with `modelsVolume`, bind-mounted read-only at /models into an image built without models.
 */
import { stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { Document, isScalar, Scalar, visit } from 'yaml';
import { modelSources } from './dockerfile-render.js';
import {
  DEFAULT_NODE_PATH,
  HEALTHCHECK_TIMING,
  healthCommand,
  IMAGE_GRPC_PORT,
  IMAGE_HTTP_PORT,
  IMAGE_MODELS_DIR,
  IMAGE_STOP_SIGNAL,
  IMAGE_USER,
  serveArguments,
} from './image-contract.js';
import { collectModels } from './model-files.js';

/** berth serve's --drain-timeout default (30 s) and 5 s to exit, so a stop never cuts a drain short. */
export const STOP_GRACE_PERIOD = '35s';
export const DEFAULT_CPUS = '2';
export const DEFAULT_MEMORY = '2g';

export interface ComposeOptions {
  /** .onnx files and repository folders, as `berth build` takes them; none: the built-in example. */
  readonly models: readonly string[];
  /** Where compose.yaml goes: bind-mount sources are written relative to it. */
  readonly directory: string;
  /** The image to run, e.g. `berth-models:0.1.0` or `registry.example/fraud@sha256:...`. */
  readonly image: string;
  readonly service: string;
  /** Mount the models read-only at /models instead of using the ones baked into the image. */
  readonly modelsVolume?: boolean;
  /** deploy.resources.limits: cpus (e.g. `2`, `0.5`) and memory (e.g. `2g`, `512m`). */
  readonly cpus?: string;
  readonly memory?: string;
  /** The host side of the published ports: address (default 127.0.0.1), REST and gRPC ports. */
  readonly host?: string;
  readonly httpPort?: number;
  readonly grpcPort?: number;
  /** node in the image (default /nodejs/bin/node), for the health check. */
  readonly nodePath?: string;
  /** berth's version, named in the file's header. */
  readonly berthVersion: string;
}

export interface RenderedCompose {
  readonly yaml: string;
  /** The bind mounts, with `modelsVolume`. */
  readonly mounts: readonly { readonly source: string; readonly target: string }[];
}

/** A registry host: the first path component has a dot or a port, or is localhost. */
function hasRegistry(image: string): boolean {
  const first = image.split('/')[0] ?? '';
  return image.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost');
}

/** A bind-mount source as compose reads it: relative to the compose file, starting with `.`. */
function composePath(directory: string, path: string): string {
  const rel = relative(directory, resolve(path)).split(sep).join('/');
  if (isAbsolute(rel)) return rel;
  return rel === '' ? '.' : rel.startsWith('.') ? rel : `./${rel}`;
}

/** One read-only mount of the whole repository when it is all there is, else one per model. */
async function modelMounts(
  paths: readonly string[],
  directory: string,
): Promise<{ source: string; target: string }[]> {
  const only = paths.length === 1 ? paths[0] : undefined;
  if (only !== undefined && (await stat(only)).isDirectory()) {
    return [{ source: composePath(directory, only), target: IMAGE_MODELS_DIR }];
  }
  // A mount inside a read-only mount would need a mount point in the host's folder: one per model.
  return (await modelSources(paths)).map(({ name, path, file }) => ({
    source: composePath(directory, path),
    target: file ? `${IMAGE_MODELS_DIR}/${name}/1/model.onnx` : `${IMAGE_MODELS_DIR}/${name}`,
  }));
}

function header(options: ComposeOptions, mounts: readonly { source: string; target: string }[]): string {
  const build =
    options.modelsVolume === true || options.models.length === 0 ? '' : ` ${options.models.join(' ')}`;
  const lines = [
    ` Written by \`berth render compose\` ${options.berthVersion}.`,
    '',
    ' Runs one berth image hardened for a security review: user 65532, read-only root filesystem',
    ' (berth writes nothing; /tmp is a tmpfs), no capabilities, no privilege escalation, CPU and',
    " memory limits, the image's health check, and a stop grace period longer than berth's drain.",
    ' Ports are published on the loopback interface only: put a proxy in front, or render with',
    ' --host 0.0.0.0 to publish them on every interface.',
    '',
    ...(options.modelsVolume === true
      ? [
          ' The models are mounted read-only, and the image has none:',
          ...mounts.map((m) => `   ${m.source} -> ${m.target}`),
          ' Build and load the image first, e.g.:',
        ]
      : [' The models are in the image; build and load it first, e.g.:']),
    `   berth build${build} --output docker-archive:image.tar -t ${options.image}`,
    '   docker load -i image.tar   (or podman load -i image.tar)',
    '   docker compose up -d',
  ];
  if (!hasRegistry(options.image)) {
    lines.push(
      '',
      ' pull_policy: never, since the image is local: a name without a registry would otherwise be',
      ' looked up on Docker Hub, where anyone could have published it.',
    );
  }
  return lines.map((line) => `#${line}`.trimEnd()).join('\n') + '\n\n';
}

/**
 * compose.yaml for one berth service.
 *
 * @example
 * const { yaml } = await renderCompose({ models: ['./models'], directory: '.', image: 'berth-models:0.1.0', service: 'models', berthVersion: '0.1.0' });
 */
export async function renderCompose(options: ComposeOptions): Promise<RenderedCompose> {
  const directory = resolve(options.directory);
  await collectModels(options.models); // the checks `berth build` makes
  const mounts =
    options.modelsVolume === true && options.models.length > 0
      ? await modelMounts(options.models, directory)
      : [];
  const host = options.host ?? '127.0.0.1';
  const seconds = (s: number) => `${s}s`;
  const service: Record<string, unknown> = {
    image: options.image,
    ...(hasRegistry(options.image) ? {} : { pull_policy: 'never' }),
    // A model-less image serves the built-in example unless told to serve /models.
    ...(mounts.length > 0 ? { command: serveArguments(true) } : {}),
    user: IMAGE_USER,
    read_only: true,
    tmpfs: ['/tmp'],
    cap_drop: ['ALL'],
    security_opt: ['no-new-privileges:true'],
    init: false,
    restart: 'unless-stopped',
    ports: [
      `${host}:${options.httpPort ?? IMAGE_HTTP_PORT}:${IMAGE_HTTP_PORT}`,
      `${host}:${options.grpcPort ?? IMAGE_GRPC_PORT}:${IMAGE_GRPC_PORT}`,
    ],
    ...(mounts.length > 0
      ? {
          volumes: mounts.map((m) => ({
            type: 'bind',
            source: m.source,
            target: m.target,
            read_only: true,
          })),
        }
      : {}),
    healthcheck: {
      test: ['CMD', ...healthCommand(options.nodePath ?? DEFAULT_NODE_PATH)],
      interval: seconds(HEALTHCHECK_TIMING.interval),
      timeout: seconds(HEALTHCHECK_TIMING.timeout),
      start_period: seconds(HEALTHCHECK_TIMING.startPeriod),
      retries: HEALTHCHECK_TIMING.retries,
    },
    stop_signal: IMAGE_STOP_SIGNAL,
    stop_grace_period: STOP_GRACE_PERIOD,
    deploy: {
      resources: {
        limits: { cpus: options.cpus ?? DEFAULT_CPUS, memory: options.memory ?? DEFAULT_MEMORY },
      },
    },
  };
  const doc = new Document({ services: { [options.service]: service } });
  visit(doc, {
    // Quote what a YAML 1.1 reader (PyYAML, docker-compose v1) could take for a number: "65532:65532".
    Scalar(_key, node: Scalar) {
      if (typeof node.value === 'string' && (node.value.includes(':') || /^[\d.]+$/.test(node.value)))
        node.type = Scalar.QUOTE_DOUBLE;
    },
    Seq(_key, node) {
      if (node.items.every((item) => isScalar(item))) node.flow = true;
    },
  });
  return {
    yaml: header(options, mounts) + doc.toString({ lineWidth: 0, flowCollectionPadding: false }),
    mounts,
  };
}
