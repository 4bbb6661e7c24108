/**
 * Registry credentials and the two ways registries ask for them (distribution docs/spec/auth):
 * - where credentials come from, first match wins: BERTH_REGISTRY_USERNAME/BERTH_REGISTRY_PASSWORD
 *   (for BERTH_REGISTRY_HOST, else for the registry being pushed to), then the `auths` of
 *   $REGISTRY_AUTH_FILE (podman), then of $DOCKER_CONFIG/config.json or ~/.docker/config.json
 *   (`auth`, `username`/`password`, `identitytoken`, `registrytoken`), then a credential helper
 *   named by that file's `credHelpers`/`credsStore` (`docker-credential-<name> get`);
 * - `WWW-Authenticate: Basic ...`: the credentials go with every request;
 * - `WWW-Authenticate: Bearer realm=...,service=...,scope=...`: a token is fetched from the realm
 *   for the scopes an operation needs (with the credentials, or anonymously), cached until it
 *   expires, and sent as `Authorization: Bearer`.
 * Credentials are only ever sent to the registry they belong to or to the realm it names.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { BerthError } from '../ground/index.js';
import { DOCKER_HUB } from './image-reference.js';
import { readBody, sendRequest } from './registry-http.js';

export type Credentials =
  | { readonly kind: 'password'; readonly username: string; readonly password: string; readonly from: string }
  | { readonly kind: 'identity-token'; readonly token: string; readonly from: string }
  | { readonly kind: 'registry-token'; readonly token: string; readonly from: string };

export interface Challenge {
  readonly scheme: 'basic' | 'bearer';
  readonly params: Readonly<Record<string, string>>;
}

interface AuthEntry {
  readonly auth?: string;
  readonly username?: string;
  readonly password?: string;
  readonly identitytoken?: string;
  readonly registrytoken?: string;
}

interface DockerConfig {
  readonly auths?: Readonly<Record<string, AuthEntry>>;
  readonly credsStore?: string;
  readonly credHelpers?: Readonly<Record<string, string>>;
}

const HUB_KEYS = ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'registry-1.docker.io'];

function unauthorized(message: string, cause?: unknown): BerthError {
  return new BerthError(
    'BERTH_ERR_PACKAGING_REGISTRY_UNAUTHORIZED',
    message,
    cause === undefined ? undefined : { cause },
  );
}

async function readConfig(path: string): Promise<DockerConfig | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as DockerConfig;
  } catch (error) {
    throw unauthorized(`${path} is not valid JSON`, error);
  }
}

/** The host a config key names: `https://ghcr.io/v1/` and `ghcr.io` are both ghcr.io. */
function keyHost(key: string): string {
  try {
    return key.includes('://') ? new URL(key).host : (key.split('/')[0] ?? key);
  } catch {
    return key;
  }
}

function entryFor(config: DockerConfig, registry: string): AuthEntry | undefined {
  const wanted = registry === DOCKER_HUB ? HUB_KEYS : [registry];
  const auths = config.auths ?? {};
  for (const key of wanted) if (auths[key] !== undefined) return auths[key];
  for (const [key, entry] of Object.entries(auths)) {
    const host = keyHost(key);
    if (wanted.includes(host) || (registry === DOCKER_HUB && HUB_KEYS.some((k) => keyHost(k) === host)))
      return entry;
  }
  return undefined;
}

function fromEntry(entry: AuthEntry, from: string): Credentials | undefined {
  if (entry.identitytoken !== undefined && entry.identitytoken !== '')
    return { kind: 'identity-token', token: entry.identitytoken, from };
  if (entry.registrytoken !== undefined && entry.registrytoken !== '')
    return { kind: 'registry-token', token: entry.registrytoken, from };
  if (entry.auth !== undefined && entry.auth !== '') {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw unauthorized(`${from}: "auth" is not base64 of user:password`);
    return { kind: 'password', username: decoded.slice(0, colon), password: decoded.slice(colon + 1), from };
  }
  if (entry.username !== undefined && entry.password !== undefined)
    return { kind: 'password', username: entry.username, password: entry.password, from };
  return undefined;
}

