/**
 * The API keys a server accepts, and the check of a presented key against them. A key's scrypt
 * hash takes tens of milliseconds to check, so a key that passed is remembered (by a SHA-256 of
 * it, never the key itself) until the key file changes or the entry expires; a wrong secret for a
 * known id is remembered too, so that repeating it costs a hash lookup. A key that names no id in
 * the file is refused without hashing.
 */
import { createHash } from 'node:crypto';
import { BerthError } from '../ground/index.js';
import type { Credentials, Principal } from '../protocol/index.js';
import { parseApiKey, verifySecret } from './api-key.js';
import type { KeyEntry, KeyFile } from './key-file.js';

/** Remembered outcomes at most; past it the memory starts over (keys are few, attackers many). */
const MAX_REMEMBERED = 10_000;

interface Known {
  readonly entry: KeyEntry;
  readonly principal: Principal;
  /** Milliseconds since the epoch; Infinity for a key that does not expire. */
  readonly expiresAt: number;
}

/** The 401 every failure to authenticate gets; which of the reasons it was goes to the message. */
export function unauthenticated(why: string): BerthError {
  return new BerthError('BERTH_ERR_AUTH_UNAUTHENTICATED', why);
}

const NO_CREDENTIALS =
  'no credentials: send an API key as "Authorization: Bearer <key>" or "x-api-key: <key>"';
const NOT_VALID = 'the API key is not valid: unknown, revoked or malformed';

function fingerprint(token: string): string {
  return createHash('sha256').update(token).digest('base64');
}

/**
 * @example
 * const store = new ApiKeyStore(parseKeyFile(text, 'keys.json'));
 * const principal = await store.authenticate(context.credentials); // or throws a 401
 */
export class ApiKeyStore {
  private byId = new Map<string, Known>();
  /** Fingerprint of a presented key → the entry it matched, or false for a wrong secret. */
  private remembered = new Map<string, Known | false>();
  /** Checks under way, so that concurrent requests with one new key hash it once. */
  private pending = new Map<string, Promise<Known | false>>();

  constructor(
    file: KeyFile,
    private readonly now: () => number = Date.now,
  ) {
    this.replace(file);
  }

  /** Takes a new key file's keys; what was remembered of the old ones is forgotten. */
  replace(file: KeyFile): void {
    const byId = new Map<string, Known>();
    for (const entry of file.keys) {
      const principal: Principal = {
        id: `key:${entry.id}`,
        roles: entry.roles,
        ...(entry.models === undefined ? {} : { models: entry.models }),
      };
      const expiresAt = entry.expires === undefined ? Infinity : Date.parse(entry.expires);
      byId.set(entry.id, { entry, principal, expiresAt });
    }
    this.byId = byId;
    this.remembered = new Map();
    this.pending = new Map();
  }

  /** How many keys are accepted. */
  get size(): number {
    return this.byId.size;
  }

  /**
   * A 401 decided at once, without hashing: no credentials, something that is not a key, or a key
   * whose id is not in the file. Undefined when only `authenticate` can tell. Transports ask this
   * before they read a request's body, so that an anonymous caller cannot make them read it.
   */
  refuseEarly(credentials: Credentials | undefined): BerthError | undefined {
    if (credentials === undefined) return unauthenticated(NO_CREDENTIALS);
    const parsed = parseApiKey(credentials.token);
    return parsed !== undefined && this.byId.has(parsed.id) ? undefined : unauthenticated(NOT_VALID);
  }

  /** The principal of a valid, unexpired key; a 401 BerthError for anything else. */
  async authenticate(credentials: Credentials | undefined): Promise<Principal> {
    if (credentials === undefined) {
      throw unauthenticated(
        'no credentials: send an API key as "Authorization: Bearer <key>" or "x-api-key: <key>"',
      );
    }
    const token = credentials.token;
    const print = fingerprint(token);
    let known = this.remembered.get(print);
    if (known === undefined) known = await this.check(token, print);
    if (known === false) throw unauthenticated(NOT_VALID);
    if (this.now() >= known.expiresAt) {
      throw unauthenticated(`the API key ${known.entry.id} expired at ${known.entry.expires ?? ''}`);
    }
    return known.principal;
  }

  private check(token: string, print: string): Promise<Known | false> {
    const parsed = parseApiKey(token);
    const entry = parsed === undefined ? undefined : this.byId.get(parsed.id);
    if (parsed === undefined || entry === undefined) return Promise.resolve(false);
    let pending = this.pending.get(print);
    if (pending === undefined) {
      const remembered = this.remembered;
      pending = verifySecret(parsed.secret, entry.entry.hash).then((ok) => {
        // A replace() while hashing started a new memory: this outcome belongs to the old keys.
        if (this.remembered === remembered) {
          if (remembered.size >= MAX_REMEMBERED) remembered.clear();
          remembered.set(print, ok ? entry : false);
          this.pending.delete(print);
        }
        // Keys replaced while hashing: check again against the new ones.
        if (this.byId.get(entry.entry.id) !== entry) return this.check(token, print);
        return ok ? entry : false;
      });
      this.pending.set(print, pending);
    }
    return pending;
  }
}
