/**
 * A content-addressed blob store in the OCI image layout (`DIR/blobs/sha256/<hex>`): every blob of
 * an image being built (base layers, new layers, config, manifest) is written here once, named by
 * its digest. Writes go to a temporary file first and are renamed into place, so a blob that is
 * present is always whole.
 */
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BerthError } from '../ground/index.js';
import { hexOf, meter, sha256, type Digest } from './digest.js';
import { removeOnExit } from './exit-cleanup.js';
import type { Descriptor } from './media-types.js';

export class BlobStore {
  readonly blobs: string;

  constructor(readonly root: string) {
    this.blobs = join(root, 'blobs', 'sha256');
  }

  async init(): Promise<void> {
    await mkdir(this.blobs, { recursive: true });
  }

  path(digest: Digest): string {
    return join(this.blobs, hexOf(digest));
  }

  async has(digest: Digest): Promise<boolean> {
    return stat(this.path(digest)).then(
      () => true,
      () => false,
    );
  }

  /** Stores bytes; returns their descriptor. */
  async putBytes(mediaType: string, bytes: Uint8Array): Promise<Descriptor> {
    const digest = sha256(bytes);
    if (!(await this.has(digest))) {
      const temp = join(this.root, `.tmp-${randomUUID()}`);
      const forget = removeOnExit(temp);
      try {
        await writeFile(temp, bytes);
        await rename(temp, this.path(digest));
      } finally {
        forget();
      }
    }
    return { mediaType, digest, size: bytes.byteLength };
  }

  /** Stores JSON as its exact bytes (the digest is over them). */
  putJson(mediaType: string, value: unknown): Promise<Descriptor> {
    return this.putBytes(mediaType, Buffer.from(JSON.stringify(value)));
  }

  /**
   * Stores a stream, hashing it on the way; `verify`, when given, must be the digest it has (a
   * blob copied from elsewhere), and `size` its length (a longer stream is cut off, not stored).
   */
  async putStream(mediaType: string, source: Readable, verify?: Digest, size?: number): Promise<Descriptor> {
    const temp = join(this.root, `.tmp-${randomUUID()}`);
    const forget = removeOnExit(temp);
    const counter = meter(size);
    try {
      await pipeline(source, counter.stream, createWriteStream(temp)).catch((error: unknown) => {
        if (error instanceof BerthError) throw error;
        throw new BerthError(
          'BERTH_ERR_PACKAGING_INVALID_IMAGE',
          `blob ${verify ?? '(new)'}: ${error instanceof Error ? error.message : String(error)}`,
          { cause: error },
        );
      });
      const digest = counter.digest();
      if (verify !== undefined && verify !== digest) {
        throw new BerthError(
          'BERTH_ERR_PACKAGING_INVALID_IMAGE',
          `blob ${verify} has digest ${digest}: it is corrupt`,
        );
      }
      await rename(temp, this.path(digest));
      return { mediaType, digest, size: counter.size() };
    } finally {
      await rm(temp, { force: true });
      forget();
    }
  }

  async readBytes(digest: Digest): Promise<Buffer> {
    try {
      return await readFile(this.path(digest));
    } catch (error) {
      throw new BerthError(
        'BERTH_ERR_PACKAGING_INVALID_IMAGE',
        `blob ${digest} is missing from ${this.root}`,
        { cause: error },
      );
    }
  }

  /** A JSON blob, its digest checked, read by `parse` (image-documents.ts), which checks its shape. */
  async readJson<T>(digest: Digest, parse: (text: string, what: string) => T): Promise<T> {
    const bytes = await this.readBytes(digest);
    if (sha256(bytes) !== digest) {
      throw new BerthError('BERTH_ERR_PACKAGING_INVALID_IMAGE', `blob ${digest} in ${this.root} is corrupt`);
    }
    return parse(bytes.toString('utf8'), `blob ${digest}`);
  }
}
