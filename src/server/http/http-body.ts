/**
 * Inference request bodies arrive as raw bytes: JSON (`application/json`), JSON followed by
 * binary tensors (`application/octet-stream`), or no Content-Type at all, which is what many
 * clients send. `text/plain` (fetch's default for a string body) and
 * `application/x-www-form-urlencoded` (the default of `curl -d` and Python's urllib, used by most
 * Triton examples) are read as the same bytes, since Triton accepts them too. Anything else
 * (multipart, XML, images...) is refused. gzip and deflate bodies (Content-Encoding) are inflated
 * under the same size limit.
 */
import { promisify } from 'node:util';
import { gunzip, inflate } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { BerthError } from '../../ground/index.js';

const gunzipAsync = promisify(gunzip);
const inflateAsync = promisify(inflate);

const ACCEPTED =
  /^(application\/json|application\/octet-stream|text\/plain|application\/x-www-form-urlencoded)\s*(;.*)?$/i;

export function isAcceptedContentType(type: string): boolean {
  return type === '' || ACCEPTED.test(type);
}

/** Replaces fastify's parsers with one that hands every accepted body over as a Buffer. */
export function registerRawBodyParser(app: FastifyInstance, maxBodyBytes: number): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: maxBodyBytes }, (request, body, done) => {
    const type = request.headers['content-type'];
    if (type !== undefined && !isAcceptedContentType(type)) {
      done(
        new BerthError(
          'BERTH_ERR_PROTOCOL_UNSUPPORTED_MEDIA_TYPE',
          `Content-Type ${JSON.stringify(type)} is not supported: send application/json, or application/octet-stream with Inference-Header-Content-Length`,
        ),
        undefined,
      );
      return;
    }
    done(null, body);
  });
}

/** The request body as bytes, inflated when it is gzip or deflate encoded. */
export async function readBody(
  body: unknown,
  encoding: string | undefined,
  maxBodyBytes: number,
): Promise<Buffer> {
  const raw = Buffer.isBuffer(body) ? body : Buffer.alloc(0);
  const coding = (encoding ?? 'identity').trim().toLowerCase();
  if (coding === 'identity' || coding === '') return raw;
  if (coding !== 'gzip' && coding !== 'deflate') {
    throw new BerthError(
      'BERTH_ERR_PROTOCOL_UNSUPPORTED_MEDIA_TYPE',
      `Content-Encoding "${coding}" is not supported: use gzip, deflate or none`,
    );
  }
  try {
    const options = { maxOutputLength: maxBodyBytes };
    return coding === 'gzip' ? await gunzipAsync(raw, options) : await inflateAsync(raw, options);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new BerthError(
        'BERTH_ERR_PROTOCOL_BODY_TOO_LARGE',
        `inflated request body is larger than the limit of ${maxBodyBytes} bytes (--max-body-size)`,
      );
    }
    throw new BerthError('BERTH_ERR_PROTOCOL_INVALID_REQUEST', `request body is not valid ${coding} data`, {
      cause: error,
    });
  }
}
