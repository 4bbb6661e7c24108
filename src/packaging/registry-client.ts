/**
 * A client of the OCI distribution API (opencontainers/distribution-spec) for one registry: read
 * manifests and blobs (pulling a base image), and push blobs and manifests (`berth build --push`).
 * Blobs the registry already has are skipped (HEAD), blobs in another repository of the same
 * registry are mounted rather than uploaded, and uploads are monolithic (POST, then PUT with the
 * digest and an exact length). Authentication follows the registry's challenge (registry-auth.ts).
 * Everything read is checked against its digest by the caller's blob store.
 */
import type { Readable } from 'node:stream';
import { BerthError } from '../ground/index.js';
import { sha256, type Digest } from './digest.js';
import { registryApiHost } from './image-reference.js';
import { MEDIA_TYPE, type Descriptor } from './media-types.js';
import {
  basicHeader,
  findCredentials,
  parseChallenge,
  TokenService,
  type Challenge,
  type Credentials,
} from './registry-auth.js';
import {
  header,
  readBody,
  sendRequest,
  type HttpRequest,
  type HttpResponse,
  type RequestBody,
} from './registry-http.js';

/** Manifests berth can read, in the Accept header (distribution answers 404 to OCI ones otherwise). */
const MANIFEST_ACCEPT = [
  MEDIA_TYPE.index,
  MEDIA_TYPE.manifest,
  MEDIA_TYPE.dockerList,
  MEDIA_TYPE.dockerManifest,
].join(', ');
/** Manifests and indexes are small; a larger one is refused (distribution's own limit is 4 MiB). */
const MANIFEST_LIMIT = 4 << 20;
const RETRIED = new Set([429, 502, 503, 504]);

export interface RegistryOptions {
  /** Plain HTTP instead of HTTPS (a local registry without TLS). */
  readonly insecure?: boolean;
  readonly credentials?: Credentials;
  readonly timeoutMs?: number;
}

export interface FetchedManifest {
  readonly bytes: Buffer;
  readonly mediaType: string;
  readonly digest: Digest;
}

export type BlobPushResult = 'exists' | 'mounted' | 'uploaded';

