/**
 * The JSON documents of a base image, as berth reads them from a layout, an archive or a
 * registry: checked against the shapes the OCI image spec (and Docker's equivalents) give them
 * before any field is used, so that a malformed image is BERTH_ERR_PACKAGING_INVALID_IMAGE naming
 * the document and the field, never a TypeError deep in the build. Unknown fields are kept.
 */
import { z } from 'zod';
import { BerthError } from '../ground/index.js';
import { formatIssues } from '../repository/index.js';
import { isDigest } from './digest.js';
import type { Descriptor } from './media-types.js';

export interface ImageIndex {
  readonly schemaVersion: 2;
  readonly mediaType?: string;
  readonly manifests: readonly Descriptor[];
}

export interface ImageManifest {
  readonly schemaVersion: 2;
  readonly mediaType?: string;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
  readonly annotations?: Readonly<Record<string, string>>;
}

/** The parts of an image config berth reads and writes (the rest is kept as it is). */
export interface ImageConfig {
  readonly created?: string;
  readonly architecture: string;
  readonly os: string;
  readonly variant?: string;
  readonly config?: Record<string, unknown>;
  readonly rootfs: { readonly type: 'layers'; readonly diff_ids: readonly string[] };
  readonly history?: readonly Record<string, unknown>[];
  readonly [key: string]: unknown;
}

const digest = z.string().refine(isDigest, 'expected a sha256:<64 hex digits> digest');

const platform = z.looseObject({ os: z.string(), architecture: z.string(), variant: z.string().optional() });

const descriptorSchema = z.looseObject({
  mediaType: z.string(),
  digest,
  size: z.number().int().nonnegative(),
  annotations: z.record(z.string(), z.string()).optional(),
  platform: platform.optional(),
});

const indexSchema = z.looseObject({
  schemaVersion: z.number().optional(),
  mediaType: z.string().optional(),
  manifests: z.array(descriptorSchema),
});

const manifestSchema = z.looseObject({
  schemaVersion: z.number().optional(),
  mediaType: z.string().optional(),
  config: descriptorSchema,
  layers: z.array(descriptorSchema),
  annotations: z.record(z.string(), z.string()).optional(),
});

const configSchema = z.looseObject({
  architecture: z.string(),
  os: z.string(),
  variant: z.string().optional(),
  config: z.record(z.string(), z.unknown()).nullish(),
  rootfs: z.looseObject({ type: z.literal('layers'), diff_ids: z.array(digest) }),
  history: z.array(z.record(z.string(), z.unknown())).optional(),
});

/** A `docker save` archive's manifest.json: berth reads archives of one image. */
const dockerArchiveSchema = z
  .array(
    z.looseObject({
      Config: z.string(),
      Layers: z.array(z.string()),
      RepoTags: z.array(z.string()).nullish(),
    }),
  )
  .length(1, 'expected exactly one image');

/** The document in `text`, checked; `what` names it in the error (a file, a blob, a reference). */
function parseImageDocument<S extends z.ZodType>(schema: S, text: string, what: string): z.infer<S> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new BerthError(
      'BERTH_ERR_PACKAGING_INVALID_IMAGE',
      `${what} is not JSON: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new BerthError('BERTH_ERR_PACKAGING_INVALID_IMAGE', `${what}: ${formatIssues(result.error)}`);
  }
  return result.data;
}

// Checked against the schemas above, which describe what these types name.

/**
 * @example
 * const index = parseIndex(await readFile('base/index.json', 'utf8'), 'base/index.json');
 */
export const parseIndex = (text: string, what: string): ImageIndex =>
  parseImageDocument(indexSchema, text, what) as ImageIndex;

export const parseManifest = (text: string, what: string): ImageManifest =>
  parseImageDocument(manifestSchema, text, what) as ImageManifest;

export const parseConfig = (text: string, what: string): ImageConfig =>
  parseImageDocument(configSchema, text, what) as ImageConfig;

/** The one image of a `docker save` archive's manifest.json. */
export const parseDockerArchiveManifest = (
  text: string,
  what: string,
): { readonly Config: string; readonly Layers: readonly string[] } =>
  parseImageDocument(dockerArchiveSchema, text, what)[0] as { Config: string; Layers: string[] };
