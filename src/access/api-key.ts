/**
 * API keys: made from random bytes, shown once, stored only as a salted scrypt hash.
 *
 * A key reads `berth_<id>_<secret>`: the id (12 hex digits) names the key in the key file, logs,
 * audit lines and rate limits, and is not secret; the secret (32 random bytes, base64url) is
 * checked against the stored hash. Because the id is in the key, a key that names no stored
 * entry is refused without hashing anything.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

const KEY = /^berth_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;
/** scrypt's cost: 16 MiB of memory and some 50 ms on a small core, per hash. */
const PARAMS = { N: 16384, r: 8, p: 1 } as const;
const HASH_BYTES = 32;
const SALT_BYTES = 16;
const STORED = /^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/;

export interface NewApiKey {
  readonly id: string;
  /** The whole key, to give the caller once. */
  readonly key: string;
  /** What is stored: `scrypt$N$r$p$salt$hash`. */
  readonly hash: string;
}

function derive(secret: string, salt: Buffer, params: ScryptOptions & { N: number }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(
      secret,
      salt,
      HASH_BYTES,
      { ...params, maxmem: 128 * params.N * (params.r ?? 8) * 2 },
      (error, key) => (error === null ? resolve(key) : reject(error)),
    );
  });
}

/** The id and secret of a well-formed key; undefined for anything else. */
export function parseApiKey(key: string): { id: string; secret: string } | undefined {
  const match = KEY.exec(key);
  return match === null ? undefined : { id: match[1] as string, secret: match[2] as string };
}

/**
 * @example
 * const { key, id, hash } = await createApiKey(); // show `key` once; store `id` and `hash`
 */
export async function createApiKey(): Promise<NewApiKey> {
  const id = randomBytes(6).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  const salt = randomBytes(SALT_BYTES);
  const hash = await derive(secret, salt, PARAMS);
  return {
    id,
    key: `berth_${id}_${secret}`,
    hash: `scrypt$${PARAMS.N}$${PARAMS.r}$${PARAMS.p}$${salt.toString('base64url')}$${hash.toString('base64url')}`,
  };
}

/** Whether `stored` is a hash this module can check (the key file's validation uses it). */
export function isStoredHash(stored: string): boolean {
  const match = STORED.exec(stored);
  if (match === null) return false;
  const [n, r, p] = [Number(match[1]), Number(match[2]), Number(match[3])];
  // Bounded, so that a key file cannot make each check take seconds or gigabytes.
  return n >= 2 && n <= 1 << 20 && (n & (n - 1)) === 0 && r >= 1 && r <= 32 && p >= 1 && p <= 16;
}

/** Whether `secret` hashes to `stored`, compared in constant time. */
export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const match = STORED.exec(stored);
  if (match === null || !isStoredHash(stored)) return false;
  const expected = Buffer.from(match[5] as string, 'base64url');
  const actual = await derive(secret, Buffer.from(match[4] as string, 'base64url'), {
    N: Number(match[1]),
    r: Number(match[2]),
    p: Number(match[3]),
  });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
