/** Temporary folders for one test file, removed after its last test. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

/**
 * Call at a test file's top level; each call of the returned function makes a fresh folder.
 *
 * @example
 * const tempDir = tempDirsForFile('berth-e2e-');
 * const repo = tempDir();
 */
export function tempDirsForFile(prefix: string): () => string {
  const made: string[] = [];
  afterAll(() => {
    for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  return () => {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    made.push(dir);
    return dir;
  };
}
