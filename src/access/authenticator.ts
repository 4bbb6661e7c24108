/**
 * Who a caller is, from what it sent: an API key (`berth_<id>_<secret>`, key-store.ts) or a JWT
 * (jwt-verifier.ts), whichever the server accepts. The token's shape says which one checks it, so
 * a key is never sent to the token verifier, nor a token hashed as a key.
 */
import type { BerthError } from '../ground/index.js';
import type { Credentials, Principal } from '../protocol/index.js';
import { looksLikeJwt, type JwtVerifier } from './jwt-verifier.js';
import { unauthenticated, type ApiKeyStore } from './key-store.js';

export interface Authenticator {
  /** A 401 decided without hashing or verifying, before a transport reads a body; else undefined. */
  refuseEarly(credentials: Credentials | undefined): BerthError | undefined;
  /** The caller's principal; a 401 (or a 503 when a JWKS cannot be read) otherwise. */
  authenticate(credentials: Credentials | undefined): Promise<Principal>;
}

/**
 * @example
 * const authenticator = authenticatorOf(keys, jwt); // either may be undefined, not both
 */
export function authenticatorOf(keys: ApiKeyStore | undefined, jwt: JwtVerifier | undefined): Authenticator {
  if (jwt === undefined && keys !== undefined) return keys;
  const accepted = keys === undefined ? 'a bearer token (JWT)' : 'an API key or a bearer token (JWT)';
  const none = () => unauthenticated(`no credentials: send ${accepted} as "Authorization: Bearer <token>"`);
  return {
    refuseEarly(credentials) {
      if (credentials === undefined) return none();
      if (jwt !== undefined && looksLikeJwt(credentials.token)) return undefined;
      return keys === undefined
        ? unauthenticated('the bearer token is not a JWT')
        : keys.refuseEarly(credentials);
    },
    async authenticate(credentials) {
      if (credentials === undefined) throw none();
      if (jwt !== undefined && looksLikeJwt(credentials.token)) return jwt.authenticate(credentials);
      if (keys === undefined) throw unauthenticated('the bearer token is not a JWT');
      return keys.authenticate(credentials);
    },
  };
}
