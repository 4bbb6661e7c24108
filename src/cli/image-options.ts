/**
 * Option values the image commands (`berth build`, `berth render`) share: the image name and tag,
 * SOURCE_DATE_EPOCH, and platforms. Each error names the option and what it expects.
 */
import { BerthError, isBerthError } from '../ground/index.js';
import { parseImageReference } from '../packaging/image-reference.js';
import type { Platform } from '../packaging/index.js';
import { VERSION } from './version.js';

const ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64' };

function invalid(option: string, message: string): BerthError {
  return new BerthError('BERTH_ERR_CLI_INVALID_OPTION', `${option}: ${message}`);
}

/** What an image is tagged by default: `berth-<first model path, without .onnx>:<version>`. */
export function defaultImageTag(models: readonly string[]): string {
  const first =
    (models[0] ?? 'iris')
      .split('/')
      .filter(Boolean)
      .pop()
      ?.replace(/\.onnx$/, '') ?? 'model';
  return `berth-${first.toLowerCase()}:${VERSION}`;
}

/** `NAME:TAG` split at its last colon (a registry port is part of the name), checked as docker checks it. */
export function splitImageTag(value: string, option = '--tag'): { name: string; tag: string } {
  const colon = value.lastIndexOf(':');
  if (colon <= 0 || colon === value.length - 1 || value.slice(colon).includes('/')) {
    throw invalid(option, `expected NAME:TAG, got "${value}"`);
  }
  // Refused as docker refuses it (an upper-case repository, a bad tag), never silently changed.
  try {
    parseImageReference(value);
  } catch (error) {
    if (!isBerthError(error)) throw error;
    throw new BerthError(error.code, `${option}: ${error.message}`, { cause: error });
  }
  return { name: value.slice(0, colon), tag: value.slice(colon + 1) };
}

/** Every timestamp in an image: SOURCE_DATE_EPOCH (seconds), else 1970-01-01. */
export function sourceDateEpoch(env: NodeJS.ProcessEnv = process.env): Date {
  const epoch = env.SOURCE_DATE_EPOCH;
  if (epoch === undefined || epoch === '') return new Date(0);
  if (!/^\d{1,12}$/.test(epoch))
    throw invalid('SOURCE_DATE_EPOCH', `expected seconds since 1970, got "${epoch}"`);
  return new Date(Number(epoch) * 1000);
}

/** `linux/amd64`, `linux/arm64`, or a comma-separated list of them; default: this machine. */
export function parsePlatforms(value: string | undefined): Platform[] {
  if (value === undefined) {
    const architecture = ARCH[process.arch];
    if (architecture === undefined)
      throw invalid('--platform', `no default for this machine (${process.arch}); pass one`);
    return [{ os: 'linux', architecture }];
  }
  const platforms: Platform[] = [];
  for (const item of value.split(',').map((p) => p.trim())) {
    const match = /^linux\/(amd64|arm64)$/.exec(item);
    if (match === null) throw invalid('--platform', `expected linux/amd64 or linux/arm64, got "${item}"`);
    if (platforms.some((p) => p.architecture === match[1]))
      throw invalid('--platform', `${item} is given twice`);
    platforms.push({ os: 'linux', architecture: match[1] as string });
  }
  return platforms;
}
