/** `berth build`: an OCI image of a model service, written without a container daemon. */
import { Command } from 'commander';
import { BerthError } from '../ground/index.js';
import type { BaseSpec, BuildProgress, ImageTarget } from '../packaging/index.js';
import { DEFAULT_BASE_IMAGE } from '../packaging/image-contract.js';
import { parseImageReference } from '../packaging/image-reference.js';
import { helpSection } from './help-text.js';
import { defaultImageTag, parsePlatforms, sourceDateEpoch, splitImageTag } from './image-options.js';
import { VERSION } from './version.js';

interface BuildFlags {
  file?: string;
  base?: string;
  output?: string;
  push?: string;
  tag?: string;
  platform?: string;
  node?: string;
  revision?: string;
  source?: string;
  insecureRegistry: string[];
  cache: boolean;
  sbom?: string;
  json?: boolean;
}

function invalid(option: string, message: string): BerthError {
  return new BerthError('BERTH_ERR_CLI_INVALID_OPTION', `${option}: ${message}`);
}

/** `oci:DIR[:REF]`, `oci-archive:FILE`, `docker-archive:FILE`. */
export function parseTarget(option: string, value: string): ImageTarget {
  const at = value.indexOf(':');
  const kind = at < 0 ? '' : value.slice(0, at);
  const rest = at < 0 ? '' : value.slice(at + 1);
  if (rest === '')
    throw invalid(option, `expected oci:DIR[:REF], oci-archive:FILE or docker-archive:FILE, got "${value}"`);
  if (kind === 'oci') {
    const colon = rest.lastIndexOf(':');
    return colon > 0
      ? { kind, path: rest.slice(0, colon), ref: rest.slice(colon + 1) }
      : { kind, path: rest };
  }
  if (kind === 'oci-archive' || kind === 'docker-archive') return { kind, path: rest };
  throw invalid(option, `unknown transport "${kind}"; use oci:, oci-archive: or docker-archive:`);
}

/** A local transport, or a registry reference (`docker://REF` or plain `REGISTRY/REPO:TAG`). */
export function parseBase(value: string): BaseSpec {
  if (/^(oci|oci-archive|docker-archive):/.test(value)) {
    const target = parseTarget('--base', value);
    if (target.kind !== 'registry') return target;
  }
  return { kind: 'registry', reference: parseImageReference(value) };
}

function formatSize(bytes: number): string {
  return bytes >= 1 << 20 ? `${(bytes / (1 << 20)).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`;
}

