/**
 * One REST inference request, from body bytes to response bytes: shared by the fast path on bare
 * node:http (infer-fast-path.ts) and the fastify routes that serve the less common forms
 * (compressed bodies, requests during a drain).
 */
import {
  decodeRawInferRequest,
  decodeRestInferRequest,
  encodeRestInferResponse,
  INFERENCE_HEADER_CONTENT_LENGTH,
  parseHeaderLength,
  splitRestBody,
  type DecodeLimits,
  type OutputEncoding,
} from '../../protocol/index.js';
import type { CancelSignal } from '../../scheduler/index.js';
import type { InferenceService } from '../inference-service.js';
import { readBody } from './http-body.js';

/** As every other JSON response berth writes (docs/protocol.md); a constant, so it costs nothing. */
const JSON_CONTENT_TYPE = 'application/json; charset=utf-8';

export interface InferRoute {
  readonly model: string;
  readonly version: string | undefined;
}

export interface InferReply {
  readonly contentType: string;
  /** Inference-Header-Content-Length, when outputs follow the JSON header as binary data. */
  readonly headerLength: number | undefined;
  readonly payload: Buffer;
}

export interface InferContext {
  readonly service: InferenceService;
  readonly limits: DecodeLimits & { readonly maxBodyBytes: number };
}

/**
 * Decodes the body (inside the service call, so a body that fails to decode counts against the
 * model), runs it through the model's queue, and encodes the response.
 */
export async function handleInfer(
  { service, limits }: InferContext,
  { model, version }: InferRoute,
  body: unknown,
  headers: { readonly [name: string]: string | string[] | undefined },
  signal: CancelSignal,
): Promise<InferReply> {
  let encoding: OutputEncoding = { binary: () => false };
  const response = await service.infer(
    model,
    version,
    async () => {
      const bytes = await readBody(
        body,
        headers['content-encoding'] as string | undefined,
        limits.maxBodyBytes,
      );
      const headerLength = parseHeaderLength(
        headers[INFERENCE_HEADER_CONTENT_LENGTH] as string | undefined,
        bytes.byteLength,
      );
      if (headerLength === 0) {
        const decoded = decodeRawInferRequest(service.singleInput(model, version), bytes, limits);
        encoding = decoded.encoding;
        return decoded.request;
      }
      const { header, binary } = splitRestBody(bytes, headerLength);
      const decoded = decodeRestInferRequest(header, binary, limits);
      encoding = decoded.encoding;
      return decoded.request;
    },
    { signal },
  );
  const encoded = encodeRestInferResponse(response, encoding);
  if (encoded.chunks.length === 0) {
    return {
      contentType: JSON_CONTENT_TYPE,
      headerLength: undefined,
      payload: Buffer.from(encoded.header, 'utf8'),
    };
  }
  const head = Buffer.from(encoded.header, 'utf8');
  return {
    contentType: 'application/octet-stream',
    headerLength: head.byteLength,
    payload: Buffer.concat([head, ...encoded.chunks], head.byteLength + encoded.binaryLength),
  };
}
