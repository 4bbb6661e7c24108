/**
 * A real OCI registry for end-to-end tests of registry clients: Debian's `docker-registry` 2.8
 * (the CNCF distribution registry, /usr/bin/docker-registry) started as a child process on a free
 * 127.0.0.1 port, with its own config, storage and credentials in a fresh temporary folder, and
 * deletes enabled. scripts/test-deps.sh installs it (with skopeo, and apache2-utils for htpasswd).
 *
 * Three ways to authenticate, as registries in the field do:
 * - `none`: anyone may pull and push.
 * - `basic`: HTTP Basic against an htpasswd file of bcrypt entries (`htpasswd -B`, the only kind
 *   distribution accepts); every user who signs in may do everything.
 * - `token`: the Docker token flow (distribution docs/spec/auth/token.md and jwt.md). The registry
 *   answers 401 with `WWW-Authenticate: Bearer realm=…,service=…,scope=…`; a token server run in
 *   this process (node:http) takes the client's Basic credentials and the requested scopes and
 *   returns an RS256 JWT whose `x5c` header carries a self-signed certificate made with the
 *   `openssl` CLI at start-up, the same certificate the registry trusts as `rootcertbundle`.
 *   The user gets every action it asks for; `reader` gets only `pull` (so a test can see a push
 *   denied); a request without credentials gets a token granting nothing, as Docker Hub does for
 *   a private repository, unless `anonymousPull` is set; wrong credentials get 401.
 *
 * Users: `berth` / `berth-test-password` (`username`, `password`, and in `dockerConfig`), and in
 * token mode `reader` / `readerpass`. The token server runs in a worker thread and the registry
 * writes its log to a file, so both keep going while a test blocks in spawnSync (runCli does).
 *
 * Nothing global is registered: the caller calls `stop()` (in afterAll), which ends the process
 * (SIGTERM, then SIGKILL) and the token server and removes the temporary folder.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { freePort } from './free-port.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import { stringify } from 'yaml';

export type RegistryAuth = 'none' | 'basic' | 'token';

export interface StartRegistryOptions {
  /** How clients authenticate; `none` by default. */
  auth?: RegistryAuth;
  /** Token mode: grant `pull` to requests without credentials (a public repository). */
  anonymousPull?: boolean;
  /** How long to wait for `GET /v2/` to answer; 15 s by default. */
  timeoutMs?: number;
}

export interface Credentials {
  readonly username: string;
  readonly password: string;
}

/** One request the token server answered; `account`: the user name it offered, right or wrong, if any. */
export interface TokenRequest {
  readonly account: string | undefined;
  readonly scopes: readonly string[];
  readonly status: number;
}

export interface TestRegistry extends Credentials {
  readonly auth: RegistryAuth;
  /** `127.0.0.1:PORT`, the registry part of an image reference. */
  readonly host: string;
  /** `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** Token mode: a user who may only pull. Undefined in the other modes. */
  readonly reader: Credentials | undefined;
  /** A folder holding a Docker CLI `config.json` with `username:password` for `host`; use as DOCKER_CONFIG. */
  readonly dockerConfig: string;
  /** The registry's storage root (filesystem driver). */
  readonly storage: string;
  /** Token mode: the token endpoint (`realm`) and `service` the registry names in its challenge. */
  readonly tokenRealm: string | undefined;
  readonly service: string;
  /** Token mode: how many requests reached the token server, answered or refused. */
  readonly tokenRequests: number;
  readonly tokenLog: readonly TokenRequest[];
  /** What the registry has written to standard error so far. */
  readonly stderr: string;
  stop(): Promise<void>;
}

const SERVICE = 'berth-test-registry';
const ISSUER = 'berth-test-issuer';
const USER: Credentials = { username: 'berth', password: 'berth-test-password' };
const READER: Credentials = { username: 'reader', password: 'readerpass' };
const TOKEN_TTL_S = 300;
const run = promisify(execFile);

