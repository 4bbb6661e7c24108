/**
 * Where an upstream listens: `http://host:port`, or `unix:PATH` for a replica of `berth up` on a
 * unix socket (no TCP loopback hop between the gateway and it). One parse per address, and the
 * readiness probe both the supervisor and the gateway's health checks use (fetch cannot reach a
 * unix socket).
 */
import { request as httpRequest, type RequestOptions } from 'node:http';

export interface UpstreamTarget {
  readonly socketPath?: string;
  readonly host?: string;
  readonly port?: number;
}

const parsed = new Map<string, UpstreamTarget>();

/**
 * @example
 * upstreamTarget('unix:/run/berth/r1.sock'); // { socketPath: '/run/berth/r1.sock' }
 * upstreamTarget('http://127.0.0.1:41234');  // { host: '127.0.0.1', port: 41234 }
 */
export function upstreamTarget(url: string): UpstreamTarget {
  let target = parsed.get(url);
  if (target === undefined) {
    if (url.startsWith('unix:')) target = { socketPath: url.slice('unix:'.length) };
    else {
      const { hostname, port } = new URL(url);
      target = { host: hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(port || 80) };
    }
    if (parsed.size > 4096) parsed.clear();
    parsed.set(url, target);
  }
  return target;
}

/** The options of one request to `url` at `path` (path and query as the client sent them). */
export function requestOptions(url: string, path: string, extra: RequestOptions): RequestOptions {
  return { ...upstreamTarget(url), path, ...extra };
}

/** Whether `GET url/v2/health/ready` answers 200 within `timeoutMs`. Never rejects. */
export function probeReady(url: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (ready: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(ready);
    };
    const request = httpRequest(
      requestOptions(url, '/v2/health/ready', { method: 'GET', agent: false }),
      (response) => {
        response.resume();
        response.once('end', () => settle(response.statusCode === 200));
        response.once('error', () => settle(false));
      },
    );
    const timer = setTimeout(() => {
      request.destroy();
      settle(false);
    }, timeoutMs);
    request.once('error', () => settle(false));
    request.end();
  });
}