function runHelper(helper: string, registry: string): Promise<Credentials | undefined> {
  const program = `docker-credential-${helper}`;
  const server = registry === DOCKER_HUB ? 'https://index.docker.io/v1/' : registry;
  return new Promise((resolve, reject) => {
    const child = execFile(program, ['get'], { timeout: 30_000, maxBuffer: 1 << 20 }, (error, stdout) => {
      if (error !== null) {
        if (/credentials not found/i.test(stdout)) {
          resolve(undefined);
          return;
        }
        reject(
          unauthorized(
            `credentials for ${registry} are kept by ${program}, which failed (${(error as NodeJS.ErrnoException).code ?? error.message}); or set BERTH_REGISTRY_USERNAME and BERTH_REGISTRY_PASSWORD`,
            error,
          ),
        );
        return;
      }
      try {
        const out = JSON.parse(stdout) as { Username?: string; Secret?: string };
        if (out.Secret === undefined) resolve(undefined);
        else if (out.Username === '<token>')
          resolve({ kind: 'identity-token', token: out.Secret, from: program });
        else resolve({ kind: 'password', username: out.Username ?? '', password: out.Secret, from: program });
      } catch (parseError) {
        reject(unauthorized(`${program} printed something that is not JSON`, parseError));
      }
    });
    child.stdin?.end(server);
  });
}

export interface CredentialSources {
  readonly env?: NodeJS.ProcessEnv;
  /** The registry BERTH_REGISTRY_USERNAME/PASSWORD are for when BERTH_REGISTRY_HOST is unset. */
  readonly defaultRegistry?: string;
}

/**
 * The credentials for a registry, or undefined for anonymous access.
 *
 * @example
 * const creds = await findCredentials('ghcr.io', { env: process.env });
 */
export async function findCredentials(
  registry: string,
  sources: CredentialSources = {},
): Promise<Credentials | undefined> {
  const env = sources.env ?? process.env;
  const user = env.BERTH_REGISTRY_USERNAME;
  const envHost = env.BERTH_REGISTRY_HOST ?? sources.defaultRegistry;
  if (user !== undefined && user !== '' && envHost === registry) {
    const password = env.BERTH_REGISTRY_PASSWORD;
    if (password === undefined)
      throw unauthorized('BERTH_REGISTRY_USERNAME is set but BERTH_REGISTRY_PASSWORD is not');
    return { kind: 'password', username: user, password, from: 'BERTH_REGISTRY_USERNAME' };
  }
  const files = [
    ...(env.REGISTRY_AUTH_FILE ? [env.REGISTRY_AUTH_FILE] : []),
    join(env.DOCKER_CONFIG ?? join(env.HOME ?? homedir(), '.docker'), 'config.json'),
  ];
  for (const file of files) {
    const config = await readConfig(file);
    if (config === undefined) continue;
    const entry = entryFor(config, registry);
    const found = entry === undefined ? undefined : fromEntry(entry, file);
    if (found !== undefined) return found;
    const helper = config.credHelpers?.[registry] ?? config.credsStore;
    if (helper !== undefined && helper !== '') return runHelper(helper, registry);
  }
  return undefined;
}

