import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDirsForFile } from '../../test/helpers/temp-dir.js';
import { parseKeyFile, writeKeyFile, type KeyFile } from './key-file.js';

const tempDir = tempDirsForFile('berth-key-file-');
const HASH = 'scrypt$16384$8$1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g';
const entry = { id: '0123456789ab', roles: ['infer'], created: '2026-12-06T10:00:00.000Z', hash: HASH };

function invalid(value: unknown): string {
  try {
    parseKeyFile(JSON.stringify(value), 'keys.json');
  } catch (error) {
    return `${(error as { code: string }).code}: ${(error as Error).message}`;
  }
  return 'valid';
}

describe('the key file', () => {
  it('reads what berth keys writes', async () => {
    const file: KeyFile = {
      version: 1,
      keys: [
        {
          ...entry,
          roles: ['infer', 'read'],
          models: ['fraud-*'],
          name: 'app',
          expires: '2027-01-01T00:00:00.000Z',
        },
      ],
    };
    const path = join(tempDir(), 'keys.json');
    await writeKeyFile(path, file);
    expect(parseKeyFile(readFileSync(path, 'utf8'), path)).toEqual(file);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('refuses a malformed file with an error naming the field', () => {
    expect(invalid({ version: 1, keys: [{ ...entry, roles: ['root'] }] })).toMatch(
      /^BERTH_ERR_AUTH_KEY_FILE_INVALID: keys.json: keys.0.roles.0: /,
    );
    expect(invalid({ version: 1, keys: [{ ...entry, roles: [] }] })).toMatch(/keys.0.roles: /);
    expect(invalid({ version: 1, keys: [{ ...entry, hash: 'plain-text-key' }] })).toMatch(
      /keys.0.hash: expected scrypt/,
    );
    expect(invalid({ version: 1, keys: [entry, entry] })).toMatch(/a key id is listed twice/);
    expect(invalid({ version: 1, keys: [{ ...entry, key: 'berth_x' }] })).toMatch(/keys.0: .*key/);
    expect(invalid({ version: 1, keys: [{ ...entry, models: ['fraud/*'] }] })).toMatch(/keys.0.models.0: /);
    expect(invalid({ version: 2, keys: [] })).toMatch(/version: /);
    expect(invalid({ version: 1, keys: [{ ...entry, expires: 'tomorrow' }] })).toMatch(/keys.0.expires: /);
  });

  it('says "not valid JSON" without echoing the text, which may hold a secret', () => {
    let message = '';
    try {
      parseKeyFile('berth_0123456789ab_secretsecret', 'env:KEYS');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toBe('env:KEYS: not valid JSON');
  });
});
