/**
 * The HTTP underneath the registry client: node:http/https requests with a timeout, bodies sent
 * with an exact Content-Length (registries refuse chunked blob uploads), redirects followed for
 * reads (blob GETs go to storage elsewhere; credentials are never forwarded to another host), and
 * bounded reads of small bodies (manifests, errors, tokens).
 */
import { request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Readable } from 'node:stream';
import { BerthError } from '../ground/index.js';

export type RequestBody = Uint8Array | { readonly length: number; readonly open: () => Readable };

export interface HttpRequest {
  readonly method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly url: URL;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: RequestBody;
  /** Idle socket timeout (default 60 s). */
  readonly timeoutMs?: number;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly url: URL;
  readonly body: IncomingMessage;
}

const MAX_REDIRECTS = 5;

function unreachable(url: URL, error: unknown): BerthError {
  const code = (error as NodeJS.ErrnoException).code;
  const hint =
    code === 'EPROTO' || code === 'ERR_SSL_WRONG_VERSION_NUMBER'
      ? ' (is it a plain-HTTP registry? pass --insecure-registry ' + url.host + ')'
      : code === 'ECONNREFUSED' && url.protocol === 'https:'
        ? ' (nothing listens there; a plain-HTTP registry needs --insecure-registry ' + url.host + ')'
        : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
          ? ` (the name ${url.hostname} does not resolve: no network, or no DNS for it)`
          : '';
  return new BerthError(
    'BERTH_ERR_PACKAGING_REGISTRY_UNAVAILABLE',
    `${url.host}: ${code ?? (error instanceof Error ? error.message : String(error))}${hint}`,
    { cause: error },
  );
}

function once(req: HttpRequest): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const send = req.url.protocol === 'http:' ? httpRequest : httpsRequest;
    const headers: Record<string, string> = { 'user-agent': 'berth', ...req.headers };
    const body = req.body;
    if (body !== undefined) {
      headers['content-length'] = String(body instanceof Uint8Array ? body.byteLength : body.length);
    } else if (req.method === 'PUT' || req.method === 'POST' || req.method === 'PATCH') {
      headers['content-length'] = '0';
    }
    const outgoing = send(req.url, { method: req.method, headers }, (res) => {
      outgoing.setTimeout(0);
      res.setTimeout(req.timeoutMs ?? 60_000, () =>
        res.destroy(unreachable(req.url, Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' }))),
      );
      resolve({ status: res.statusCode ?? 0, headers: res.headers, url: req.url, body: res });
    });
    outgoing.setTimeout(req.timeoutMs ?? 60_000, () =>
      outgoing.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })),
    );
    outgoing.on('error', (error) => reject(unreachable(req.url, error)));
    if (body === undefined) outgoing.end();
    else if (body instanceof Uint8Array) outgoing.end(body);
    else {
      const source = body.open();
      source.on('error', (error) => outgoing.destroy(error));
      // A request that ends early (refused, answered 401 mid-upload) releases its file.
      outgoing.on('close', () => source.destroy());
      source.pipe(outgoing);
    }
  });
}

/**
 * One request; GET and HEAD follow redirects, dropping Authorization when the host changes.
 *
 * @throws BerthError BERTH_ERR_PACKAGING_REGISTRY_UNAVAILABLE when the host cannot be reached.
 */
export async function sendRequest(req: HttpRequest): Promise<HttpResponse> {
  let current = req;
  for (let hop = 0; ; hop++) {
    const res = await once(current);
    const location = res.headers.location;
    const follow =
      (current.method === 'GET' || current.method === 'HEAD') &&
      [301, 302, 303, 307, 308].includes(res.status);
    if (!follow || location === undefined) return res;
    res.body.resume();
    if (hop >= MAX_REDIRECTS) {
      throw new BerthError('BERTH_ERR_PACKAGING_REGISTRY_UNAVAILABLE', `${req.url.host}: too many redirects`);
    }
    const next = new URL(location, current.url);
    const headers = { ...current.headers };
    if (next.host !== current.url.host) delete headers.authorization;
    current = { ...current, url: next, headers };
  }
}

/**
 * Reads a whole (small) body, refusing more than `limit` bytes.
 *
 * @throws BerthError when the body is larger than `limit`.
 */
export async function readBody(res: HttpResponse, limit: number): Promise<Buffer> {
  const declared = Number(res.headers['content-length'] ?? NaN);
  if (declared > limit) {
    res.body.destroy();
    throw new BerthError(
      'BERTH_ERR_PACKAGING_REGISTRY_UNAVAILABLE',
      `${res.url.host}: response of ${declared} bytes is over the ${limit}-byte limit`,
    );
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body) {
    size += (chunk as Buffer).byteLength;
    if (size > limit) {
      res.body.destroy();
      throw new BerthError(
        'BERTH_ERR_PACKAGING_REGISTRY_UNAVAILABLE',
        `${res.url.host}: response over the ${limit}-byte limit`,
      );
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** A header's single value. */
export function header(res: HttpResponse, name: string): string | undefined {
  const value = res.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}
