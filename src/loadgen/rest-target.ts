/**
 * Load over the Open Inference Protocol's REST binding (inference_rest.md, POST
 * /v2/models/{model}[/versions/{version}]/infer): node:http with a keep-alive Agent holding one
 * socket per client. Binary tensors by default (Triton's binary tensor data extension: the JSON
 * header, then the raw data, `Inference-Header-Content-Length`, and `binary_data_output` for the
 * answer), or JSON tensors both ways.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { InferInput } from '../ground/index.js';
import {
  decodeRestInferResponse,
  encodeRestInferRequest,
  INFERENCE_HEADER_CONTENT_LENGTH,
  isObject,
  parseHeaderLength,
  splitRestBody,
} from '../protocol/index.js';
import { missingOutput, type LoadTarget, type TargetConnections } from './load-target.js';
import { MALFORMED, TIMEOUT, type RequestFailure, type SendResult } from './request-outcome.js';

export interface RestTargetOptions {
  /** Base URL: scheme, host, port, and a path prefix if the server sits under one. */
  readonly url: URL;
  readonly model: string;
  readonly version?: string;
  readonly inputs: readonly InferInput[];
  /** binary: Triton binary tensors both ways; json: JSON tensors both ways. */
  readonly encoding: 'binary' | 'json';
  /** Outputs every answer must have. */
  readonly outputs: readonly string[];
  /** Headers added to every request (lower-case names). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Longest wait on a socket with nothing received, per request. */
  readonly timeoutMs: number;
}

const NO_LIMITS = { maxTensorElements: Number.MAX_SAFE_INTEGER };

/** The one request of a run: path, headers and body bytes. */
export function restRequestOf(options: RestTargetOptions): {
  path: string;
  headers: Record<string, string>;
  body: Buffer;
} {
  const binary = options.encoding === 'binary';
  const { header, chunks } = encodeRestInferRequest(
    { inputs: options.inputs },
    { binaryInputs: binary, binaryOutputs: binary },
  );
  const head = Buffer.from(header, 'utf8');
  const body = chunks.length === 0 ? head : Buffer.concat([head, ...chunks]);
  const headers: Record<string, string> = {
    ...options.headers,
    'content-type': chunks.length === 0 ? 'application/json' : 'application/octet-stream',
    'content-length': String(body.byteLength),
  };
  if (chunks.length > 0) headers[INFERENCE_HEADER_CONTENT_LENGTH] = String(head.byteLength);
  const version = options.version === undefined ? '' : `/versions/${encodeURIComponent(options.version)}`;
  const prefix = options.url.pathname.replace(/\/+$/, '');
  return { path: `${prefix}/v2/models/${encodeURIComponent(options.model)}${version}/infer`, headers, body };
}

/** What an error answer says: the OIP error object's message, else the start of the text. */
function errorText(body: Buffer): string {
  const text = body.toString('utf8');
  try {
    const parsed: unknown = JSON.parse(text);
    if (isObject(parsed) && typeof parsed.error === 'string') return parsed.error;
  } catch {
    // not JSON: the text itself
  }
  return text.trim();
}

/** The outcome of an answer: a good inference response with every output, or why not. */
export function checkRestAnswer(
  status: number,
  headerLength: string | undefined,
  body: Buffer,
  outputs: readonly string[],
): SendResult {
  if (status !== 200) return { kind: `HTTP ${status}`, message: errorText(body) };
  try {
    const split = splitRestBody(body, parseHeaderLength(headerLength, body.byteLength));
    const response = decodeRestInferResponse(split.header, split.binary, NO_LIMITS);
    const missing = missingOutput(response.outputs, outputs);
    return missing === undefined
      ? undefined
      : { kind: MALFORMED, message: `the answer has no output "${missing}"` };
  } catch (error) {
    return { kind: MALFORMED, message: error instanceof Error ? error.message : String(error) };
  }
}

class RequestTimeout extends Error {}

function socketFailure(error: Error & { code?: string }): RequestFailure {
  if (error instanceof RequestTimeout) return { kind: TIMEOUT, message: error.message };
  return { kind: error.code ?? 'connection error', message: error.message };
}

/**
 * A REST target.
 *
 * @example
 * const target = createRestTarget({ url: new URL('http://127.0.0.1:8000'), model: 'iris', inputs, encoding: 'binary', outputs: ['probabilities'], timeoutMs: 30_000 });
 * const connections = target.open(4);
 * await connections.send(0); // undefined: a good answer
 */
export function createRestTarget(options: RestTargetOptions): LoadTarget {
  const { path, headers, body } = restRequestOf(options);
  const transport = options.url.protocol === 'https:' ? https : http;
  const timeout = new RequestTimeout(`no answer within ${options.timeoutMs} ms`);
  return {
    transport: `rest ${options.encoding}`,
    requestBytes: body.byteLength,
    open(clients: number): TargetConnections {
      const agent = new transport.Agent({ keepAlive: true, maxSockets: clients, maxFreeSockets: clients });
      const requestOptions: http.RequestOptions = {
        agent,
        protocol: options.url.protocol,
        hostname: options.url.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: options.url.port === '' ? undefined : Number(options.url.port),
        method: 'POST',
        path,
        headers,
        timeout: options.timeoutMs,
      };
      const send = (): Promise<SendResult> =>
        new Promise((resolve) => {
          const request = transport.request(requestOptions, (response) => {
            const chunks: Buffer[] = [];
            response.on('data', (chunk: Buffer) => chunks.push(chunk));
            response.on('error', (error) => resolve(socketFailure(error)));
            response.on('end', () => {
              const answer = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
              const length = response.headers[INFERENCE_HEADER_CONTENT_LENGTH];
              resolve(
                checkRestAnswer(
                  response.statusCode ?? 0,
                  Array.isArray(length) ? length[0] : length,
                  answer,
                  options.outputs,
                ),
              );
            });
          });
          request.on('timeout', () => request.destroy(timeout));
          request.on('error', (error) => resolve(socketFailure(error)));
          request.end(body);
        });
      return { send, close: () => agent.destroy() };
    },
  };
}
