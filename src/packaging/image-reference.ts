/**
 * Registry image references, read the way docker and podman read them
 * (distribution/reference): `[REGISTRY/]REPOSITORY[:TAG][@sha256:DIGEST]`. The first path part is
 * a registry only when it has a `.` or a `:` or is `localhost`; otherwise the image is on Docker
 * Hub (`node:20` is `docker.io/library/node:20`), whose API lives at registry-1.docker.io.
 */
import { BerthError } from '../ground/index.js';
import { isDigest, type Digest } from './digest.js';

export interface ImageReference {
  /** `host[:port]` as written (`docker.io` for Docker Hub). */
  readonly registry: string;
  /** Lower-case path, e.g. `library/node` or `team/fraud`. */
  readonly repository: string;
  readonly tag?: string;
  readonly digest?: Digest;
}

export const DOCKER_HUB = 'docker.io';
const DOCKER_HUB_API = 'registry-1.docker.io';
const COMPONENT = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const HOST =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::\d{1,5})?$|^\[[0-9a-fA-F:]+\](?::\d{1,5})?$/;

function invalid(value: string, why: string): BerthError {
  return new BerthError('BERTH_ERR_PACKAGING_INVALID_REFERENCE', `image reference "${value}": ${why}`);
}

/**
 * @example
 * parseImageReference('gcr.io/distroless/nodejs20-debian12:nonroot');
 * // { registry: 'gcr.io', repository: 'distroless/nodejs20-debian12', tag: 'nonroot' }
 */
export function parseImageReference(value: string): ImageReference {
  const text = value.startsWith('docker://') ? value.slice('docker://'.length) : value;
  if (text === '' || text.length > 512) throw invalid(value, 'empty or longer than 512 characters');
  let rest = text;
  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const d = rest.slice(at + 1);
    if (!isDigest(d)) throw invalid(value, `"${d}" is not a sha256 digest (sha256:<64 lower-case hex>)`);
    digest = d;
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    if (!TAG.test(tag)) throw invalid(value, `tag "${tag}" must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`);
    rest = rest.slice(0, colon);
  }
  const parts = rest.split('/');
  const first = parts[0] ?? '';
  let registry = DOCKER_HUB;
  if (parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    if (!HOST.test(first)) throw invalid(value, `registry "${first}" is not a host[:port]`);
    registry = first.toLowerCase();
    parts.shift();
  }
  if (registry === 'index.docker.io' || registry === DOCKER_HUB_API) registry = DOCKER_HUB;
  if (registry === DOCKER_HUB && parts.length === 1) parts.unshift('library');
  for (const part of parts) {
    if (!COMPONENT.test(part)) {
      throw invalid(
        value,
        `repository part "${part}" must be lower-case letters and digits separated by ".", "_", "__" or "-"`,
      );
    }
  }
  const repository = parts.join('/');
  if (repository.length > 255) throw invalid(value, 'repository longer than 255 characters');
  return {
    registry,
    repository,
    ...(tag === undefined && digest === undefined ? { tag: 'latest' } : {}),
    ...(tag === undefined ? {} : { tag }),
    ...(digest === undefined ? {} : { digest }),
  };
}

/** The tag or digest to ask the registry for (the digest wins when both are given). */
export function referenceTarget(ref: ImageReference): string {
  return ref.digest ?? ref.tag ?? 'latest';
}

/** The host whose API serves this registry. */
export function registryApiHost(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_API : registry;
}

/** The reference written back out, fully qualified. */
export function formatReference(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}${ref.tag === undefined ? '' : `:${ref.tag}`}${
    ref.digest === undefined ? '' : `@${ref.digest}`
  }`;
}
