/**
 * What `berth status` and `berth scale` send to `berth up`'s control API (loopback, --url or
 * BERTH_CONTROL_URL, default http://127.0.0.1:8002), with one wording for a deployment that is
 * not there and the API's own errors passed on with their codes.
 */
import { BerthError, ERROR_CODES, ERROR_CODE_KEY, type ErrorCode } from '../ground/index.js';

export const DEFAULT_CONTROL_URL = 'http://127.0.0.1:8002';

export function controlUrl(flag: string | undefined): string {
  return (flag ?? process.env.BERTH_CONTROL_URL ?? DEFAULT_CONTROL_URL).replace(/\/+$/, '');
}

/**
 * @example
 * const status = await callControl<DeploymentStatus>('http://127.0.0.1:8002', 'GET', '/berth/v1/status');
 */
export async function callControl<T>(
  base: string,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`${base}${path}`, {
      method,
      signal: AbortSignal.timeout(10_000),
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
  } catch (error) {
    const { unreachable } = await import('../client/unreachable.js');
    const failure = unreachable(base, error, 10_000);
    throw new BerthError(
      failure.code,
      `${failure.message} (is \`berth up\` running? its control API is on --control-port, default 8002)`,
      { cause: error },
    );
  }
  const text = await response.text();
  if (response.ok) return JSON.parse(text) as T;
  const code = response.headers.get(ERROR_CODE_KEY);
  let message = text;
  try {
    message = (JSON.parse(text) as { error?: string }).error ?? text;
  } catch {
    // Not berth's JSON error: the text as it came.
  }
  throw new BerthError(
    code !== null && code in ERROR_CODES ? (code as ErrorCode) : 'BERTH_ERR_CLIENT_REQUEST_FAILED',
    `${base}${path}: ${response.status}: ${message}`,
  );
}
