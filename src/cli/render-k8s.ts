/**
 * `berth render k8s`: berth.yaml as Kubernetes objects, written as a kustomize base
 * (docs/kubernetes.md). The image comes from --image, --image-from (what `berth build --push
 * --json` printed) or the spec's kubernetes.image; the models from the command line or the spec's
 * repository (their names, and whether one needs a GPU).
 */
import { readdir, readFile, stat, unlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Command } from 'commander';
import type { Rendered, RenderInput } from '../kubernetes/index.js';
import type { LoadedSpec } from '../spec/index.js';
import { BerthError } from '../ground/index.js';
import { parseImageReference } from '../packaging/image-reference.js';
import { helpSection } from './help-text.js';
import { VERSION } from './version.js';

interface K8sFlags extends RenderFlags {
  output: string;
  force?: boolean;
  json?: boolean;
}

/** The first line of every file the command writes (kustomize.ts makes it a comment). */
const HEADER_START = '# Written by `berth render k8s`';

function invalid(option: string, message: string): BerthError {
  return new BerthError('BERTH_ERR_CLI_INVALID_OPTION', `${option}: ${message}`);
}

/** `name@digest` from `berth build --json` output: the reference it pushed, pinned by its digest. */
async function imageFromBuild(path: string): Promise<string> {
  let build: { reference?: unknown; digest?: unknown; output?: unknown };
  try {
    build = JSON.parse(await readFile(path, 'utf8')) as typeof build;
  } catch (error) {
    throw invalid(
      '--image-from',
      `${path}: expected the JSON berth build --json prints (${(error as Error).message})`,
    );
  }
  const { reference, digest, output } = build;
  if (typeof reference !== 'string' || typeof digest !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(digest))
    throw invalid(
      '--image-from',
      `${path}: expected "reference" and a sha256 "digest", as berth build --json prints`,
    );
  if (typeof output === 'string' && /^(?:oci|oci-archive|docker-archive):/.test(output))
    throw invalid(
      '--image-from',
      `${path}: that image was written to ${output}, which no cluster can pull; build with --push REGISTRY/NAME`,
    );
  const { registry, repository } = parseImageReference(reference);
  return `${registry}/${repository}@${digest}`;
}

async function modelsOf(paths: readonly string[]): Promise<{ name: string; execution: 'cpu' | 'cuda' }[]> {
  const { modelFromFile, scanRepository } = await import('../repository/index.js');
  const found: { name: string; execution: 'cpu' | 'cuda' }[] = [];
  for (const path of paths) {
    const isDir = await stat(path).then(
      (s) => s.isDirectory(),
      () => false,
    );
    const descriptors = isDir ? await scanRepository(path) : [await modelFromFile(path)];
    for (const d of descriptors) {
      if (d.error !== undefined) throw d.error;
      found.push({ name: d.name, execution: d.config.execution });
    }
  }
  return found;
}

/**
 * Files an earlier render wrote that this one does not (an autoscaler turned off): removed, so
 * that the folder holds exactly the base. Only files that start with berth's header are touched.
 */
async function removeStale(dir: string, keep: readonly string[]): Promise<string[]> {
  const removed: string[] = [];
  for (const entry of await readdir(dir)) {
    if (!entry.endsWith('.yaml') || keep.includes(entry)) continue;
    const path = join(dir, entry);
    const head = await readFile(path, 'utf8').then(
      (text) => text.slice(0, 64),
      () => '',
    );
    if (!head.startsWith(HEADER_START)) continue;
    await unlink(path);
    removed.push(path);
  }
  return removed;
}

/** What --image, --image-from, --name and --namespace say, beside the spec. */
export interface RenderFlags {
  file?: string;
  image?: string;
  imageFrom?: string;
  name?: string;
  namespace?: string;
  /** Look the image's tag up in its registry and render its digest. */
  pin?: boolean;
  insecureRegistry?: string[];
}

export interface RenderedSpec {
  readonly loaded: LoadedSpec | undefined;
  readonly name: string;
  readonly image: string;
  /** The namespace the objects name, when the spec or --namespace gives one. */
  readonly namespace: string | undefined;
  /** Whether the pods ask for a GPU. */
  readonly gpu: boolean;
  readonly rendered: Rendered;
  /** What was rendered from: `berth deploy` renders a canary's candidate from it. */
  readonly input: RenderInput;
}

/**
 * The spec (-f or berth.yaml here), the image, the name and the models, rendered: what `berth
 * render k8s` writes and `berth deploy` applies.
 */
