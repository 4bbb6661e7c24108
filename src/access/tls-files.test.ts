import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeCa, makeCert } from '../../test/helpers/certs.js';
import { tempDirsForFile } from '../../test/helpers/temp-dir.js';
import { createLogger } from '../observability/index.js';
import { readTlsMaterial, TlsFiles, type TlsMaterial } from './tls-files.js';

const tempDir = tempDirsForFile('berth-tls-files-');
const logger = createLogger({ level: 'silent', format: 'json' });
const opened: TlsFiles[] = [];
afterEach(() => {
  for (const files of opened.splice(0)) files.close();
});

function setUp() {
  const dir = tempDir();
  const ca = makeCa(dir);
  const first = makeCert(dir, ca, 'first', 'server');
  const second = makeCert(dir, ca, 'second', 'server');
  const paths = { certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') };
  copyFileSync(first.cert, paths.certFile);
  copyFileSync(first.key, paths.keyFile);
  return { dir, ca, first, second, paths };
}

describe('TlsFiles', () => {
  it('takes a changed pair once it matches, and keeps the one in force meanwhile', async () => {
    const { second, paths } = setUp();
    const files = await TlsFiles.open(paths, logger);
    opened.push(files);
    const seen: TlsMaterial[] = [];
    files.onChange((material) => seen.push(material));
    const before = files.current;

    copyFileSync(second.cert, paths.certFile); // the key does not match it yet
    await files.reload();
    expect(files.current).toBe(before);
    expect(seen).toHaveLength(0);

    copyFileSync(second.key, paths.keyFile);
    await files.reload();
    expect(files.current.cert.toString()).toContain('BEGIN CERTIFICATE');
    expect(files.current.cert.equals(before.cert)).toBe(false);
    expect(seen).toHaveLength(1);

    await files.reload(); // nothing changed: no one is told
    expect(seen).toHaveLength(1);
  });

  it('refuses at start what is not a usable pair, naming the files and not their bytes', async () => {
    const { dir, second, paths } = setUp();
    const failure = (promise: Promise<unknown>) =>
      promise.then(
        () => 'opened',
        (error: unknown) => `${(error as { code: string }).code}: ${(error as Error).message}`,
      );
    expect(await failure(readTlsMaterial({ ...paths, keyFile: second.key }))).toMatch(
      /^BERTH_ERR_TLS_INVALID: .*tls\.crt and .*second\.key: not a usable certificate and key/,
    );
    writeFileSync(join(dir, 'junk.pem'), 'not pem at all');
    expect(await failure(readTlsMaterial({ ...paths, certFile: join(dir, 'junk.pem') }))).toMatch(
      /BERTH_ERR_TLS_INVALID/,
    );
    expect(await failure(readTlsMaterial({ ...paths, clientCaFile: join(dir, 'missing.pem') }))).toBe(
      `BERTH_ERR_TLS_INVALID: --tls-client-ca ${join(dir, 'missing.pem')}: cannot be read (ENOENT)`,
    );
    const message = await failure(readTlsMaterial({ ...paths, keyFile: second.key }));
    expect(message).not.toContain('PRIVATE KEY');
  });
});
