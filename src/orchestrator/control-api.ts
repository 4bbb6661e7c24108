/**
 * The control API of `berth up`: what `berth status` and `berth scale` talk to. It listens on its
 * own port, on loopback only, like Envoy's admin interface, and is never reachable through the
 * gateway's public port. Until the access-control issue brings credentials, being on the machine
 * is the credential, so it also refuses what a web page on the machine could send: a Host that is
 * not a loopback name (DNS rebinding) and a POST that is not JSON (a form posted across origins).
 *
 *   GET  /berth/v1/status               the deployment's status (local-deployment.ts)
 *   POST /berth/v1/scale {"replicas":N}  exactly N replicas, autoscaling off
 *   POST /berth/v1/scale {"auto":true}   the count back to the autoscaler (or the spec)
 *   POST /berth/v1/rollout {"action":"start","models":[ABSOLUTE PATHS],"strategy"?:...}
 *   POST /berth/v1/rollout {"action":"promote"|"abort"|"undo"}
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BerthError, ERROR_CODE_KEY, httpStatusOf, toBerthError } from '../ground/index.js';
import type { DeploymentStatus } from './local-deployment.js';

export const CONTROL_PREFIX = '/berth/v1';
/** Most replicas `berth scale` may ask for, as replicas.max allows. */
export const MAX_REPLICAS = 256;
const MAX_BODY_BYTES = 16 * 1024;
const LOOPBACK_HOST = /^(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])(?::\d{1,5})?$/;

export interface Controllable {
  status(): DeploymentStatus;
  scale(replicas: number | undefined): void;
  startRollout(args: readonly string[], strategy?: RolloutStrategy): Record<string, unknown>;
  promoteRollout(): Record<string, unknown>;
  abortRollout(): Record<string, unknown>;
  undoRollout(): Record<string, unknown>;
}

export const ROLLOUT_STRATEGIES = ['rolling', 'canary', 'shadow'] as const;
export type RolloutStrategy = (typeof ROLLOUT_STRATEGIES)[number];

export type RolloutAction =
  | { readonly action: 'start'; readonly models: readonly string[]; readonly strategy?: RolloutStrategy }
  | { readonly action: 'promote' | 'abort' | 'undo' };

export interface RunningControlApi {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * @example
 * const control = await startControlApi(deployment, 8002);
 * // curl http://127.0.0.1:8002/berth/v1/status
 */
export async function startControlApi(target: Controllable, port: number): Promise<RunningControlApi> {
  const server = createServer((request, response) => {
    void handle(target, request, response).catch((error: unknown) => {
      writeJson(
        response,
        httpStatusOf(toBerthError(error)),
        { error: toBerthError(error).message },
        toBerthError(error).code,
      );
    });
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  const host = '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new BerthError(
          'BERTH_ERR_SERVER_LISTEN_FAILED',
          `the control API cannot listen on ${host}:${port}: ${error.code ?? error.message} (choose another with --control-port)`,
          { cause: error },
        ),
      ),
    );
    server.listen(port, host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

async function handle(
  target: Controllable,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  if (!LOOPBACK_HOST.test(request.headers.host ?? '')) {
    throw new BerthError(
      'BERTH_ERR_CONTROL_FORBIDDEN',
      'the control API answers only requests addressed to a loopback host (localhost, 127.0.0.1, [::1])',
    );
  }
  const route = (request.url ?? '/').split('?')[0];
  if (route === `${CONTROL_PREFIX}/status`) {
    if (request.method !== 'GET') throw methodNotAllowed('GET', route);
    writeJson(response, 200, target.status());
    return;
  }
  if (route === `${CONTROL_PREFIX}/scale`) {
    if (request.method !== 'POST') throw methodNotAllowed('POST', route);
    requireJson(request, route);
    const replicas = parseScale(await readBody(request));
    target.scale(replicas);
    const { scaling } = target.status();
    writeJson(response, 200, { desired: scaling.desired, mode: scaling.mode, reason: scaling.reason });
    return;
  }
  if (route === `${CONTROL_PREFIX}/rollout`) {
    if (request.method !== 'POST') throw methodNotAllowed('POST', route);
    requireJson(request, route);
    const action = parseRollout(await readBody(request));
    if (action.action === 'start') await checkPathsExist(action.models);
    const answer =
      action.action === 'start'
        ? target.startRollout(action.models, action.strategy)
        : action.action === 'promote'
          ? target.promoteRollout()
          : action.action === 'abort'
            ? target.abortRollout()
            : target.undoRollout();
    writeJson(response, 200, answer);
    return;
  }
  throw new BerthError(
    'BERTH_ERR_SERVER_ROUTE_NOT_FOUND',
    `no control route ${request.method ?? ''} ${route}; the routes are GET ${CONTROL_PREFIX}/status, POST ${CONTROL_PREFIX}/scale and POST ${CONTROL_PREFIX}/rollout`,
  );
}

/** `{"replicas": N}` → N; `{"auto": true}` → undefined. */
export function parseScale(text: string): number | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new BerthError('BERTH_ERR_PROTOCOL_INVALID_JSON', 'the scale request body is not valid JSON');
  }
  const invalid = (message: string) => new BerthError('BERTH_ERR_CONTROL_INVALID_REQUEST', message);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalid('the scale request must be an object: {"replicas": N} or {"auto": true}');
  }
  const { replicas, auto, ...rest } = body as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw invalid(`unknown field "${unknown[0]}": expected "replicas" or "auto"`);
  if (auto !== undefined) {
    if (auto !== true || replicas !== undefined) {
      throw invalid('"auto" must be true, and comes without "replicas"');
    }
    return undefined;
  }
  if (
    typeof replicas !== 'number' ||
    !Number.isInteger(replicas) ||
    replicas < 0 ||
    replicas > MAX_REPLICAS
  ) {
    throw invalid(`"replicas" must be an integer from 0 to ${MAX_REPLICAS}, got ${JSON.stringify(replicas)}`);
  }
  return replicas;
}

