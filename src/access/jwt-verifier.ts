/**
 * JWT / OIDC bearer tokens, verified with `jose` (RFC 7519 and 7515; keys from a JWKS, RFC 7517)
 * against a JWKS URL (an identity provider's `jwks_uri`) or file: signature by a key of the set
 * (its `kid`), an algorithm on the allow-list (never `none`), issuer, audience, expiry and
 * not-before with a bounded clock skew. A remote set is cached and fetched again when a token
 * names a key it does not hold (the provider rotated its keys), at most once per cool-down; a
 * file is read again when it changes. A claim (`roles` by default) maps to berth's roles, and
 * optionally another to model patterns.
 */
import { readFile } from 'node:fs/promises';
// jose is loaded by open(), not with this module: a server without JWTs never pays for it.
import type { JWTPayload, JWTVerifyGetKey, jwtVerify } from 'jose';
import { BerthError } from '../ground/index.js';
import type { Credentials, Principal } from '../protocol/index.js';
import { watchForChanges } from './file-watch.js';
import { KEY_ROLES, MODEL_PATTERN, type KeyRole } from './key-file.js';
import { unauthenticated } from './key-store.js';

export interface JwtOptions {
  /** An https:// (or, for tests and sidecars, http://) JWKS URL, or a path to a JWKS file. */
  readonly jwks: string;
  readonly issuer: string;
  readonly audience: string;
  /** Accepted signature algorithms; default RS256, ES256, EdDSA. */
  readonly algorithms?: readonly string[];
  /** Seconds of clock difference tolerated on exp and nbf; default 60. */
  readonly clockToleranceSeconds?: number;
  /** The claim holding the roles (an array, or a space- or comma-separated string); default "roles". */
  readonly rolesClaim?: string;
  /** The claim holding model-name patterns; absent: a token may use every model. */
  readonly modelsClaim?: string;
  /** A remote set is fetched again at most this often when a token names an unknown key; default 30 s. */
  readonly cooldownMs?: number;
}

export const DEFAULT_JWT_ALGORITHMS: readonly string[] = ['RS256', 'ES256', 'EdDSA'];
/** Algorithms never accepted, whatever the allow-list says: no signature, or a shared secret. */
const REFUSED_ALGORITHMS = /^(?:none|HS\d+)$/i;
/** Three base64url parts: what a compact JWS looks like. */
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** Whether `token` has the shape of a JWT (it may still be anything but a valid one). */
export function looksLikeJwt(token: string): boolean {
  return JWT_SHAPE.test(token);
}

/**
 * @example
 * const verifier = await JwtVerifier.open({ jwks: 'https://idp.example/.well-known/jwks.json', issuer: 'https://idp.example/', audience: 'berth' });
 * const principal = await verifier.authenticate({ token }); // or throws a 401
 */
export class JwtVerifier {
  private constructor(
    private readonly options: JwtOptions,
    private keys: JWTVerifyGetKey,
    private readonly verify: typeof jwtVerify,
    private readonly stop: () => void,
  ) {}

  static async open(options: JwtOptions): Promise<JwtVerifier> {
    for (const algorithm of options.algorithms ?? DEFAULT_JWT_ALGORITHMS) {
      if (REFUSED_ALGORITHMS.test(algorithm)) {
        throw new BerthError(
          'BERTH_ERR_AUTH_JWT_CONFIG_INVALID',
          `JWT algorithm "${algorithm}" is never accepted: use RS256, ES256, EdDSA or another signature algorithm`,
        );
      }
    }
    const { createLocalJWKSet, createRemoteJWKSet, jwtVerify } = await import('jose');
    if (/^https?:\/\//i.test(options.jwks)) {
      const keys = createRemoteJWKSet(new URL(options.jwks), {
        cooldownDuration: options.cooldownMs ?? 30_000,
        timeoutDuration: 5000,
      });
      return new JwtVerifier(options, keys, jwtVerify, () => undefined);
    }
    const load = async () => createLocalJWKSet(parseJwks(await readFile(options.jwks, 'utf8'), options.jwks));
    const verifier = new JwtVerifier(options, await load(), jwtVerify, () => stopWatching());
    const stopWatching = watchForChanges([options.jwks], async () => {
      try {
        verifier.keys = await load();
      } catch {
        // A half-written or broken file: the keys read last stay in use until a good one comes.
      }
    });
    return verifier;
  }

