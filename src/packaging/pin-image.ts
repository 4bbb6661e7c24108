/**
 * A tag pinned to what it names now: `registry.example/fraud:1.0` becomes
 * `registry.example/fraud:1.0@sha256:…`, the digest the registry answers for the tag's manifest (or
 * index, for a multi-platform image). A cluster then pulls those exact bytes, whatever the tag
 * points to later. What `berth render k8s --pin` and `berth deploy --pin` do with `--image`.
 */
import { registryClientFor } from './registry-client.js';
import { formatReference, parseImageReference } from './image-reference.js';
import type { RegistryAccess } from './registry-client.js';

/**
 * The image, with the digest its tag names now. An image already pinned comes back as it is,
 * with no registry call.
 *
 * @throws BerthError BERTH_ERR_PACKAGING_INVALID_REFERENCE for a reference that does not parse;
 *   IMAGE_NOT_FOUND, UNAUTHORIZED, DENIED or REGISTRY_UNAVAILABLE from the registry.
 * @example
 * await pinImage('registry.example/fraud:1.0'); // 'registry.example/fraud:1.0@sha256:…'
 */
export async function pinImage(image: string, options: RegistryAccess = {}): Promise<string> {
  const reference = parseImageReference(image);
  if (reference.digest !== undefined) return image;
  const client = await registryClientFor(reference.registry, options);
  const { digest } = await client.manifest(reference.repository, reference.tag ?? 'latest');
  return formatReference({ ...reference, tag: reference.tag ?? 'latest', digest });
}
