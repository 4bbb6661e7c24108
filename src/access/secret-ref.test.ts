import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDirsForFile } from '../../test/helpers/temp-dir.js';
import { parseSecretRef, resolveSecret } from './secret-ref.js';

const tempDir = tempDirsForFile('berth-secret-ref-');

async function failure(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => 'resolved',
    (error: unknown) => `${(error as { code?: string }).code ?? ''}: ${(error as Error).message}`,
  );
}

describe('secret references', () => {
  it('read an environment variable or a file', async () => {
    const path = join(tempDir(), 'secret');
    writeFileSync(path, 'from-file');
    expect(await resolveSecret(parseSecretRef('env:TOKEN'), { TOKEN: 'from-env' })).toBe('from-env');
    expect(await resolveSecret(parseSecretRef(`file:${path}`))).toBe('from-file');
    expect(await resolveSecret(parseSecretRef(path, true))).toBe('from-file');
  });

  it('name the reference and never the secret when they fail', async () => {
    expect(await failure(resolveSecret(parseSecretRef('env:UNSET_ONE'), {}))).toBe(
      'BERTH_ERR_SECRET_UNRESOLVED: env:UNSET_ONE: the environment variable is not set',
    );
    expect(await failure(resolveSecret(parseSecretRef('file:/nonexistent/berth/secret')))).toBe(
      'BERTH_ERR_SECRET_UNRESOLVED: file:/nonexistent/berth/secret: cannot be read (ENOENT)',
    );
    expect(() => parseSecretRef('env:1BAD')).toThrow(/expected env:NAME/);
    expect(() => parseSecretRef('vault:kv/berth')).toThrow(/expected a secret reference/);
    expect(() => parseSecretRef('keys.json')).toThrow(/expected a secret reference/);
  });
});
