/**
 * `berth render dockerfile`: a multi-stage Dockerfile (and its .dockerignore) that builds, with
 * docker/buildx or podman, the image `berth build` writes itself. Every value of the image config
 * comes from image-contract.ts, and the layers match: the base's, one with berth, one per model
 * under /models laid out as model-files.ts lays them out.
 *
 * The build stage installs berth from npm and then runs `berth render runtime`, which copies
 * exactly the files `berth build` puts in its berth layer (runtime-files.ts: pruned dependencies,
 * onnxruntime binaries of the target platform only), so the two ways prune alike by construction.
 * Dockerfile syntax follows https://docs.docker.com/reference/dockerfile/ (frontend 1.x); the
 * .dockerignore follows https://docs.docker.com/build/concepts/context/#dockerignore-files.
 */
import { chmod, copyFile, lstat, mkdir, readdir, realpath, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { BerthError } from '../ground/index.js';
import {
  APP_DIR,
  DEFAULT_BASE_IMAGE,
  DEFAULT_NODE_PATH,
  HEALTHCHECK_TIMING,
  healthCommand,
  IMAGE_BERTH_BIN,
  IMAGE_ENV,
  IMAGE_GRPC_PORT,
  IMAGE_HTTP_PORT,
  IMAGE_MODELS_DIR,
  IMAGE_STOP_SIGNAL,
  IMAGE_USER,
  IMAGE_WORKDIR,
  imageLabels,
  NPM_PACKAGE,
  serveArguments,
} from './image-contract.js';
import { collectModels } from './model-files.js';
import type { Platform } from './oci-layout.js';
import { PACKAGE_ROOT, runtimeEntries } from './runtime-files.js';

/** The build stage's image: Node.js with npm (9 or later), running as root. */
export const DEFAULT_NODE_IMAGE = 'node:24-bookworm-slim';
/** Where the build stage installs berth and where it lays out /app for the final stage. */
const BUILD_DIR = '/build';
const STAGED_APP = `/out/${APP_DIR}`;

export interface DockerfileOptions {
  /** .onnx files and repository folders, as `berth build` takes them; none: the built-in example. */
  readonly models: readonly string[];
  /** The build context: the folder the Dockerfile is built from. Every model must be inside it. */
  readonly context: string;
  /** Image name and tag, for the title and version labels (as `berth build -t NAME:TAG`). */
  readonly name: string;
  readonly tag: string;
  /** org.opencontainers.image.created (SOURCE_DATE_EPOCH, as `berth build` uses). */
  readonly created: Date;
  readonly berthVersion: string;
  readonly revision?: string;
  readonly source?: string;
  /** node in the base image (default /nodejs/bin/node, distroless's). */
  readonly nodePath?: string;
  /** Defaults of the NODE_IMAGE, BASE_IMAGE and BERTH_PACKAGE build arguments. */
  readonly nodeImage?: string;
  readonly baseImage?: string;
  /** What npm installs: `berth-ml@VERSION` (default), a tarball URL, a git URL... */
  readonly berthPackage?: string;
  /** `COPY --link` (BuildKit; buildah only from 1.41, so podman before 5.6 refuses it). Default true. */
  readonly link?: boolean;
}

/** One model's COPY instruction and its labels. */
export interface DockerfileModel {
  readonly name: string;
  readonly version: number;
  readonly sha256: string;
  /** Path in the build context, with `/` separators. */
  readonly source: string;
  /** Absolute path in the image: `/models/NAME` for a folder, `/models/NAME/1/model.onnx` for a file. */
  readonly target: string;
}

export interface RenderedDockerfile {
  readonly dockerfile: string;
  readonly dockerignore: string;
  readonly models: readonly DockerfileModel[];
  /** Things that build but would not serve as `berth build`'s image does (unreadable files...). */
  readonly warnings: readonly string[];
}

/** Characters that need no escaping anywhere a path appears: COPY, JSON, .dockerignore patterns. */
const SAFE_PATH = /^[A-Za-z0-9 ._@+,=~%/-]+$/;

function invalidModel(message: string): BerthError {
  return new BerthError('BERTH_ERR_CLI_INVALID_OPTION', `models: ${message}`);
}

function isInside(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

/** The path of `real` in the context, checked to be inside it and free of special characters. */
function contextPath(context: string, real: string, given: string): string {
  if (!isInside(context, real)) {
    throw invalidModel(
      `"${given}" is outside the build context ${context}: a Dockerfile can only COPY files from its context; render into a folder that contains the models (e.g. -o . from the project root)`,
    );
  }
  const rel = relative(context, real).split(sep).join('/');
  if (!SAFE_PATH.test(rel) || rel.split('/').some((part) => part.startsWith('!') || part.startsWith('#'))) {
    throw invalidModel(
      `"${rel}" has characters a Dockerfile or .dockerignore would interpret; use letters, digits, spaces and ._@+,=~%- in its path`,
    );
  }
  return rel;
}

/** What `berth build` would not do alike: files 65532 cannot read, links COPY keeps as links. */
async function scanForWarnings(path: string, shown: string, warnings: string[]): Promise<void> {
  const info = await lstat(path);
  if (info.isSymbolicLink()) {
    warnings.push(
      `${shown} is a symbolic link: COPY keeps it as a link (berth build copies what it points to); replace it with the file`,
    );
  } else if (info.isDirectory()) {
    if ((info.mode & 0o005) !== 0o005)
      warnings.push(`${shown} is not readable by other users: the image's user 65532 could not list it`);
    for (const entry of (await readdir(path)).sort()) {
      if (!entry.startsWith('.')) await scanForWarnings(join(path, entry), `${shown}/${entry}`, warnings);
    }
  } else if ((info.mode & 0o004) === 0) {
    warnings.push(
      `${shown} is not readable by other users: the image's user 65532 could not read it (chmod a+r)`,
    );
  }
}

/** A model as given: a folder of a repository, or an .onnx file (version 1). */
export interface ModelSource {
  readonly name: string;
  readonly path: string;
  readonly file: boolean;
}

/** The models `berth build` would find in these paths, by name, the way model-files.ts walks them. */
export async function modelSources(paths: readonly string[]): Promise<ModelSource[]> {
  const sources: ModelSource[] = [];
  for (const path of paths) {
    if ((await stat(path)).isDirectory()) {
      for (const entry of await readdir(path, { withFileTypes: true })) {
        if (entry.name.startsWith('.') || !(entry.isDirectory() || entry.isSymbolicLink())) continue;
        sources.push({ name: entry.name, path: join(path, entry.name), file: false });
      }
    } else {
      sources.push({ name: basename(path, extname(path)), path, file: true });
    }
  }
  return sources.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The Dockerfile's models: one COPY per model (as `berth build` makes one layer per model), each
 * checked to be inside the build context.
 */
async function planModels(
  paths: readonly string[],
  context: string,
): Promise<{ models: DockerfileModel[]; warnings: string[] }> {
  // Names, versions, checksums and every check `berth build` makes, done the same way.
  const collected = new Map((await collectModels(paths)).map((m) => [m.name, m]));
  // A context that does not exist yet holds no model: every model is then reported outside it.
  const realContext = await realpath(context).catch(() => context);
  const models: DockerfileModel[] = [];
  const warnings: string[] = [];
  for (const { name, path, file } of await modelSources(paths)) {
    const model = collected.get(name);
    if (model === undefined) continue;
    const real = await realpath(path);
    const source = contextPath(realContext, real, path);
    await scanForWarnings(real, source, warnings);
    models.push({
      name,
      version: model.version,
      sha256: model.sha256,
      source,
      target: file ? `${IMAGE_MODELS_DIR}/${name}/1/model.onnx` : `${IMAGE_MODELS_DIR}/${name}`,
    });
  }
  return { models, warnings };
}

/** A double-quoted Dockerfile word: escapes `\`, `"` and `$` (LABEL and ENV expand variables). */
function quoted(value: string): string {
  if (
    Array.from({ length: value.length }, (_, i) => value.charCodeAt(i)).some((c) => c < 0x20 || c === 0x7f)
  ) {
    throw new BerthError(
      'BERTH_ERR_CLI_INVALID_OPTION',
      `${JSON.stringify(value)}: control characters cannot go in a Dockerfile`,
    );
  }
  return `"${value.replace(/[\\"$]/g, '\\$&')}"`;
}

/** Exec form: a JSON array, as Docker parses it. */
function execForm(words: readonly string[]): string {
  return `[${words.map((w) => JSON.stringify(w)).join(', ')}]`;
}

function copyInstruction(flags: string, source: string, target: string): string {
  return source.includes(' ') || target.includes(' ')
    ? `COPY ${flags} ${execForm([source, target])}`
    : `COPY ${flags} ${source} ${target}`;
}

/** `KEY=VALUE` pairs, one per continuation line. */
function pairs(instruction: string, values: Readonly<Record<string, string>>): string {
  const lines = Object.entries(values).map(([k, v]) => `${k}=${quoted(v)}`);
  return `${instruction} ${lines.join(' \\\n    ')}`;
}

/**
 * The Dockerfile and .dockerignore for planned models; pure, so the same inputs give the same
 * bytes.
 */
export function dockerfileText(
  options: Omit<DockerfileOptions, 'models' | 'context'>,
  models: readonly DockerfileModel[],
): { dockerfile: string; dockerignore: string } {
  const node = options.nodePath ?? DEFAULT_NODE_PATH;
  const link = options.link ?? true;
  const copyFlags = `${link ? '--link ' : ''}--chown=0:0`;
  const labels = imageLabels({
    name: options.name,
    tag: options.tag,
    created: options.created,
    berthVersion: options.berthVersion,
    models,
    ...(options.revision === undefined ? {} : { revision: options.revision }),
    ...(options.source === undefined ? {} : { source: options.source }),
  });
  const seconds = (s: number) => `${s}s`;
  const modelList =
    models.length === 0
      ? 'none (the image serves the built-in example model)'
      : models.map((m) => `${m.name} (version ${m.version})`).join(', ');
  const lines = [
    '# syntax=docker/dockerfile:1',
    `# Written by \`berth render dockerfile\` ${options.berthVersion}; models: ${modelList}.`,
    '#',
    '# Builds the image `berth build` writes (same layers, user, ports, command, environment, stop',
    '# signal, health check and labels) with docker/buildx or podman. The build context is the folder',
    '# this file is in: the COPY sources below are relative to it, and .dockerignore lets in nothing',
    '# else. Run the build from there:',
    '#',
    `#   docker buildx build --platform linux/amd64,linux/arm64 -t ${options.name}:${options.tag} .`,
    `#   podman build --format docker -t ${options.name}:${options.tag} .${link ? '   (podman before 5.6: render with --no-link)' : ''}`,
    '#',
    '# (podman keeps a HEALTHCHECK only in the Docker image format, hence --format docker.)',
    '# Build arguments: NODE_IMAGE (build stage: Node.js with npm), BASE_IMAGE (the runtime: Node.js',
    `# with node at ${node}), BERTH_PACKAGE (what npm installs: an exact version, a tarball URL...)`,
    "# and NPM_REGISTRY (default: npm's). Pin both images by digest (IMAGE@sha256:...) for builds",
    '# that do not change under you. Registry credentials go in as a secret, never in a layer:',
    '#   docker buildx build --secret id=npmrc,src=$HOME/.npmrc ...',
    '',
    `ARG NODE_IMAGE=${options.nodeImage ?? DEFAULT_NODE_IMAGE}`,
    `ARG BASE_IMAGE=${options.baseImage ?? DEFAULT_BASE_IMAGE}`,
    '',
    '# Stage 1: berth and its production dependencies, pruned as `berth build` prunes them (no tests,',
    "# docs, type declarations or source maps; onnxruntime's binaries for the target platform only).",
    '# It runs on the build machine (nothing is compiled), so multi-platform builds need no emulation.',
    'FROM --platform=$BUILDPLATFORM ${NODE_IMAGE} AS berth',
    `ARG BERTH_PACKAGE=${options.berthPackage ?? `${NPM_PACKAGE}@${options.berthVersion}`}`,
    'ARG NPM_REGISTRY',
    'ARG TARGETARCH',
    "# No install script runs: onnxruntime-node's would download CUDA libraries. The variable keeps",
    '# that download off even where --ignore-scripts is dropped.',
    'ENV ONNXRUNTIME_NODE_INSTALL=skip',
    `WORKDIR ${BUILD_DIR}`,
    `# shallow: berth at node_modules/${NPM_PACKAGE} with all its dependencies in its own node_modules, the`,
    '# layout of /app in the image.',
    'RUN --mount=type=cache,target=/root/.npm \\',
    '    --mount=type=secret,id=npmrc,target=/root/.npmrc \\',
    '    npm install --omit=dev --ignore-scripts --install-strategy=shallow --no-audit --no-fund \\',
    '      ${NPM_REGISTRY:+--registry "$NPM_REGISTRY"} "$BERTH_PACKAGE"',
    "# TARGETARCH is set by buildx (and by podman build --platform); without it, the build machine's.",
    `RUN node node_modules/${NPM_PACKAGE}/bin/berth.js render runtime ${STAGED_APP} \${TARGETARCH:+--platform "linux/$TARGETARCH"}`,
    '',
    '# Stage 2: the image. Files belong to root and are read-only to the user berth runs as.',
    'FROM ${BASE_IMAGE}',
    `COPY --from=berth ${copyFlags} ${STAGED_APP} /${APP_DIR}`,
  ];
  if (models.length > 0) lines.push('# One layer per model: changing one model changes one layer.');
  for (const model of models) lines.push(copyInstruction(copyFlags, model.source, model.target));
  lines.push(
    `USER ${IMAGE_USER}`,
    pairs('ENV', IMAGE_ENV),
    `WORKDIR ${IMAGE_WORKDIR}`,
    `EXPOSE ${IMAGE_HTTP_PORT}/tcp ${IMAGE_GRPC_PORT}/tcp`,
    '# berth drains in-flight requests on SIGTERM, then exits 0.',
    `STOPSIGNAL ${IMAGE_STOP_SIGNAL}`,
    `HEALTHCHECK --interval=${seconds(HEALTHCHECK_TIMING.interval)} --timeout=${seconds(HEALTHCHECK_TIMING.timeout)} --start-period=${seconds(HEALTHCHECK_TIMING.startPeriod)} --retries=${HEALTHCHECK_TIMING.retries} \\`,
    `    CMD ${execForm(healthCommand(node))}`,
    pairs('LABEL', labels),
    `ENTRYPOINT ${execForm([node, IMAGE_BERTH_BIN])}`,
    `CMD ${execForm(serveArguments(models.length > 0))}`,
    '',
  );
  const dockerignore = [
    '# Written by `berth render dockerfile`: nothing goes into the build context but the models the',
    '# Dockerfile copies (no .git, no secrets, no node_modules).',
    '*',
    ...models.flatMap((m) =>
      m.target.endsWith('.onnx') ? [`!${m.source}`] : [`!${m.source}`, `${m.source}/**/.*`],
    ),
    '',
  ].join('\n');
  return { dockerfile: lines.join('\n'), dockerignore };
}

/**
 * The Dockerfile and .dockerignore that build `berth build`'s image for these models.
 *
 * @throws BerthError when a model is outside the context, or as `berth build` would refuse it.
 * @example
 * const { dockerfile, dockerignore } = await renderDockerfile({
 *   models: ['./models'], context: '.', name: 'berth-models', tag: '0.1.0', created: new Date(0), berthVersion: '0.1.0',
 * });
 */
export async function renderDockerfile(options: DockerfileOptions): Promise<RenderedDockerfile> {
  const { models, warnings } = await planModels(options.models, resolve(options.context));
  return { ...dockerfileText(options, models), models, warnings };
}

/**
 * Copies berth's runtime files (what `berth build` puts in its berth layer, under /app) into
 * `dir`, which must not exist yet: the Dockerfile's build stage runs this as
 * `berth render runtime`. Returns the number of files.
 *
 * @example
 * await writeRuntimeFiles('/out/app', { os: 'linux', architecture: 'arm64' });
 */
export async function writeRuntimeFiles(
  dir: string,
  platform: Platform,
  root: string = PACKAGE_ROOT,
): Promise<number> {
  if (
    await stat(dir).then(
      () => true,
      () => false,
    )
  ) {
    throw new BerthError('BERTH_ERR_CLI_INVALID_OPTION', `dir: ${dir} exists; give a folder that does not`);
  }
  let files = 0;
  for (const entry of await runtimeEntries(root, platform)) {
    // Only files: their folders are created here, 0755 as in the layer.
    if (entry.type !== 'file') continue;
    const target = join(dir, ...entry.path.split('/').slice(1));
    await mkdir(dirname(target), { recursive: true, mode: 0o755 });
    if (typeof entry.source === 'string') await copyFile(entry.source, target);
    else await writeFile(target, entry.source);
    await chmod(target, entry.mode);
    files++;
  }
  return files;
}
