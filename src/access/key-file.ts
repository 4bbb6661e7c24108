/**
 * The API key file: what `berth keys` writes and a server reads. JSON, one entry per key with its
 * id, roles, model patterns, expiry and scrypt hash; never a key itself. Written whole to a new
 * file and renamed over the old one, readable by its owner only (mode 0600).
 *
 * {"version": 1, "keys": [{"id": "3f9c2a7b10de", "name": "fraud-app", "roles": ["infer"],
 *   "models": ["fraud-*"], "created": "2026-12-06T10:00:00.000Z",
 *   "expires": "2027-03-06T10:00:00.000Z", "hash": "scrypt$16384$8$1$…$…"}]}
 */
import { randomBytes } from 'node:crypto';
import { rename, rm, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { BerthError } from '../ground/index.js';
import { formatIssues } from '../repository/index.js';
import { isStoredHash } from './api-key.js';

/** What a key may do. `health` is not one: probes are open unless access control covers them. */
export const KEY_ROLES = ['infer', 'read', 'admin', 'metrics'] as const;
export type KeyRole = (typeof KEY_ROLES)[number];
/** What an operation needs: one of the key roles, or `health` (open by default). */
export type OperationRole = KeyRole | 'health';

/** A model-name pattern: letters, digits and `_ . -` of a model name, and `*` for any run of them. */
export const MODEL_PATTERN = /^[A-Za-z0-9_.*-]{1,128}$/;
/** A key file holds at most this many keys: it is read whole on every change. */
export const MAX_KEYS = 10_000;

const isoTime = z.iso.datetime({ offset: true });

const keyEntry = z
  .object({
    id: z.string().regex(/^[0-9a-f]{12}$/, 'expected the 12 hex digits of a key id'),
    name: z.string().max(128).optional(),
    roles: z
      .array(z.enum(KEY_ROLES))
      .min(1)
      .refine((roles) => new Set(roles).size === roles.length, 'a role is listed twice'),
    models: z
      .array(z.string().regex(MODEL_PATTERN, 'expected a model name pattern (letters, digits, _ . - and *)'))
      .min(1)
      .max(64)
      .optional(),
    created: isoTime,
    expires: isoTime.optional(),
    hash: z.string().refine(isStoredHash, 'expected scrypt$N$r$p$salt$hash as berth keys writes it'),
  })
  .strict();

const keyFileSchema = z
  .object({
    version: z.literal(1),
    keys: z
      .array(keyEntry)
      .max(MAX_KEYS)
      .refine((keys) => new Set(keys.map((k) => k.id)).size === keys.length, 'a key id is listed twice'),
  })
  .strict();

export type KeyEntry = z.output<typeof keyEntry>;
export type KeyFile = z.output<typeof keyFileSchema>;

/** A key file with no key. */
export function emptyKeyFile(): KeyFile {
  return { version: 1, keys: [] };
}

/**
 * Validates key file text; `where` names it in errors.
 *
 * @example
 * const file = parseKeyFile(await readFile('keys.json', 'utf8'), 'keys.json');
 */
export function parseKeyFile(text: string, where: string): KeyFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new BerthError('BERTH_ERR_AUTH_KEY_FILE_INVALID', `${where}: not valid JSON`, { cause: error });
  }
  const result = keyFileSchema.safeParse(raw);
  if (!result.success) {
    throw new BerthError('BERTH_ERR_AUTH_KEY_FILE_INVALID', `${where}: ${formatIssues(result.error)}`);
  }
  return result.data;
}

/** Writes `file` to `path` whole (a new file renamed over the old), owner-readable only. */
export async function writeKeyFile(path: string, file: KeyFile): Promise<void> {
  const temporary = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(temporary, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}