/**
 * Starts a registry and waits until `GET /v2/` answers (200, or 401 when it asks for credentials).
 *
 * @example
 * const registry = await startRegistry({ auth: 'token' });
 * afterAll(() => registry.stop());
 * // push to `${registry.host}/test/img:1` with DOCKER_CONFIG=registry.dockerConfig
 */
export async function startRegistry(options: StartRegistryOptions = {}): Promise<TestRegistry> {
  const auth = options.auth ?? 'none';
  const root = mkdtempSync(join(tmpdir(), 'berth-registry-'));
  const dirs = { storage: join(root, 'storage'), docker: join(root, 'docker'), auth: join(root, 'auth') };
  for (const dir of Object.values(dirs)) mkdirSync(dir);
  let tokens: TokenServer | undefined;
  try {
    const authConfig = await prepareAuth(auth, dirs.auth, options.anonymousPull ?? false);
    tokens = authConfig.tokens;
    const started = await launchRegistry(root, dirs.storage, authConfig.config, auth, options.timeoutMs);
    writeDockerConfig(dirs.docker, started.host);
    const tokenServer = tokens;
    return {
      auth,
      ...USER,
      host: started.host,
      url: `http://${started.host}`,
      reader: auth === 'token' ? READER : undefined,
      dockerConfig: dirs.docker,
      storage: dirs.storage,
      tokenRealm: tokenServer?.realm,
      service: SERVICE,
      get tokenRequests() {
        return tokenServer?.log().length ?? 0;
      },
      get tokenLog() {
        return tokenServer?.log() ?? [];
      },
      get stderr() {
        return started.stderr();
      },
      stop: async () => {
        await Promise.all([terminate(started.child), tokenServer?.close()]);
        rmSync(root, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await tokens?.close();
    rmSync(root, { recursive: true, force: true });
    throw error;
  }
}

/** The `auth` section of the registry's config, and the token server when there is one. */
async function prepareAuth(
  auth: RegistryAuth,
  dir: string,
  anonymousPull: boolean,
): Promise<{ config: Record<string, unknown> | undefined; tokens?: TokenServer }> {
  switch (auth) {
    case 'none':
      return { config: undefined };
    case 'basic': {
      const path = join(dir, 'htpasswd');
      const { stdout } = await run('htpasswd', ['-Bbn', USER.username, USER.password]);
      writeFileSync(path, stdout.trim() + '\n');
      return { config: { htpasswd: { realm: SERVICE, path } } };
    }
    case 'token': {
      const signer = await createSigner(dir);
      const tokens = await startTokenServer(signer, anonymousPull);
      const token = {
        realm: tokens.realm,
        service: SERVICE,
        issuer: ISSUER,
        rootcertbundle: signer.certPath,
      };
      return { config: { token }, tokens };
    }
  }
}

interface Started {
  readonly child: ChildProcess;
  readonly host: string;
  stderr(): string;
}

/** Writes the config and starts the registry; tries another port if the free one was taken meanwhile. */
async function launchRegistry(
  root: string,
  storage: string,
  auth: Record<string, unknown> | undefined,
  expectAuth: RegistryAuth,
  timeoutMs = 15_000,
): Promise<Started> {
  for (let attempt = 1; ; attempt++) {
    const host = `127.0.0.1:${await freePort()}`;
    const configPath = join(root, 'config.yml');
    writeFileSync(configPath, stringify(registryConfig(host, storage, auth)));
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('REGISTRY_')));
    // A file, not a pipe: a pipe nobody drains while the test blocks in spawnSync would fill up
    // with the registry's warnings (one per 401) and stall it.
    const logPath = join(root, `registry-${attempt}.log`);
    const logFd = openSync(logPath, 'a');
    const child = spawn('/usr/bin/docker-registry', ['serve', configPath], {
      stdio: ['ignore', 'ignore', logFd],
      env,
    });
    closeSync(logFd);
    const stderr = () => (existsSync(logPath) ? readFileSync(logPath, 'utf8') : '');
    const started: Started = { child, host, stderr };
    try {
      await waitUntilServing(started, expectAuth === 'none' ? 200 : 401, timeoutMs);
      return started;
    } catch (error) {
      await terminate(child);
      if (attempt < 3 && stderr().includes('address already in use')) continue;
      throw error;
    }
  }
}

/** distribution's configuration (docs/configuration.md), kept to what tests need. */
function registryConfig(
  addr: string,
  storage: string,
  auth: Record<string, unknown> | undefined,
): Record<string, unknown> {
  return {
    version: 0.1,
    log: { level: 'warn', formatter: 'text', accesslog: { disabled: true } },
    storage: {
      filesystem: { rootdirectory: storage },
      delete: { enabled: true },
      maintenance: { uploadpurging: { enabled: false } },
    },
    http: { addr, secret: 'berth-test-registry-secret' },
    ...(auth === undefined ? {} : { auth }),
  };
}

/** Polls `GET /v2/` until it answers `status`; fails at once, with the registry's stderr, if it exits. */
async function waitUntilServing(started: Started, status: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    const { exitCode, signalCode } = started.child;
    if (exitCode !== null || signalCode !== null) {
      throw new Error(
        `docker-registry exited (${exitCode ?? signalCode}) before serving on ${started.host}; stderr:\n${started.stderr()}`,
      );
    }
    try {
      const response = await fetch(`http://${started.host}/v2/`, {
        signal: AbortSignal.timeout(Math.max(1, Math.min(1000, deadline - Date.now()))),
      });
      await response.body?.cancel();
      if (response.status === status) return;
      last = `status ${response.status}`;
    } catch (error) {
      last = String(error instanceof Error && error.cause !== undefined ? error.cause : error);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(
    `docker-registry on ${started.host}: expected GET /v2/ to answer ${status} within ${timeoutMs} ms, last ${last}; stderr:\n${started.stderr()}`,
  );
}

/** SIGTERM, then SIGKILL after 5 s; resolves once the process has exited. */
async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** A port that was free a moment ago: bind port 0, note it, close. */
function writeDockerConfig(dir: string, host: string): void {
  const auth = Buffer.from(`${USER.username}:${USER.password}`).toString('base64');
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ auths: { [host]: { auth } } }, null, 2) + '\n');
}