  /** Stops watching a JWKS file. */
  close(): void {
    this.stop();
  }

  /** The principal of a valid token; a 401 BerthError otherwise (a 503 when the JWKS cannot be read). */
  async authenticate(credentials: Credentials | undefined): Promise<Principal> {
    if (credentials === undefined) throw unauthenticated('no credentials: send a bearer token');
    let payload: JWTPayload;
    try {
      ({ payload } = await this.verify(credentials.token, this.keys, {
        issuer: this.options.issuer,
        audience: this.options.audience,
        algorithms: [...(this.options.algorithms ?? DEFAULT_JWT_ALGORITHMS)],
        clockTolerance: this.options.clockToleranceSeconds ?? 60,
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (error) {
      throw refusalOf(error, this.options);
    }
    return this.principalOf(payload);
  }

  private principalOf(payload: JWTPayload): Principal {
    const rolesClaim = this.options.rolesClaim ?? 'roles';
    const roles = listOf(payload[rolesClaim]).filter((role): role is KeyRole =>
      (KEY_ROLES as readonly string[]).includes(role),
    );
    const modelsClaim = this.options.modelsClaim;
    const models =
      modelsClaim === undefined
        ? undefined
        : listOf(payload[modelsClaim]).filter((p) => MODEL_PATTERN.test(p));
    return {
      id: `jwt:${String(payload.sub).slice(0, 128)}`,
      roles,
      ...(models === undefined ? {} : { models }),
    };
  }
}

/** A claim's values: an array of strings, or one string of space- or comma-separated values. */
function listOf(claim: unknown): string[] {
  if (typeof claim === 'string') return claim.split(/[\s,]+/).filter((item) => item !== '');
  if (Array.isArray(claim)) return claim.filter((item): item is string => typeof item === 'string');
  return [];
}

function parseJwks(text: string, where: string): { keys: Record<string, unknown>[] } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new BerthError(
      'BERTH_ERR_AUTH_JWT_CONFIG_INVALID',
      `${where}: not JSON; expected a JWKS {"keys": [...]}`,
    );
  }
  const keys = (parsed as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) {
    throw new BerthError('BERTH_ERR_AUTH_JWT_CONFIG_INVALID', `${where}: expected a JWKS {"keys": [...]}`);
  }
  return { keys: keys as Record<string, unknown>[] };
}

/** What a failed verification tells the caller: why, never the token or its claims' values. */
function refusalOf(error: unknown, options: JwtOptions): BerthError {
  const code = (error as { code?: unknown } | null)?.code;
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return unauthenticated('the token expired');
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED': {
      const given = (error as { claim?: unknown }).claim;
      const claim = typeof given === 'string' ? given : '';
      const expected =
        claim === 'iss'
          ? ` (expected ${options.issuer})`
          : claim === 'aud'
            ? ` (expected ${options.audience})`
            : '';
      return unauthenticated(`the token's "${claim}" claim is not accepted${expected}`);
    }
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return unauthenticated(
        `the token's algorithm is not accepted (accepted: ${(options.algorithms ?? DEFAULT_JWT_ALGORITHMS).join(', ')})`,
      );
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return unauthenticated("no key of the JWKS matches the token's key id (kid)");
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return unauthenticated("the token's signature does not verify");
    case 'ERR_JWKS_TIMEOUT':
    case 'ERR_JWKS_INVALID':
      return new BerthError('BERTH_ERR_AUTH_JWKS_UNAVAILABLE', `the JWKS could not be read (${code})`);
    default:
      if (error instanceof TypeError) {
        // fetch() failing: the identity provider cannot be reached.
        return new BerthError('BERTH_ERR_AUTH_JWKS_UNAVAILABLE', 'the JWKS could not be fetched');
      }
      return unauthenticated('the token is not a valid JWT');
  }
}
