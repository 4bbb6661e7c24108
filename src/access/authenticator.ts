/**
 * Who a caller is, from what it sent: an API key (`berth_<id>_<secret>`, key-store.ts), a JWT
 * (jwt-verifier.ts), or, without either, a client certificate the TLS layer verified (mTLS),
 * whichever the server accepts. The token's shape says which one checks it, so a key is never
 * sent to the token verifier, nor a token hashed as a key.
 */
import type { BerthError } from '../ground/index.js';
import type { Credentials, Principal } from '../protocol/index.js';
import { looksLikeJwt, type JwtVerifier } from './jwt-verifier.js';
import type { KeyRole } from './key-file.js';
import { unauthenticated, type ApiKeyStore } from './key-store.js';

export interface Authenticator {
  /** A 401 decided without hashing or verifying, before a transport reads a body; else undefined. */
  refuseEarly(credentials: Credentials | undefined): BerthError | undefined;
  /** The caller's principal; a 401 (or a 503 when a JWKS cannot be read) otherwise. */
  authenticate(credentials: Credentials | undefined): Promise<Principal>;
}

/** What a client certificate's common name may do (mTLS); a name not listed may do nothing. */
export type CertificateRoles = ReadonlyMap<
  string,
  { readonly roles: readonly KeyRole[]; readonly models?: readonly string[] }
>;

/**
 * @example
 * const authenticator = authenticatorOf(keys, jwt, certificates); // any may be undefined, not all
 */
export function authenticatorOf(
  keys: ApiKeyStore | undefined,
  jwt: JwtVerifier | undefined,
  certificates?: CertificateRoles,
): Authenticator {
  if (jwt === undefined && certificates === undefined && keys !== undefined) return keys;
  const kinds = [
    keys === undefined ? '' : 'an API key',
    jwt === undefined ? '' : 'a bearer token (JWT)',
  ].filter((kind) => kind !== '');
  const accepted =
    kinds.length === 0 ? 'a client certificate' : `${kinds.join(' or ')} as "Authorization: Bearer <token>"`;
  const none = () => unauthenticated(`no credentials: send ${accepted}`);
  const notAccepted = () => unauthenticated('the bearer token is not one this server accepts');
  const isJwt = (credentials: Credentials) => jwt !== undefined && looksLikeJwt(credentials.token);
  return {
    refuseEarly(credentials) {
      if (credentials === undefined) return none();
      if (credentials.kind === 'certificate') return certificates === undefined ? none() : undefined;
      if (isJwt(credentials)) return undefined;
      return keys === undefined ? notAccepted() : keys.refuseEarly(credentials);
    },
    async authenticate(credentials) {
      if (credentials === undefined) throw none();
      if (credentials.kind === 'certificate') {
        if (certificates === undefined) throw none();
        const granted = certificates.get(credentials.token);
        return {
          id: `cert:${credentials.token}`,
          roles: granted?.roles ?? [],
          ...(granted?.models === undefined ? {} : { models: granted.models }),
        };
      }
      if (jwt !== undefined && looksLikeJwt(credentials.token)) return jwt.authenticate(credentials);
      if (keys === undefined) throw notAccepted();
      return keys.authenticate(credentials);
    },
  };
}