interface RegistryErrorBody {
  readonly errors?: readonly { readonly code?: string; readonly message?: string }[];
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class RegistryClient {
  private readonly base: URL;
  private readonly tokens: TokenService;
  private challenge: Challenge | undefined;

  constructor(
    readonly registry: string,
    private readonly options: RegistryOptions = {},
  ) {
    this.base = new URL(`${options.insecure === true ? 'http' : 'https'}://${registryApiHost(registry)}`);
    this.tokens = new TokenService(options.credentials);
  }

  private async authorization(scopes: readonly string[]): Promise<string | undefined> {
    const challenge = this.challenge;
    if (challenge === undefined) return undefined;
    if (challenge.scheme === 'basic') {
      const credentials = this.options.credentials;
      const basic = credentials === undefined ? undefined : basicHeader(credentials);
      if (basic === undefined) {
        throw new BerthError(
          'BERTH_ERR_PACKAGING_REGISTRY_UNAUTHORIZED',
          `${this.registry} wants a user name and password; log in (docker login ${this.registry}) or set BERTH_REGISTRY_USERNAME and BERTH_REGISTRY_PASSWORD`,
        );
      }
      return basic;
    }
    return `Bearer ${await this.tokens.token(challenge, scopes)}`;
  }

  private async failure(res: HttpResponse, what: string): Promise<BerthError> {
    let detail = '';
    let codes: string[] = [];
    try {
      const body = JSON.parse((await readBody(res, 64 << 10)).toString('utf8')) as RegistryErrorBody;
      codes = (body.errors ?? []).map((e) => e.code ?? '');
      detail = (body.errors ?? []).map((e) => `${e.code ?? ''}: ${e.message ?? ''}`).join('; ');
    } catch {
      res.body.resume();
    }
    const message = `${this.registry}: ${what}: HTTP ${res.status}${detail === '' ? '' : ` (${detail})`}`;
    if (res.status === 401) {
      const credentials = this.options.credentials;
      if (credentials === undefined) {
        return new BerthError(
          'BERTH_ERR_PACKAGING_REGISTRY_UNAUTHORIZED',
          `${message}: berth has no credentials for ${this.registry}; log in (docker login ${this.registry}) or set BERTH_REGISTRY_USERNAME and BERTH_REGISTRY_PASSWORD`,
        );
      }
      // A token service grants what the account may do, silently less than asked.
      if (parseChallenge(header(res, 'www-authenticate'))?.params.error === 'insufficient_scope') {
        return new BerthError(
          'BERTH_ERR_PACKAGING_REGISTRY_DENIED',
          `${message}: the credentials from ${credentials.from} do not allow it (insufficient_scope)`,
        );
      }
      return new BerthError(
        'BERTH_ERR_PACKAGING_REGISTRY_UNAUTHORIZED',
        `${message}: the registry refused the credentials from ${credentials.from}`,
      );
    }
    if (res.status === 403 || codes.includes('DENIED'))
      return new BerthError('BERTH_ERR_PACKAGING_REGISTRY_DENIED', message);
    if (res.status === 404) return new BerthError('BERTH_ERR_PACKAGING_IMAGE_NOT_FOUND', message);
    if (res.status === 400) return new BerthError('BERTH_ERR_PACKAGING_INVALID_IMAGE', message);
    return new BerthError('BERTH_ERR_PACKAGING_REGISTRY_UNAVAILABLE', message);
  }

  /**
   * One API call with authentication: a 401 teaches the challenge and the call is made once more
   * with credentials; reads are retried on 429/5xx and network errors.
   */
  private async call(
    method: HttpRequest['method'],
    path: string | URL,
    scopes: readonly string[],
    init: { headers?: Record<string, string>; body?: RequestBody } = {},
  ): Promise<HttpResponse> {
    const url = typeof path === 'string' ? new URL(path, this.base) : path;
    const idempotent = method === 'GET' || method === 'HEAD';
    for (let attempt = 0; ; attempt++) {
      let res: HttpResponse;
      try {
        res = await this.authenticated(method, url, scopes, init);
      } catch (error) {
        if (
          !idempotent ||
          attempt >= 2 ||
          (error as BerthError).code !== 'BERTH_ERR_PACKAGING_REGISTRY_UNAVAILABLE'
        )
          throw error;
        await sleep(500 * 2 ** attempt);
        continue;
      }
      if (idempotent && attempt < 2 && RETRIED.has(res.status)) {
        res.body.resume();
        await sleep(500 * 2 ** attempt);
        continue;
      }
      return res;
    }
  }

  private async authenticated(
    method: HttpRequest['method'],
    url: URL,
    scopes: readonly string[],
    init: { headers?: Record<string, string>; body?: RequestBody },
  ): Promise<HttpResponse> {
    // Credentials and tokens go to the registry's own host only, never to storage it redirects to.
    const own = url.host === this.base.host;
    const send = async () => {
      const authorization = own ? await this.authorization(scopes) : undefined;
      return sendRequest({
        method,
        url,
        headers: { ...init.headers, ...(authorization === undefined ? {} : { authorization }) },
        ...(init.body === undefined ? {} : { body: init.body }),
        ...(this.options.timeoutMs === undefined ? {} : { timeoutMs: this.options.timeoutMs }),
      });
    };
    let res = await send();
    for (let retry = 0; retry < 2 && res.status === 401 && own; retry++) {
      const challenge = parseChallenge(header(res, 'www-authenticate'));
      if (challenge === undefined) return res;
      if (JSON.stringify(challenge) === JSON.stringify(this.challenge)) {
        // The same challenge again: a token that expired or was revoked early is fetched anew once.
        if (challenge.scheme !== 'bearer' || retry > 0) return res;
        this.tokens.forget(challenge, scopes);
      }
      res.body.resume();
      this.challenge = challenge;
      res = await send();
    }
    return res;
  }

  private static pullScope(repository: string): string {
    return `repository:${repository}:pull`;
  }

  private static pushScopes(repository: string, from?: string): string[] {
    return [
      `repository:${repository}:pull,push`,
      ...(from === undefined || from === repository ? [] : [`repository:${from}:pull`]),
    ];
  }

  /**
   * A manifest or index by tag or digest, checked against the digest asked for (or the one the
   * registry names for a tag).
   *
   * @throws BerthError IMAGE_NOT_FOUND, UNAUTHORIZED, DENIED or REGISTRY_UNAVAILABLE.
   */
  async manifest(repository: string, reference: string): Promise<FetchedManifest> {
    const fetched = await this.fetchManifest(
      repository,
      reference,
      [RegistryClient.pullScope(repository)],
      false,
    );
    if (fetched === undefined) throw new BerthError('BERTH_ERR_INTERNAL', 'manifest fetch without a result');
    return fetched;
  }

  /** The manifest GET behind manifest() and manifestIfPresent(): 404 is undefined when `optional`. */
  private async fetchManifest(
    repository: string,
    reference: string,
    scopes: readonly string[],
    optional: boolean,
  ): Promise<FetchedManifest | undefined> {
    const res = await this.call('GET', `/v2/${repository}/manifests/${reference}`, scopes, {
      headers: { accept: MANIFEST_ACCEPT },
    });
    if (optional && res.status === 404) {
      res.body.resume();
      return undefined;
    }
    if (res.status !== 200) throw await this.failure(res, `manifest ${repository}:${reference}`);
    const bytes = await readBody(res, MANIFEST_LIMIT);
    const digest = sha256(bytes);
    const expected = reference.startsWith('sha256:') ? reference : header(res, 'docker-content-digest');
    if (expected !== undefined && expected !== digest) {
      throw new BerthError(
        'BERTH_ERR_PACKAGING_INVALID_IMAGE',
        `${this.registry}: manifest ${repository}:${reference} has digest ${digest}, not ${expected}`,
      );
    }
    let mediaType = (header(res, 'content-type') ?? '').split(';')[0]?.trim() ?? '';
    if (mediaType === '' || mediaType === 'application/json') {
      try {
        const stated = (JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown }).mediaType;
        mediaType = typeof stated === 'string' ? stated : '';
      } catch {
        mediaType = '';
      }
    }
    return { bytes, mediaType, digest };
  }

