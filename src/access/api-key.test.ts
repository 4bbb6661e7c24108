import { describe, expect, it } from 'vitest';
import { createApiKey, isStoredHash, parseApiKey, verifySecret } from './api-key.js';

describe('API keys', () => {
  it('are made of an id and a secret, and only the secret hashes to the stored hash', async () => {
    const made = await createApiKey();
    expect(made.key).toMatch(/^berth_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    const parsed = parseApiKey(made.key);
    expect(parsed?.id).toBe(made.id);
    expect(made.hash).not.toContain(parsed?.secret);
    expect(isStoredHash(made.hash)).toBe(true);
    expect(await verifySecret(parsed?.secret ?? '', made.hash)).toBe(true);
    const other = `${(parsed?.secret ?? '').slice(0, -1)}${parsed?.secret.endsWith('A') ? 'B' : 'A'}`;
    expect(await verifySecret(other, made.hash)).toBe(false);
  });

  it('are salted: two keys never share a hash, and each is random', async () => {
    const [a, b] = await Promise.all([createApiKey(), createApiKey()]);
    expect(a.id).not.toBe(b.id);
    expect(a.key).not.toBe(b.key);
    expect(a.hash.split('$')[4]).not.toBe(b.hash.split('$')[4]);
  });

  it('refuses what is not a key, without throwing', () => {
    for (const text of [
      '',
      'berth_',
      'berth_0123456789ab_short',
      'Bearer x',
      `berth_0123456789AB_${'a'.repeat(43)}`,
    ]) {
      expect(parseApiKey(text)).toBeUndefined();
    }
  });

  it('checks only hashes with bounded costs, so a key file cannot make a check take gigabytes', async () => {
    expect(isStoredHash('scrypt$16384$8$1$c2FsdA$aGFzaA')).toBe(true);
    expect(isStoredHash('scrypt$4194304$8$1$c2FsdA$aGFzaA')).toBe(false); // N past 2^20
    expect(isStoredHash('scrypt$1000$8$1$c2FsdA$aGFzaA')).toBe(false); // N not a power of two
    expect(isStoredHash('scrypt$16384$64$1$c2FsdA$aGFzaA')).toBe(false);
    expect(isStoredHash('bcrypt$...')).toBe(false);
    expect(await verifySecret('x', 'scrypt$4194304$8$1$c2FsdA$aGFzaA')).toBe(false);
  });
});
