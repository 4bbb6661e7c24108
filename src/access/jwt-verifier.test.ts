import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, SignJWT, UnsecuredJWT, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticatorOf } from './authenticator.js';
import { JwtVerifier } from './jwt-verifier.js';

const ISSUER = 'https://idp.test/';
const AUDIENCE = 'berth';

interface SigningKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly jwk: JWK;
}

async function signingKey(kid: string, alg: 'ES256' | 'RS256' = 'ES256'): Promise<SigningKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg);
  return { kid, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

function token(
  key: SigningKey,
  claims: Record<string, unknown> = {},
  options: { alg?: string; iss?: string; aud?: string; exp?: number | string; nbf?: number | string } = {},
): Promise<string> {
  const jwt = new SignJWT({ roles: ['infer'], ...claims })
    .setProtectedHeader({ alg: options.alg ?? 'ES256', kid: key.kid })
    .setSubject('alice')
    .setIssuer(options.iss ?? ISSUER)
    .setAudience(options.aud ?? AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(options.exp ?? '5m');
  if (options.nbf !== undefined) jwt.setNotBefore(options.nbf);
  return jwt.sign(key.privateKey);
}

/** A real JWKS endpoint on loopback, serving whatever `keys` holds now. */
const jwks: { keys: JWK[]; fetches: number; server?: Server; url?: string } = { keys: [], fetches: 0 };
let first: SigningKey;
let second: SigningKey;
const dir = mkdtempSync(join(tmpdir(), 'berth-jwt-'));

beforeAll(async () => {
  first = await signingKey('k1');
  second = await signingKey('k2');
  jwks.keys = [first.jwk];
  jwks.server = createServer((_request, response) => {
    jwks.fetches++;
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: jwks.keys }));
  });
  await new Promise<void>((resolve) => jwks.server?.listen(0, '127.0.0.1', resolve));
  const address = jwks.server.address();
  jwks.url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/jwks.json`;
});

afterAll(() => {
  jwks.server?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function outcome(
  verifier: { authenticate: JwtVerifier['authenticate'] },
  given: string,
): Promise<string> {
  return verifier.authenticate({ token: given }).then(
    (principal) => `${principal.id} ${principal.roles.join(',')} ${principal.models?.join(',') ?? '*'}`,
    (error: unknown) => `${(error as { code: string }).code}: ${(error as Error).message}`,
  );
}

const remote = () =>
  JwtVerifier.open({
    jwks: jwks.url ?? '',
    issuer: ISSUER,
    audience: AUDIENCE,
    modelsClaim: 'models',
    cooldownMs: 0,
  });

describe('JwtVerifier', () => {
  it('accepts a valid token: its subject, the roles of its claim, its model patterns', async () => {
    const verifier = await remote();
    expect(
      await outcome(verifier, await token(first, { roles: 'infer read admin-ish', models: ['fraud-*'] })),
    ).toBe('jwt:alice infer,read fraud-*');
  });

  it.each([
    [
      'expired',
      { exp: Math.floor(Date.now() / 1000) - 3600 },
      'BERTH_ERR_AUTH_UNAUTHENTICATED: the token expired',
    ],
    [
      'not valid yet',
      { nbf: Math.floor(Date.now() / 1000) + 3600 },
      `BERTH_ERR_AUTH_UNAUTHENTICATED: the token's "nbf" claim is not accepted`,
    ],
    [
      'for another audience',
      { aud: 'other' },
      `BERTH_ERR_AUTH_UNAUTHENTICATED: the token's "aud" claim is not accepted (expected berth)`,
    ],
    [
      'from another issuer',
      { iss: 'https://evil.test/' },
      `BERTH_ERR_AUTH_UNAUTHENTICATED: the token's "iss" claim is not accepted (expected ${ISSUER})`,
    ],
  ])('refuses a token %s', async (_what, options, expected) => {
    const verifier = await remote();
    expect(await outcome(verifier, await token(first, {}, options))).toBe(expected);
  });

  it('tolerates a bounded clock skew on expiry', async () => {
    const verifier = await remote();
    const justExpired = await token(first, {}, { exp: Math.floor(Date.now() / 1000) - 10 });
    expect(await outcome(verifier, justExpired)).toMatch(/^jwt:alice/);
  });

  it('refuses alg none, a shared-secret algorithm, a forged signature and an unknown kid', async () => {
    const verifier = await remote();
    const unsecured = new UnsecuredJWT({ roles: ['admin'] })
      .setSubject('mallory')
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime('5m')
      .encode();
    expect(await outcome(verifier, unsecured)).toMatch(/^BERTH_ERR_AUTH_UNAUTHENTICATED: /);
    const hs256 = await new SignJWT({ roles: ['admin'] })
      .setProtectedHeader({ alg: 'HS256', kid: 'k1' })
      .setSubject('mallory')
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode('a shared secret that is long enough'));
    expect(await outcome(verifier, hs256)).toBe(
      "BERTH_ERR_AUTH_UNAUTHENTICATED: the token's algorithm is not accepted (accepted: RS256, ES256, EdDSA)",
    );
    const [header, payload] = (await token(first)).split('.');
    const forged = `${header}.${payload}.${(await token(second)).split('.')[2]}`;
    expect(await outcome(verifier, forged)).toBe(
      "BERTH_ERR_AUTH_UNAUTHENTICATED: the token's signature does not verify",
    );
    const stranger = await signingKey('k9');
    expect(await outcome(verifier, await token(stranger))).toBe(
      "BERTH_ERR_AUTH_UNAUTHENTICATED: no key of the JWKS matches the token's key id (kid)",
    );
  });

  it('follows a key rotation at the provider: a new kid makes it fetch the set again', async () => {
    const verifier = await remote();
    expect(await outcome(verifier, await token(first))).toMatch(/^jwt:alice/);
    jwks.keys = [first.jwk, second.jwk];
    expect(await outcome(verifier, await token(second))).toMatch(/^jwt:alice/);
    jwks.keys = [first.jwk];
  });

  it('answers 503 when the JWKS cannot be fetched', async () => {
    const verifier = await JwtVerifier.open({
      jwks: 'http://127.0.0.1:9/jwks.json',
      issuer: ISSUER,
      audience: AUDIENCE,
    });
    expect(await outcome(verifier, await token(first))).toMatch(/^BERTH_ERR_AUTH_JWKS_UNAVAILABLE: /);
  });

  it('reads a JWKS file, and refuses a file that is not one', async () => {
    const file = join(dir, 'jwks.json');
    writeFileSync(file, JSON.stringify({ keys: [first.jwk] }));
    const verifier = await JwtVerifier.open({ jwks: file, issuer: ISSUER, audience: AUDIENCE });
    try {
      expect(await outcome(verifier, await token(first))).toMatch(/^jwt:alice infer \*$/);
    } finally {
      verifier.close();
    }
    writeFileSync(file, '{"not":"a set"}');
    await expect(JwtVerifier.open({ jwks: file, issuer: ISSUER, audience: AUDIENCE })).rejects.toMatchObject({
      code: 'BERTH_ERR_AUTH_JWT_CONFIG_INVALID',
    });
  });

  it('refuses to be set up with none or a shared-secret algorithm', async () => {
    for (const algorithm of ['none', 'HS256']) {
      await expect(
        JwtVerifier.open({
          jwks: jwks.url ?? '',
          issuer: ISSUER,
          audience: AUDIENCE,
          algorithms: [algorithm],
        }),
      ).rejects.toMatchObject({ code: 'BERTH_ERR_AUTH_JWT_CONFIG_INVALID' });
    }
  });
});

describe('authenticatorOf', () => {
  it('sends a JWT to the verifier and anything else to the key store, refusing early what neither takes', async () => {
    const verifier = await remote();
    const only = authenticatorOf(undefined, verifier);
    expect(only.refuseEarly(undefined)?.message).toMatch(/no credentials: send a bearer token \(JWT\)/);
    expect(only.refuseEarly({ token: 'berth_0123456789ab_secret' })?.code).toBe(
      'BERTH_ERR_AUTH_UNAUTHENTICATED',
    );
    const jwt = await token(first);
    expect(only.refuseEarly({ token: jwt })).toBeUndefined();
    expect((await only.authenticate({ token: jwt })).id).toBe('jwt:alice');
    await expect(only.authenticate({ token: 'not-a-token' })).rejects.toMatchObject({
      code: 'BERTH_ERR_AUTH_UNAUTHENTICATED',
    });
  });
});