  /** A blob's bytes as a stream (the caller verifies the digest as it stores them). */
  async blob(repository: string, digest: Digest): Promise<Readable> {
    const res = await this.call('GET', `/v2/${repository}/blobs/${digest}`, [
      RegistryClient.pullScope(repository),
    ]);
    if (res.status !== 200) throw await this.failure(res, `blob ${digest} of ${repository}`);
    return res.body;
  }

  async hasBlob(repository: string, digest: Digest, push = false): Promise<boolean> {
    const scopes = push ? RegistryClient.pushScopes(repository) : [RegistryClient.pullScope(repository)];
    const res = await this.call('HEAD', `/v2/${repository}/blobs/${digest}`, scopes);
    res.body.resume();
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw await this.failure(res, `blob ${digest} of ${repository}`);
  }

  /**
   * Makes sure the repository has a blob: already there, mounted from `mountFrom` (a repository of
   * this registry that has it), or uploaded from what `source()` opens (asked for only then).
   *
   * @example
   * await client.pushBlob('team/fraud', layer, async () => () => createReadStream(path), 'library/node');
   */
  async pushBlob(
    repository: string,
    descriptor: Descriptor,
    source: () => Promise<() => Readable>,
    mountFrom?: string,
  ): Promise<BlobPushResult> {
    const scopes = RegistryClient.pushScopes(repository, mountFrom);
    if (await this.hasBlob(repository, descriptor.digest, true)) return 'exists';
    const start = new URL(`/v2/${repository}/blobs/uploads/`, this.base);
    if (mountFrom !== undefined && mountFrom !== repository) {
      start.searchParams.set('mount', descriptor.digest);
      start.searchParams.set('from', mountFrom);
    }
    const started = await this.call('POST', start, scopes);
    started.body.resume();
    if (started.status === 201) return 'mounted';
    if (started.status !== 202) throw await this.failure(started, `start upload of ${descriptor.digest}`);
    const location = header(started, 'location');
    if (location === undefined) {
      throw new BerthError(
        'BERTH_ERR_PACKAGING_REGISTRY_UNAVAILABLE',
        `${this.registry}: upload started without a Location`,
      );
    }
    const open = await source();
    const target = new URL(location, started.url);
    target.searchParams.set('digest', descriptor.digest);
    const put = await this.call('PUT', target, scopes, {
      headers: { 'content-type': 'application/octet-stream' },
      body: { length: descriptor.size, open },
    });
    put.body.resume();
    if (put.status !== 201) throw await this.failure(put, `upload of ${descriptor.digest}`);
    return 'uploaded';
  }

  /**
   * Stores a manifest under a tag or its digest. Returns the digest the registry computed and
   * whether it indexed the manifest's `subject` (the OCI-Subject header of the referrers API).
   */
  async putManifest(
    repository: string,
    reference: string,
    bytes: Uint8Array,
    mediaType: string,
  ): Promise<{ digest: Digest; subjectIndexed: boolean }> {
    const res = await this.call(
      'PUT',
      `/v2/${repository}/manifests/${reference}`,
      RegistryClient.pushScopes(repository),
      {
        headers: { 'content-type': mediaType },
        body: bytes,
      },
    );
    res.body.resume();
    if (res.status !== 201 && res.status !== 200)
      throw await this.failure(res, `manifest ${repository}:${reference}`);
    const digest = sha256(bytes);
    const stated = header(res, 'docker-content-digest');
    if (stated !== undefined && stated !== digest) {
      throw new BerthError(
        'BERTH_ERR_PACKAGING_REGISTRY_UNAVAILABLE',
        `${this.registry}: stored manifest as ${stated}, but its bytes are ${digest}`,
      );
    }
    return { digest, subjectIndexed: header(res, 'oci-subject') !== undefined };
  }

  /** A manifest if present, else undefined (for the referrers fallback tag). */
  async manifestIfPresent(
    repository: string,
    reference: string,
    push = false,
  ): Promise<FetchedManifest | undefined> {
    const scopes = push ? RegistryClient.pushScopes(repository) : [RegistryClient.pullScope(repository)];
    return this.fetchManifest(repository, reference, scopes, true);
  }
}

/** Where a command reaches registries from: which speak plain HTTP, and the environment credentials come from. */
export interface RegistryAccess {
  /** Registries spoken to over plain HTTP. */
  readonly insecureRegistries?: readonly string[];
  /** Where credentials are read from (BERTH_REGISTRY_USERNAME/PASSWORD); default process.env. */
  readonly env?: NodeJS.ProcessEnv;
}

/** A client for `registry` with the credentials berth finds for it (docker login's file, the environment). */
export async function registryClientFor(
  registry: string,
  access: RegistryAccess = {},
): Promise<RegistryClient> {
  const credentials = await findCredentials(registry, {
    env: access.env ?? process.env,
    defaultRegistry: registry,
  });
  return new RegistryClient(registry, {
    insecure: access.insecureRegistries?.includes(registry) === true,
    ...(credentials === undefined ? {} : { credentials }),
  });
}