/** Parses `WWW-Authenticate` (RFC 7235 auth-params; `scope` holds commas inside its quotes). */
export function parseChallenge(value: string | undefined): Challenge | undefined {
  if (value === undefined) return undefined;
  const match = /^\s*(\w+)\s*(.*)$/s.exec(value);
  if (match === null) return undefined;
  const scheme = (match[1] ?? '').toLowerCase();
  if (scheme !== 'basic' && scheme !== 'bearer') return undefined;
  const params: Record<string, string> = {};
  const param = /([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?\s*/gy;
  const rest = match[2] ?? '';
  param.lastIndex = 0;
  for (let m = param.exec(rest); m !== null && m[0] !== ''; m = param.exec(rest)) {
    params[(m[1] ?? '').toLowerCase()] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : (m[3] ?? '');
  }
  return { scheme, params };
}

export function basicHeader(credentials: Credentials): string | undefined {
  if (credentials.kind !== 'password') return undefined;
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
}

interface CachedToken {
  readonly token: string;
  readonly expires: number;
}

/**
 * Bearer tokens from a registry's token service, cached per realm, service and scopes.
 */
export class TokenService {
  private readonly cache = new Map<string, CachedToken>();

  constructor(
    private readonly credentials: Credentials | undefined,
    private readonly now: () => number = Date.now,
  ) {}

  private static key(challenge: Challenge, scopes: readonly string[]): string {
    return `${challenge.params.realm ?? ''} ${challenge.params.service ?? ''} ${[...scopes].sort().join(' ')}`;
  }

  /** Drops a cached token the registry no longer accepts. */
  forget(challenge: Challenge, scopes: readonly string[]): void {
    this.cache.delete(TokenService.key(challenge, scopes));
  }

  /**
   * A token for `scopes` (e.g. `repository:team/app:pull,push`).
   *
   * @throws BerthError UNAUTHORIZED when the token service refuses the credentials.
   */
  async token(challenge: Challenge, scopes: readonly string[]): Promise<string> {
    if (this.credentials?.kind === 'registry-token') return this.credentials.token;
    const realm = challenge.params.realm;
    if (realm === undefined) throw unauthorized('the registry asked for a bearer token but named no realm');
    let url: URL;
    try {
      url = new URL(realm);
    } catch (error) {
      throw unauthorized(`the registry's token realm "${realm}" is not a URL`, error);
    }
    const service = challenge.params.service;
    const key = TokenService.key(challenge, scopes);
    const cached = this.cache.get(key);
    if (cached !== undefined && cached.expires > this.now()) return cached.token;

    let res;
    if (this.credentials?.kind === 'identity-token') {
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: this.credentials.token,
        client_id: 'berth',
      });
      if (service !== undefined) form.set('service', service);
      if (scopes.length > 0) form.set('scope', scopes.join(' '));
      res = await sendRequest({
        method: 'POST',
        url,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: Buffer.from(form.toString()),
      });
    } else {
      if (service !== undefined) url.searchParams.set('service', service);
      for (const scope of scopes) url.searchParams.append('scope', scope);
      const auth = this.credentials === undefined ? undefined : basicHeader(this.credentials);
      res = await sendRequest({
        method: 'GET',
        url,
        headers: auth === undefined ? {} : { authorization: auth },
      });
    }
    const body = await readBody(res, 1 << 20);
    if (res.status === 401 || res.status === 403) {
      throw unauthorized(
        this.credentials === undefined
          ? `${url.host} refused an anonymous token for ${scopes.join(' ')}; log in (docker login / BERTH_REGISTRY_USERNAME)`
          : `${url.host} refused the credentials from ${this.credentials.from} (HTTP ${res.status})`,
      );
    }
    if (res.status !== 200) {
      throw new BerthError(
        'BERTH_ERR_PACKAGING_REGISTRY_UNAVAILABLE',
        `token service ${url.host} answered HTTP ${res.status}`,
      );
    }
    let parsed: { token?: string; access_token?: string; expires_in?: number };
    try {
      parsed = JSON.parse(body.toString('utf8')) as typeof parsed;
    } catch (error) {
      throw new BerthError(
        'BERTH_ERR_PACKAGING_REGISTRY_UNAVAILABLE',
        `token service ${url.host} sent invalid JSON`,
        {
          cause: error,
        },
      );
    }
    const token = parsed.token ?? parsed.access_token;
    if (token === undefined || token === '') {
      throw new BerthError(
        'BERTH_ERR_PACKAGING_REGISTRY_UNAVAILABLE',
        `token service ${url.host} sent no token`,
      );
    }
    const lifetime = Math.max(60, typeof parsed.expires_in === 'number' ? parsed.expires_in : 60);
    // Renew a little before the registry would refuse it.
    this.cache.set(key, { token, expires: this.now() + (lifetime - 10) * 1000 });
    return token;
  }
}
