/** Content digests as OCI writes them: `sha256:<64 lowercase hex>`. */
import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';

export type Digest = `sha256:${string}`;

const DIGEST = /^sha256:[0-9a-f]{64}$/;

export function sha256(bytes: Uint8Array | string): Digest {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export function isDigest(value: unknown): value is Digest {
  return typeof value === 'string' && DIGEST.test(value);
}

/** The hex part, used as a blob's file name. */
export function hexOf(digest: Digest): string {
  return digest.slice('sha256:'.length);
}

/** A pass-through stream that hashes and counts what flows through it. */
export interface Meter {
  readonly stream: Transform;
  digest(): Digest;
  size(): number;
}

/** @param limit more bytes than this fail the stream */
export function meter(limit = Number.POSITIVE_INFINITY): Meter {
  const hash = createHash('sha256');
  let bytes = 0;
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      bytes += chunk.byteLength;
      if (bytes > limit) {
        callback(new Error(`more than the ${limit} bytes expected`));
        return;
      }
      callback(null, chunk);
    },
  });
  return { stream, digest: () => `sha256:${hash.digest('hex')}`, size: () => bytes };
}

/** Whether a parsed JSON value is a list (a boolean, so typed fields keep their element type). */
export function isList(value: unknown): boolean {
  return Array.isArray(value);
}