export function buildCommand(): Command {
  return new Command('build')
    .summary('build an OCI image of a model service, without a container daemon')
    .description(
      [
        'Build a container image that serves the given models (a .onnx file, a repository folder, or',
        'none for the built-in example) with berth, on a base image that has Node.js (default: distroless',
        "Node.js 20). Layers: the base's, one with berth, one per model, each with its part of the",
        'CycloneDX SBOM. The image runs as user 65532, exposes 8000 (REST) and 8001 (gRPC), stops on',
        'SIGTERM and has a health check. The same inputs and SOURCE_DATE_EPOCH give the same digest.',
        'Pushing sends only the blobs the registry lacks and attaches the SBOM as an OCI referrer.',
      ].join(' '),
    )
    .argument('[models...]', '.onnx files and/or model repository folders')
    .option('-f, --file <berth.yaml>', 'the spec file (default: ./berth.yaml when it exists)')
    .option(
      '--base <ref>',
      `base image with Node.js: a registry reference, oci:DIR[:REF], oci-archive:FILE or docker-archive:FILE (default: berth.yaml image.base, else ${DEFAULT_BASE_IMAGE})`,
    )
    .option(
      '-o, --output <target>',
      'write the image to oci:DIR[:REF], oci-archive:FILE or docker-archive:FILE',
    )
    .option('--push <ref>', 'push the image to a registry: [REGISTRY/]REPOSITORY[:TAG]')
    .option(
      '-t, --tag <name:tag>',
      'image name and tag (default: berth.yaml image.name/tag, else berth-<first model>:<berth version>); with --push, the pushed name, and the tag when --push has none',
    )
    .option(
      '--platform <os/arch,...>',
      'linux/amd64, linux/arm64, or both comma-separated for an image index (default: this machine)',
    )
    .option(
      '--node <path>',
      "node's path in the base image (default: found in the base's layers: its entrypoint, then its PATH)",
    )
    .option('--revision <rev>', 'org.opencontainers.image.revision label (e.g. a git commit)')
    .option('--source <url>', 'org.opencontainers.image.source label')
    .option(
      '--insecure-registry <host>',
      'speak plain HTTP to this registry (host[:port]); repeatable',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option('--no-cache', 'compress every layer again (the cache is $BERTH_CACHE_DIR or ~/.cache/berth)')
    .option('--sbom <file>', "also write the image's CycloneDX SBOM to this file")
    .option('--json', 'print a JSON summary (digest, layers, platforms) for scripts')
    .addHelpText(
      'after',
      helpSection({
        notes: [
          'Credentials for registries come from BERTH_REGISTRY_USERNAME/BERTH_REGISTRY_PASSWORD (for BERTH_REGISTRY_HOST, else the --push registry), else from ~/.docker/config.json ($DOCKER_CONFIG) or $REGISTRY_AUTH_FILE, including credential helpers.',
          'Without access to a registry, give the base as a file: save it once where a registry is reachable (skopeo copy docker://gcr.io/distroless/nodejs24-debian12:nonroot oci-archive:node24.tar) and build with --base oci-archive:node24.tar (docs/images.md).',
        ],
        examples: [
          'berth build ./models --push ghcr.io/acme/fraud:1.0 --platform linux/amd64,linux/arm64',
          'berth build ./models --base oci-archive:node24.tar --output docker-archive:fraud.tar -t localhost/fraud:1.0',
          'podman load -i fraud.tar && podman run -p 8000:8000 localhost/fraud:1.0',
          'SOURCE_DATE_EPOCH=$(git log -1 --format=%ct) berth build model.onnx --output oci:./out --json',
        ],
      }),
    )
    .action(async (models: string[], flags: BuildFlags) => {
      if ((flags.output === undefined) === (flags.push === undefined)) {
        throw invalid('--output', 'give exactly one of --output TARGET and --push REF');
      }
      const { loadSpec } = await import('../spec/index.js'); // zod and yaml, for this command only
      const loaded = await loadSpec(flags.file);
      const image = loaded?.spec.image;
      if (models.length === 0 && loaded?.repository !== undefined) models = [loaded.repository];
      let pushRef = flags.push === undefined ? undefined : parseImageReference(flags.push);
      if (pushRef?.digest !== undefined)
        throw invalid('--push', 'push to a tag (REPOSITORY:TAG), not a digest');
      // `--push REPO -t NAME:TAG` pushes TAG; a tag in the --push reference itself wins.
      const pushTagged = /:[^/]*$/.test((flags.push ?? '').replace(/^docker:\/\//, ''));
      if (pushRef !== undefined && !pushTagged && flags.tag !== undefined) {
        pushRef = { ...pushRef, tag: splitImageTag(flags.tag).tag };
      }
      const output: ImageTarget =
        pushRef === undefined
          ? parseTarget('--output', flags.output ?? '')
          : { kind: 'registry', reference: pushRef };
      const base = parseBase(flags.base ?? image?.base ?? DEFAULT_BASE_IMAGE);
      const platforms = parsePlatforms(flags.platform ?? image?.platforms?.join(','));
      if (output.kind === 'docker-archive' && platforms.length > 1) {
        throw invalid(
          '--output',
          'docker-archive: holds one platform; use oci-archive: or oci: for several, or one --platform',
        );
      }
      const specTag =
        image?.name !== undefined
          ? `${image.name}:${image.tag ?? VERSION}`
          : loaded?.spec.name !== undefined
            ? `${loaded.spec.name}:${image?.tag ?? VERSION}`
            : undefined;
      const defaultTag =
        pushRef === undefined
          ? (specTag ?? defaultImageTag(models))
          : `${pushRef.registry}/${pushRef.repository}:${pushRef.tag ?? 'latest'}`;
      // A pushed image is named by where it goes; -t only lends its tag to an untagged --push.
      const { name, tag } = splitImageTag(pushRef === undefined ? (flags.tag ?? defaultTag) : defaultTag);
      const started = performance.now();
      const log = (line: string) => {
        if (flags.json !== true) process.stderr.write(`${line}\n`);
      };
      const onProgress = (event: BuildProgress) => {
        if (event.step === 'base') log(`base ${event.platform}: ${event.name} (${event.layers} layers)`);
        else if (event.step === 'layer') {
          log(
            `layer ${event.name} ${event.platform}: ${formatSize(event.size)} ${event.digest.slice(0, 19)} (${event.cached ? 'cached' : `${event.ms} ms`})`,
          );
        } else if (event.step === 'upload') {
          log(
            `  uploading ${event.digest.slice(0, 19)}: ${formatSize(event.sent)} of ${formatSize(event.size)}`,
          );
        } else if (event.step === 'blob') {
          log(
            `push ${event.digest.slice(0, 19)} ${formatSize(event.size)}: ${event.result} (${event.ms} ms)`,
          );
        } else if (event.step === 'manifest') {
          log(`push manifest ${event.reference.slice(0, 19)}: ${event.digest.slice(0, 19)}`);
        }
      };
      // Ctrl-C or a kill ends the build as the signal would, after the exit hook has removed the
      // scratch folder and any half-written output (src/packaging/exit-cleanup.ts).
      for (const [signal, status] of [
        ['SIGINT', 130],
        ['SIGTERM', 143],
        ['SIGHUP', 129],
      ] as const) {
        process.once(signal, () => {
          process.stderr.write(`berth: build stopped by ${signal}; no image was written\n`);
          process.exit(status);
        });
      }
      // Imported here so that `berth serve` does not load the image writer.
      const { buildImage } = await import('../packaging/index.js');
      const result = await buildImage({
        models,
        base,
        output,
        name,
        tag,
        platforms,
        created: sourceDateEpoch(),
        version: VERSION,
        insecureRegistries: flags.insecureRegistry,
        ...(flags.cache ? {} : { cacheDir: false as const }),
        ...(flags.sbom === undefined ? {} : { sbomFile: flags.sbom }),
        ...(flags.revision === undefined ? {} : { revision: flags.revision }),
        ...(flags.source === undefined ? {} : { source: flags.source }),
        ...(flags.node === undefined ? {} : { nodePath: flags.node }),
        onProgress,
      });
      const ms = Math.round(performance.now() - started);
      const where = flags.push ?? flags.output ?? '';
      if (flags.json === true) {
        process.stdout.write(JSON.stringify({ ...result, output: where, ms }, null, 2) + '\n');
      } else {
        const referrer =
          result.sbom.referrer === undefined
            ? ''
            : `\n  SBOM ${result.sbom.referrer.digest.slice(0, 19)} attached (${result.sbom.referrer.via === 'api' ? 'referrers API' : 'fallback tag'})`;
        process.stdout.write(
          `${result.reference} ${result.digest}\n  ${result.images.length} platform(s), ${result.layers.length} layers; berth added ${formatSize(result.addedSize)} compressed; ${ms} ms -> ${where}${referrer}\n`,
        );
      }
    });
}