export async function renderFromSpec(models: readonly string[], flags: RenderFlags): Promise<RenderedSpec> {
  const { loadSpec, parseSpec, isDnsLabel, kubernetesSection } = await import('../spec/index.js');
  const loaded = await loadSpec(flags.file);
  const spec = loaded?.spec ?? parseSpec('{}', 'berth.yaml');
  const paths = models.length > 0 ? models : loaded?.repository === undefined ? [] : [loaded.repository];
  if (flags.image !== undefined && flags.imageFrom !== undefined)
    throw invalid('--image-from', 'give --image or --image-from, not both');
  const given =
    flags.image ??
    (flags.imageFrom === undefined ? undefined : await imageFromBuild(flags.imageFrom)) ??
    spec.kubernetes?.image;
  if (given === undefined)
    throw invalid(
      '--image',
      'which image do the pods run? Give --image REGISTRY/NAME@sha256:..., --image-from build.json (berth build --push ... --json), or kubernetes.image in berth.yaml',
    );
  try {
    parseImageReference(given);
  } catch (error) {
    throw invalid('--image', (error as Error).message);
  }
  const { pinImage } = await import('../packaging/index.js');
  const image =
    flags.pin === true ? await pinImage(given, { insecureRegistries: flags.insecureRegistry ?? [] }) : given;
  const name = flags.name ?? spec.name ?? parseImageReference(image).repository.split('/').pop() ?? 'berth';
  if (!isDnsLabel(name))
    throw invalid(
      '--name',
      `expected a DNS label (lower-case letters, digits and -), got "${name}"; set name in berth.yaml or --name`,
    );
  if (flags.namespace !== undefined && !isDnsLabel(flags.namespace))
    throw invalid('--namespace', `expected a DNS label, got "${flags.namespace}"`);
  const kubernetes = { ...(spec.kubernetes ?? kubernetesSection.parse({})) };
  if (flags.namespace !== undefined) kubernetes.namespace = flags.namespace;
  const { render } = await import('../kubernetes/index.js');
  const input: RenderInput = {
    name,
    image,
    spec: { ...spec, kubernetes },
    models: await modelsOf(paths),
    berthVersion: VERSION,
  };
  const rendered = render(input);
  return { loaded, name, image, namespace: kubernetes.namespace, gpu: rendered.gpus > 0, rendered, input };
}

/**
 * The arguments and options every command that renders the spec takes: the models, the spec, the
 * image (or the build that pushed it) and the name.
 */
export function withRenderOptions(command: Command): Command {
  return command
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    .argument(
      '[models...]',
      ".onnx files and/or repository folders in the image (default: the spec's repository)",
    )
    .option('-f, --file <berth.yaml>', 'the spec (default: berth.yaml here, if there is one)')
    .option('--image <ref>', 'the image to run, by digest: registry.example/fraud@sha256:...')
    .option('--image-from <build.json>', 'take the image from what `berth build --push ... --json` printed')
    .option('--name <name>', "the deployment's name, a DNS label (default: the spec's name)")
    .option('--pin', "look the image's tag up in its registry and run the digest it names now")
    .option(
      '--insecure-registry <host>',
      'with --pin: talk plain HTTP to this registry (repeatable)',
      (v: string, a: string[]) => [...a, v],
      [],
    );
}

export function k8sCommand(): Command {
  return withRenderOptions(new Command('k8s'))
    .summary('write Kubernetes manifests (a kustomize base) from berth.yaml')
    .description(
      [
        'Write DIR/kustomization.yaml and one file per object: ServiceAccount (no API token), ConfigMap',
        "(the pods' berth.yaml), Deployment (the image by digest, surge 1 and none unavailable, probes on the",
        'OIP health endpoints, preStop and a grace period longer than the drain, every container hardened),',
        'Service (named REST and gRPC ports), PodDisruptionBudget, an autoscaler (HPA or KEDA), a',
        'NetworkPolicy, and, as the kubernetes section asks, a models claim, an ExternalSecret, Gateway API',
        'routes, Istio traffic rules and a ServiceMonitor. Apply with `kubectl apply -k DIR`. Secrets are',
        'never written: the pods mount a Secret (or Vault files) by name, and the output says which keys it holds.',
      ].join(' '),
    )
    .option('-o, --output <dir>', 'folder to write into (created if missing)', 'k8s')
    .option('--namespace <ns>', 'put every object in this namespace (default: kubernetes.namespace)')
    .option('--force', 'replace files that exist')
    .option('--json', 'print what was written as JSON, for scripts')
    .addHelpText(
      'after',
      helpSection({
        examples: [
          'berth build ./models --push registry.example/fraud --json > build.json',
          'berth render k8s --image-from build.json && kubectl apply -k k8s',
          'berth render k8s -f berth.yaml --image registry.example/fraud@sha256:... --namespace ml -o deploy/base',
          'berth render k8s --image registry.example/fraud:1.0 --pin  # the digest the tag names now',
          'kubectl kustomize k8s | kubeconform -strict -  # any validator reads the output',
        ],
      }),
    )
    .action(async (models: string[], flags: K8sFlags) => {
      const { loaded, name, image, namespace, rendered } = await renderFromSpec(models, flags);
      const { kustomizeFiles } = await import('../kubernetes/index.js');
      const header = [
        `${HEADER_START.slice(2)} ${VERSION}${loaded === undefined ? '' : ` from ${basename(loaded.path)}`}.`,
        'Apply with: kubectl apply -k <this folder>. Edit berth.yaml and render again rather than this file.',
      ].join('\n');
      const files = kustomizeFiles(rendered.objects, header, rendered.extraFiles);
      const { writeOutputFiles, reportWritten } = await import('./render-output.js');
      const written = await writeOutputFiles(flags, files);
      const removed = await removeStale(flags.output, Object.keys(files));
      const secret = rendered.secret;
      const next = [
        ...(secret === undefined
          ? []
          : [
              `create the Secret first: kubectl create secret generic ${secret.name}${namespace === undefined ? '' : ` -n ${namespace}`} \\`,
              ...Object.keys(secret.keys).map(
                (key, i, all) => `    --from-file=${key}=<file>${i === all.length - 1 ? '' : ' \\'}`,
              ),
            ]),
        `apply: kubectl apply -k ${flags.output}`,
      ];
      reportWritten(
        flags,
        [...written, ...removed.map((path) => `${path} (removed: no longer rendered)`)],
        rendered.warnings,
        next,
        {
          name,
          image,
          objects: rendered.objects.map((o) => ({ kind: o.kind, name: o.metadata?.name })),
          ...(secret === undefined ? {} : { secret }),
        },
      );
    });
}
