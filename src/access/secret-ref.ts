/**
 * berth's one secret-reference syntax: `env:NAME` (an environment variable) or `file:PATH` (a
 * file's contents; mounted Kubernetes Secrets are files). A reference is resolved here and only
 * here; errors name the reference, never what it holds.
 */
import { readFile } from 'node:fs/promises';
import { BerthError } from '../ground/index.js';

/** Secrets are small; a larger file is refused unread. */
const MAX_SECRET_BYTES = 1 << 20;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export type SecretRef =
  { readonly kind: 'env'; readonly name: string } | { readonly kind: 'file'; readonly path: string };

/**
 * A reference from its text: `env:NAME`, `file:PATH`, or (for flags that take a file) a bare path
 * when `bareIsFile`.
 */
export function parseSecretRef(text: string, bareIsFile = false): SecretRef {
  if (text.startsWith('env:')) {
    const name = text.slice(4);
    if (!ENV_NAME.test(name)) {
      throw new BerthError(
        'BERTH_ERR_SECRET_UNRESOLVED',
        `${text}: expected env:NAME with NAME an environment variable name`,
      );
    }
    return { kind: 'env', name };
  }
  if (text.startsWith('file:') && text.length > 5) return { kind: 'file', path: text.slice(5) };
  if (bareIsFile && text.length > 0 && !/^[a-z]+:/.test(text)) return { kind: 'file', path: text };
  throw new BerthError(
    'BERTH_ERR_SECRET_UNRESOLVED',
    `${text}: expected a secret reference, env:NAME or file:PATH`,
  );
}

/** How a reference reads in messages: its name or path, never its value. */
export function describeSecretRef(ref: SecretRef): string {
  return ref.kind === 'env' ? `env:${ref.name}` : `file:${ref.path}`;
}

/**
 * @example
 * const text = await resolveSecret(parseSecretRef('env:BERTH_API_KEYS'));
 */
export async function resolveSecret(ref: SecretRef, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  if (ref.kind === 'env') {
    const value = env[ref.name];
    if (value === undefined || value === '') {
      throw new BerthError(
        'BERTH_ERR_SECRET_UNRESOLVED',
        `env:${ref.name}: the environment variable is not set`,
      );
    }
    return value;
  }
  let bytes: Buffer;
  try {
    bytes = await readFile(ref.path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'an error';
    throw new BerthError('BERTH_ERR_SECRET_UNRESOLVED', `file:${ref.path}: cannot be read (${code})`, {
      cause: error,
    });
  }
  if (bytes.byteLength > MAX_SECRET_BYTES) {
    throw new BerthError(
      'BERTH_ERR_SECRET_UNRESOLVED',
      `file:${ref.path}: larger than ${MAX_SECRET_BYTES} bytes`,
    );
  }
  return bytes.toString('utf8');
}
