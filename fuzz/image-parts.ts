/**
 * The parts of an image as the image fuzz targets describe them: a JSON document of named parts
 * (`{"index": …, "manifest": …, "config": …, "layer": …}`), each written as JSON (a string as
 * its text), where a string "@name" anywhere is replaced by the digest of that part. Parts are
 * made in the order layer, config, manifest, nested, index, so a part can name those before it:
 * the digests are real, and the reader gets past its digest checks to what it does with them.
 */
import { createHash } from 'node:crypto';
import { text, utf8 } from './target.ts';

const ORDER = ['layer', 'config', 'manifest', 'nested', 'index'] as const;

export const digestOf = (bytes: Uint8Array): string =>
  `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

export const bytesOf = (value: unknown): Uint8Array =>
  typeof value === 'string' ? utf8.encode(value) : utf8.encode(JSON.stringify(value));

function resolve(value: unknown, digests: Readonly<Record<string, string>>): unknown {
  if (typeof value === 'string') return value.startsWith('@') ? (digests[value.slice(1)] ?? value) : value;
  if (Array.isArray(value)) return value.map((item) => resolve(item, digests));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, resolve(item, digests)]));
  }
  return value;
}

export interface ImagePart {
  readonly bytes: Uint8Array;
  readonly digest: string;
  /** The part's own mediaType field, when it is JSON with one. */
  readonly mediaType: string | undefined;
}

/**
 * The parts an input describes, by name; undefined when the input is not such a document (a
 * JSON object with `key`).
 *
 * @example
 * const parts = imageParts(input, 'index'); // parts?.index?.bytes is index.json
 */
export function imageParts(data: Uint8Array, key: string): Record<string, ImagePart> | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.decode(data));
  } catch {
    return undefined;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed) || !(key in parsed))
    return undefined;
  const described = parsed as Record<string, unknown>;
  const digests: Record<string, string> = {};
  const parts: Record<string, ImagePart> = {};
  for (const name of ORDER) {
    if (!(name in described)) continue;
    const value = resolve(described[name], digests);
    const bytes = bytesOf(value);
    const digest = digestOf(bytes);
    digests[name] = digest;
    const mediaType =
      value !== null &&
      typeof value === 'object' &&
      typeof (value as { mediaType?: unknown }).mediaType === 'string'
        ? (value as { mediaType: string }).mediaType
        : undefined;
    parts[name] = { bytes, digest, mediaType };
  }
  return parts;
}
