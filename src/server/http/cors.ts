/**
 * CORS for browser clients (the Fetch standard's CORS protocol): a preflight from an allowed
 * origin is answered here, before routing and before any credential is asked for (a preflight
 * carries none), and the answers to an allowed origin say so. Requests from other origins get no
 * CORS headers, so a browser keeps their answers from the page; non-browser clients are not
 * affected at all.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Request headers a page may send: OIP's, berth's credentials and tracing. */
const ALLOWED_HEADERS =
  'authorization, x-api-key, content-type, content-encoding, inference-header-content-length, x-request-id, traceparent, tracestate';
/** Response headers a page may read besides the safelisted ones. */
const EXPOSED_HEADERS =
  'berth-error-code, x-request-id, retry-after, ratelimit, ratelimit-policy, inference-header-content-length, www-authenticate';
/** How long a browser may keep a preflight's answer, in seconds. */
const MAX_AGE = '600';

/**
 * @param origins allowed origins (`https://app.example`), or `*` for any
 * @returns a step for the request listener: true when it answered the request (a preflight)
 * @example
 * const cors = createCors(['https://app.example']);
 * createServer((req, res) => cors(req, res) || handle(req, res));
 */
export function createCors(
  origins: readonly string[],
): (request: IncomingMessage, response: ServerResponse) => boolean {
  const any = origins.includes('*');
  const allowed = new Set(origins);
  return (request, response) => {
    const origin = request.headers.origin;
    if (origin === undefined) return false;
    response.setHeader('vary', 'origin');
    if (!any && !allowed.has(origin)) return false;
    response.setHeader('access-control-allow-origin', any ? '*' : origin);
    if (request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined) {
      response.writeHead(204, {
        'access-control-allow-methods': 'GET, POST',
        'access-control-allow-headers': ALLOWED_HEADERS,
        'access-control-max-age': MAX_AGE,
        'content-length': '0',
      });
      response.end();
      return true;
    }
    response.setHeader('access-control-expose-headers', EXPOSED_HEADERS);
    return false;
  };
}