/** A POST's body must be JSON: a form posted by a web page across origins is not. */
function requireJson(request: IncomingMessage, route: string): void {
  const type = request.headers['content-type'] ?? '';
  if (!/^application\/json\s*(?:;|$)/i.test(type)) {
    throw new BerthError(
      'BERTH_ERR_PROTOCOL_UNSUPPORTED_MEDIA_TYPE',
      `${route}: the body must be JSON (content-type: application/json), got "${type}"`,
    );
  }
}

/** `{"action": "start", "models": [...], "strategy"?: ...}` or `{"action": "promote" | "abort" | "undo"}`. */
export function parseRollout(text: string): RolloutAction {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new BerthError('BERTH_ERR_PROTOCOL_INVALID_JSON', 'the rollout request body is not valid JSON');
  }
  const invalid = (message: string) => new BerthError('BERTH_ERR_CONTROL_INVALID_REQUEST', message);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalid('the rollout request must be an object with an "action"');
  }
  const { action, models, strategy, ...rest } = body as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0)
    throw invalid(`unknown field "${unknown[0]}": expected "action", "models", "strategy"`);
  if (action === 'promote' || action === 'abort' || action === 'undo') {
    if (models !== undefined || strategy !== undefined) {
      throw invalid(`"${action}" takes no "models" or "strategy"`);
    }
    return { action };
  }
  if (action !== 'start') {
    throw invalid(`"action" must be "start", "promote", "abort" or "undo", got ${JSON.stringify(action)}`);
  }
  if (
    !Array.isArray(models) ||
    models.length > 64 ||
    !models.every((m): m is string => typeof m === 'string' && m.startsWith('/') && m.length <= 4096)
  ) {
    throw invalid('"models" must be a list of at most 64 absolute paths (.onnx files or repository folders)');
  }
  if (strategy !== undefined && !ROLLOUT_STRATEGIES.includes(strategy as RolloutStrategy)) {
    throw invalid(
      `"strategy" must be one of ${ROLLOUT_STRATEGIES.join(', ')}, got ${JSON.stringify(strategy)}`,
    );
  }
  return strategy === undefined
    ? { action, models }
    : { action, models, strategy: strategy as RolloutStrategy };
}

/** Fails naming the first of `paths` that does not exist (a model file or folder). */
export async function checkPathsExist(paths: readonly string[]): Promise<void> {
  const { stat } = await import('node:fs/promises');
  for (const path of paths) {
    try {
      await stat(path);
    } catch {
      throw new BerthError('BERTH_ERR_REPOSITORY_NOT_FOUND', `${path}: no such file or folder`);
    }
  }
}

function methodNotAllowed(allowed: string, route: string): BerthError {
  return new BerthError('BERTH_ERR_CONTROL_INVALID_REQUEST', `${route} takes ${allowed} only`);
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > MAX_BODY_BYTES) {
        request.removeAllListeners('data');
        request.pause();
        reject(
          new BerthError(
            'BERTH_ERR_PROTOCOL_BODY_TOO_LARGE',
            `a control request body is at most ${MAX_BODY_BYTES} bytes`,
          ),
        );
        return;
      }
      chunks.push(chunk);
    });
    request.once('end', () => resolve(Buffer.concat(chunks, size).toString('utf8')));
    request.once('error', reject);
  });
}

function writeJson(response: ServerResponse, status: number, body: unknown, code?: string): void {
  if (response.headersSent || response.destroyed) {
    response.destroy();
    return;
  }
  const json = JSON.stringify(body);
  const headers: Record<string, string | number> = {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(json),
    'cache-control': 'no-store',
  };
  if (code !== undefined) headers[ERROR_CODE_KEY] = code;
  if (code === 'BERTH_ERR_PROTOCOL_BODY_TOO_LARGE') headers.connection = 'close';
  response.writeHead(status, headers);
  response.end(json);
}
