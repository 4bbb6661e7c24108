/** `berth build`: an OCI image of a model service, written without a container daemon. */
import { Command } from 'commander';
import { BerthError } from '../protocol/index.js';
import type { BuildProgress, ImageTarget } from '../packaging/index.js';
import { VERSION } from './version.js';

interface BuildFlags {
  base: string;
  output: string;
  tag?: string;
  platform?: string;
  node?: string;
  revision?: string;
  source?: string;
  json?: boolean;
}

const ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64' };

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

function parseBase(value: string): { kind: 'oci'; path: string; ref?: string } {
  const target = value.startsWith('oci:') ? parseTarget('--base', value) : undefined;
  if (target?.kind === 'oci') return target;
  throw invalid(
    '--base',
    `"${value}": berth builds on a base image in an OCI layout folder (oci:DIR[:REF]); pulling a base from a registry is not implemented yet (copy it first: skopeo copy docker://REF oci:DIR:TAG)`,
  );
}

function parsePlatform(value: string | undefined): { os: string; architecture: string } {
  if (value === undefined) {
    const architecture = ARCH[process.arch];
    if (architecture === undefined)
      throw invalid('--platform', `no default for this machine (${process.arch}); pass one`);
    return { os: 'linux', architecture };
  }
  const match = /^linux\/(amd64|arm64)$/.exec(value);
  if (match === null) throw invalid('--platform', `expected linux/amd64 or linux/arm64, got "${value}"`);
  return { os: 'linux', architecture: match[1] as string };
}

function created(): Date {
  const epoch = process.env.SOURCE_DATE_EPOCH;
  if (epoch === undefined || epoch === '') return new Date(0);
  if (!/^\d{1,12}$/.test(epoch))
    throw invalid('SOURCE_DATE_EPOCH', `expected seconds since 1970, got "${epoch}"`);
  return new Date(Number(epoch) * 1000);
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
        'none for the built-in example) with berth, on a base image that has Node.js. Layers: the',
        "base's, one with berth, one per model. The image runs as user 65532, exposes 8000 (REST) and",
        '8001 (gRPC), stops on SIGTERM and has a health check. The same inputs and SOURCE_DATE_EPOCH',
        'give the same image digest.',
      ].join('\n'),
    )
    .argument('[models...]', '.onnx files and/or model repository folders')
    .requiredOption('--base <ref>', 'base image with Node.js: oci:DIR[:REF] (an OCI image layout)')
    .requiredOption(
      '-o, --output <target>',
      'where the image goes: oci:DIR[:REF], oci-archive:FILE or docker-archive:FILE',
    )
    .option('-t, --tag <name:tag>', 'image name and tag (default: berth-<first model>:<berth version>)')
    .option('--platform <os/arch>', 'linux/amd64 or linux/arm64 (default: this machine)')
    .option(
      '--node <path>',
      "node's path in the base image (default: the base's entrypoint, else /nodejs/bin/node)",
    )
    .option('--revision <rev>', 'org.opencontainers.image.revision label (e.g. a git commit)')
    .option('--source <url>', 'org.opencontainers.image.source label')
    .option('--json', 'print a JSON summary (digest, layers) for scripts')
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  berth build ./models --base oci:./base:nodejs20 --output docker-archive:fraud.tar -t localhost/fraud:1.0',
        '  podman load -i fraud.tar && podman run -p 8000:8000 localhost/fraud:1.0',
        '  SOURCE_DATE_EPOCH=$(git log -1 --format=%ct) berth build model.onnx --base oci:./base --output oci:./out --json',
      ].join('\n'),
    )
    .action(async (models: string[], flags: BuildFlags) => {
      const output = parseTarget('--output', flags.output);
      const base = parseBase(flags.base);
      const tag =
        flags.tag ??
        `berth-${
          (models[0] ?? 'iris')
            .split('/')
            .filter(Boolean)
            .pop()
            ?.replace(/\.onnx$/, '') ?? 'model'
        }:${VERSION}`;
      const colon = tag.lastIndexOf(':');
      if (colon <= 0 || colon === tag.length - 1 || tag.slice(colon).includes('/')) {
        throw invalid('--tag', `expected NAME:TAG, got "${tag}"`);
      }
      const started = performance.now();
      const onProgress = (event: BuildProgress) => {
        if (flags.json === true) return;
        if (event.step === 'base') process.stderr.write(`base: ${event.layers} layers\n`);
        if (event.step === 'layer') {
          process.stderr.write(
            `layer ${event.name}: ${formatSize(event.size)} ${event.digest.slice(0, 19)} (${event.ms} ms)\n`,
          );
        }
      };
      // Imported here so that `berth serve` does not load the image writer.
      const { buildImage } = await import('../packaging/index.js');
      const result = await buildImage({
        models,
        base,
        output,
        name: tag.slice(0, colon).toLowerCase(),
        tag: tag.slice(colon + 1),
        platform: parsePlatform(flags.platform),
        created: created(),
        version: VERSION,
        ...(flags.revision === undefined ? {} : { revision: flags.revision }),
        ...(flags.source === undefined ? {} : { source: flags.source }),
        ...(flags.node === undefined ? {} : { nodePath: flags.node }),
        onProgress,
      });
      const ms = Math.round(performance.now() - started);
      if (flags.json === true) {
        process.stdout.write(JSON.stringify({ ...result, output: flags.output, ms }, null, 2) + '\n');
      } else {
        process.stdout.write(
          `${result.reference} ${result.digest}\n  ${result.layers.length} layers; berth added ${formatSize(result.addedSize)} compressed; ${ms} ms -> ${flags.output}\n`,
        );
      }
    });
}
