/** What a caller sent to authenticate, read the same way by every transport and the gateway. */
import type { Credentials } from '../protocol/index.js';

const BEARER = /^bearer +(\S+) *$/i;
/** Longer than any key or token berth accepts; what is longer is not read at all. */
const MAX_TOKEN_LENGTH = 8192;

/**
 * The token a caller sent, from `Authorization: Bearer …` or else `x-api-key` (header or gRPC
 * metadata); undefined when it sent neither, or something that is not one.
 */
export function credentialsOf(authorization: unknown, apiKey: unknown): Credentials | undefined {
  if (typeof authorization === 'string' && authorization.length <= MAX_TOKEN_LENGTH) {
    const token = BEARER.exec(authorization)?.[1];
    if (token !== undefined) return { token };
  }
  if (typeof apiKey === 'string' && apiKey.length > 0 && apiKey.length <= MAX_TOKEN_LENGTH) {
    return { token: apiKey.trim() };
  }
  return undefined;
}
