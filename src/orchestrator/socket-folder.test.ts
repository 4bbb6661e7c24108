import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { socketFolder } from './socket-folder.js';

const made: string[] = [];
afterEach(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), 'berth-socket-folder-'));
  made.push(dir);
  return dir;
}

describe('socketFolder', () => {
  it('makes a folder only this user can enter, under the first parent', () => {
    const parent = scratch();
    const folder = socketFolder([parent]);
    expect(folder.startsWith(join(parent, 'berth-up-'))).toBe(true);
    expect(statSync(folder).mode & 0o777).toBe(0o700);
  });

  it('passes over a parent too deep for a socket path, and leaves nothing there', () => {
    const deep = join(scratch(), 'a'.repeat(40), 'b'.repeat(40));
    mkdirSync(deep, { recursive: true });
    const shallow = scratch();
    const folder = socketFolder([deep, shallow]);
    expect(folder.startsWith(shallow)).toBe(true);
    expect(readdirSync(deep)).toEqual([]);
  });

  it('refuses, naming each parent and why, rather than fall back to TCP', () => {
    const deep = join(scratch(), 'c'.repeat(80));
    mkdirSync(deep);
    const missing = join(scratch(), 'missing');
    expect(() => socketFolder([deep, missing])).toThrow(
      expect.objectContaining({
        code: 'BERTH_ERR_UP_NO_SOCKET_FOLDER',
        message: expect.stringMatching(/too long for a unix socket.*missing: ENOENT.*set TMPDIR/) as string,
      }),
    );
  });
});