interface Signer {
  readonly certPath: string;
  /** The certificate, base64 DER, as the JWT header's `x5c` carries it. */
  readonly certDer: string;
  readonly keyPem: string;
}

/** An RSA key and a self-signed certificate for it, valid for a day. */
async function createSigner(dir: string): Promise<Signer> {
  const keyPath = join(dir, 'token-key.pem');
  const certPath = join(dir, 'token-cert.pem');
  await run('openssl', [
    ...['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1'],
    ...['-subj', `/CN=${ISSUER}`, '-keyout', keyPath, '-out', certPath],
  ]);
  const certDer = new X509Certificate(readFileSync(certPath)).raw.toString('base64');
  return { certPath, certDer, keyPem: readFileSync(keyPath, 'utf8') };
}

interface TokenServer {
  readonly realm: string;
  /** The requests answered so far, read without waiting on this thread's event loop. */
  log(): readonly TokenRequest[];
  close(): Promise<void>;
}

/**
 * Starts the token server in a worker thread, so that it still answers while this thread is
 * blocked in spawnSync (test/helpers/cli.ts runs the CLI that way). The worker reports each
 * request on a MessagePort before answering it; `log()` drains that port synchronously.
 */
async function startTokenServer(signer: Signer, anonymousPull: boolean): Promise<TokenServer> {
  const channel = new MessageChannel();
  const workerData: TokenWorkerData = {
    service: SERVICE,
    issuer: ISSUER,
    ttl: TOKEN_TTL_S,
    certDer: signer.certDer,
    keyPem: signer.keyPem,
    users: [
      { ...USER, allowed: null },
      { ...READER, allowed: ['pull'] },
    ],
    anonymous: anonymousPull ? ['pull'] : [],
    log: channel.port2,
  };
  const worker = new Worker(TOKEN_SERVER_JS, {
    eval: true,
    execArgv: [],
    workerData,
    transferList: [channel.port2],
  });
  const [port] = (await once(worker, 'message')) as [number];
  const log: TokenRequest[] = [];
  return {
    realm: `http://127.0.0.1:${port}/token`,
    log: () => {
      let received = receiveMessageOnPort(channel.port1);
      while (received !== undefined) {
        log.push(received.message as TokenRequest);
        received = receiveMessageOnPort(channel.port1);
      }
      return log;
    },
    close: async () => {
      channel.port1.close();
      await worker.terminate();
    },
  };
}

