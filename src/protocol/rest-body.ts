/**
 * The REST inference body: a JSON object, optionally followed by binary tensor data whose start
 * is given by the Inference-Header-Content-Length header (extension_binary_data.md).
 */
import { BerthError } from '../ground/index.js';

export const INFERENCE_HEADER_CONTENT_LENGTH = 'inference-header-content-length';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Parses the `Inference-Header-Content-Length` header value; undefined when absent. */
export function parseHeaderLength(value: string | undefined, bodyLength: number): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (!/^\d{1,15}$/.test(trimmed)) {
    throw new BerthError(
      'BERTH_ERR_PROTOCOL_INVALID_BINARY',
      `Inference-Header-Content-Length must be a non-negative integer, got ${JSON.stringify(value)}`,
    );
  }
  const length = Number(trimmed);
  if (length > bodyLength) {
    throw new BerthError(
      'BERTH_ERR_PROTOCOL_INVALID_BINARY',
      `Inference-Header-Content-Length is ${length} but the body has only ${bodyLength} bytes`,
    );
  }
  return length;
}

/** Parses JSON text from bytes, as a protocol error when it is not valid UTF-8 JSON. */
export function parseJsonBytes(bytes: Uint8Array, what: string): unknown {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new BerthError('BERTH_ERR_PROTOCOL_INVALID_JSON', `${what} is not valid UTF-8`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new BerthError('BERTH_ERR_PROTOCOL_INVALID_JSON', `${what} is not valid JSON: ${detail}`);
  }
}

/** Splits a body into its parsed JSON header and the binary section after it. */
export function splitRestBody(
  body: Uint8Array,
  headerLength: number | undefined,
): { header: unknown; binary: Uint8Array } {
  const length = headerLength ?? body.byteLength;
  return {
    header: parseJsonBytes(body.subarray(0, length), 'request body'),
    binary: body.subarray(length),
  };
}
