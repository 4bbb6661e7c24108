import { describe, expect, it } from 'vitest';
import { createApiKey } from './api-key.js';
import type { KeyEntry, KeyFile } from './key-file.js';
import { ApiKeyStore } from './key-store.js';

async function keyWith(extra: Partial<KeyEntry> = {}): Promise<{ key: string; entry: KeyEntry }> {
  const made = await createApiKey();
  return {
    key: made.key,
    entry: { id: made.id, roles: ['infer'], created: '2026-12-06T10:00:00.000Z', hash: made.hash, ...extra },
  };
}

const fileOf = (...entries: KeyEntry[]): KeyFile => ({ version: 1, keys: entries });

async function outcome(store: ApiKeyStore, token: string | undefined): Promise<string> {
  return store.authenticate(token === undefined ? undefined : { token }).then(
    (principal) => `${principal.id} ${principal.roles.join(',')} ${principal.models?.join(',') ?? '*'}`,
    (error: unknown) => `${(error as { code: string }).code}: ${(error as Error).message}`,
  );
}

describe('ApiKeyStore', () => {
  it('gives the principal of a stored key, the same when asked again', async () => {
    const a = await keyWith({ models: ['fraud-*'] });
    const store = new ApiKeyStore(fileOf(a.entry));
    const expected = `key:${a.entry.id} infer fraud-*`;
    expect(await outcome(store, a.key)).toBe(expected);
    expect(await outcome(store, a.key)).toBe(expected);
  });

  it('refuses no key, a malformed one, an unknown id and a wrong secret alike, with a 401', async () => {
    const a = await keyWith();
    const store = new ApiKeyStore(fileOf(a.entry));
    const wrongSecret = `berth_${a.entry.id}_${'A'.repeat(43)}`;
    const unknownId = `berth_ffffffffffff_${a.key.slice(-43)}`;
    expect(await outcome(store, undefined)).toMatch(/^BERTH_ERR_AUTH_UNAUTHENTICATED: no credentials/);
    for (const token of ['not-a-key', unknownId, wrongSecret, wrongSecret]) {
      expect(await outcome(store, token)).toBe(
        'BERTH_ERR_AUTH_UNAUTHENTICATED: the API key is not valid: unknown, revoked or malformed',
      );
    }
  });

  it('refuses early, without hashing, what cannot be a stored key; leaves the rest to authenticate', async () => {
    const a = await keyWith();
    const store = new ApiKeyStore(fileOf(a.entry));
    expect(store.refuseEarly(undefined)?.code).toBe('BERTH_ERR_AUTH_UNAUTHENTICATED');
    expect(store.refuseEarly({ token: 'not-a-key' })?.code).toBe('BERTH_ERR_AUTH_UNAUTHENTICATED');
    expect(store.refuseEarly({ token: `berth_ffffffffffff_${a.key.slice(-43)}` })?.code).toBe(
      'BERTH_ERR_AUTH_UNAUTHENTICATED',
    );
    expect(store.refuseEarly({ token: a.key })).toBeUndefined();
    expect(store.refuseEarly({ token: `berth_${a.entry.id}_${'A'.repeat(43)}` })).toBeUndefined();
  });

  it('refuses a key once it expires, by the injected clock', async () => {
    let now = Date.parse('2027-01-01T00:00:00.000Z') - 1;
    const a = await keyWith({ expires: '2027-01-01T00:00:00.000Z' });
    const store = new ApiKeyStore(fileOf(a.entry), () => now);
    expect(await outcome(store, a.key)).toMatch(/^key:/);
    now += 1;
    expect(await outcome(store, a.key)).toBe(
      `BERTH_ERR_AUTH_UNAUTHENTICATED: the API key ${a.entry.id} expired at 2027-01-01T00:00:00.000Z`,
    );
  });

  it('forgets a revoked key and takes a new one when the file is replaced', async () => {
    const [a, b] = await Promise.all([keyWith(), keyWith({ roles: ['admin'] })]);
    const store = new ApiKeyStore(fileOf(a.entry));
    expect(await outcome(store, a.key)).toMatch(/^key:/);
    store.replace(fileOf(b.entry));
    expect(await outcome(store, a.key)).toMatch(/not valid/);
    expect(await outcome(store, b.key)).toBe(`key:${b.entry.id} admin *`);
    expect(store.size).toBe(1);
  });

  it('answers concurrent first uses of one key alike, and a replace while hashing by the new keys', async () => {
    const a = await keyWith();
    const store = new ApiKeyStore(fileOf(a.entry));
    const all = Array.from({ length: 8 }, () => outcome(store, a.key));
    expect(new Set(await Promise.all(all))).toEqual(new Set([`key:${a.entry.id} infer *`]));
    const fresh = new ApiKeyStore(fileOf(a.entry));
    const during = outcome(fresh, a.key);
    fresh.replace(fileOf({ ...a.entry, roles: ['read'] }));
    expect(await during).toBe(`key:${a.entry.id} read *`);
  });
});