/** What the worker is given; `allowed` null grants every action asked for. */
interface TokenWorkerData {
  service: string;
  issuer: string;
  ttl: number;
  certDer: string;
  keyPem: string;
  users: (Credentials & { allowed: string[] | null })[];
  anonymous: string[];
  log: MessagePort;
}

/**
 * The token server (token.md "Requesting a Token", jwt.md), plain JavaScript since a worker cannot
 * load this TypeScript file. GET /token?service=…&scope=… (repeated, or space-separated) with
 * optional Basic credentials: 401 for wrong ones, else an RS256 JWT with the signing certificate in
 * `x5c`. Scopes are `type[(class)]:name:actions`; a user limited to some actions gets them on
 * repositories only. `aud` is a string: distribution 2.8's ClaimSet reads it into a Go string.
 */
const TOKEN_SERVER_JS = String.raw`
const { createServer } = require('node:http');
const { randomUUID, sign } = require('node:crypto');
const { parentPort, workerData: d } = require('node:worker_threads');
const encode = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
const header = encode({ typ: 'JWT', alg: 'RS256', x5c: [d.certDer] });

function authenticate(authorization) {
  if (authorization === undefined) return { name: undefined, allowed: d.anonymous };
  const match = /^Basic\s+(\S+)$/i.exec(authorization);
  const decoded = match ? Buffer.from(match[1], 'base64').toString('utf8') : '';
  const user = d.users.find((u) => decoded === u.username + ':' + u.password);
  return { name: decoded.split(':')[0], allowed: user ? user.allowed : undefined };
}

function grant(scopes, allowed) {
  const grants = new Map();
  for (const scope of scopes) {
    const parts = scope.split(':');
    if (parts.length < 3) continue;
    const type = parts[0].replace(/\(.*\)$/, '');
    const name = parts.slice(1, -1).join(':');
    const key = type + ':' + name;
    const granted = parts.at(-1).split(',').filter(
      (a) => allowed === null || (type === 'repository' && allowed.includes(a)),
    );
    const previous = grants.get(key);
    grants.set(key, { type, name, actions: [...new Set([...(previous ? previous.actions : []), ...granted])] });
  }
  return [...grants.values()].filter((g) => g.actions.length > 0);
}

const server = createServer((request, response) => {
  const url = new URL(request.url || '/', 'http://token');
  const scopes = url.searchParams.getAll('scope').flatMap((s) => s.split(' ').filter(Boolean));
  const reply = (status, body, account) => {
    d.log.postMessage({ account, scopes, status });
    response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  if (request.method !== 'GET' || url.pathname !== '/token') return reply(405, { error: 'use GET /token' });
  if (url.searchParams.get('service') !== d.service)
    return reply(400, { error: 'service must be ' + d.service });
  const user = authenticate(request.headers.authorization);
  if (user.allowed === undefined) return reply(401, { error: 'wrong username or password' }, user.name);
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    iss: d.issuer, sub: user.name || '', aud: d.service, exp: now + d.ttl, nbf: now - 1, iat: now,
    jti: randomUUID(), access: grant(scopes, user.allowed),
  };
  const input = header + '.' + encode(claims);
  const token = input + '.' + sign('sha256', Buffer.from(input), d.keyPem).toString('base64url');
  const issued_at = new Date(now * 1000).toISOString();
  reply(200, { token, access_token: token, expires_in: d.ttl, issued_at }, user.name);
});
server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));
`;
