/** Temporary folders for one test file, removed after its last test. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

/**
 * Call at a test file's top level; each call of the returned function makes a fresh folder, named
 * after `prefix` or after the prefix given to that call (so that what is left can be told apart),
 * and every one is removed after the file's last test, whether the tests passed or not.
 *
 * @example
 * const tempDir = tempDirsForFile('berth-e2e-');
 * const repo = tempDir();
 * const out = tempDir('berth-out-');
 */
export function tempDirsForFile(prefix: string): (prefixOfThisOne?: string) => string {
  const made: string[] = [];
  afterAll(() => {
    for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  return (prefixOfThisOne = prefix) => {
    const dir = mkdtempSync(join(tmpdir(), prefixOfThisOne));
    made.push(dir);
    return dir;
  };
}
