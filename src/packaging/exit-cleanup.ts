/**
 * Files and folders that must not outlive the process: a build's scratch folder and the
 * half-written outputs beside their final names. Each is removed by its owner when the work ends
 * normally; if the process exits first (process.exit on a broken pipe, a signal the CLI turns into
 * an exit), the 'exit' hook removes whatever is still registered, synchronously, since nothing
 * asynchronous runs after 'exit'. A SIGKILL cannot be caught: what it leaves carries a `.berth-`
 * temporary name that no reader mistakes for an output.
 */
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

const pending = new Set<string>();
let hooked = false;

function removeAll(): void {
  for (const path of pending) rmSync(path, { recursive: true, force: true });
  pending.clear();
}

/**
 * Registers a path for removal at exit; the returned function unregisters it (call it once the
 * path is renamed into place or removed).
 *
 * @example
 * const forget = removeOnExit(temp);
 * await rename(temp, final);
 * forget();
 */
export function removeOnExit(path: string): () => void {
  if (!hooked) {
    process.on('exit', removeAll);
    hooked = true;
  }
  pending.add(path);
  return () => {
    pending.delete(path);
  };
}

/** A name beside `path` for its half-written self: hidden, and marked as berth's. */
export function siblingTemp(path: string): string {
  return join(dirname(path), `.${basename(path)}.berth-${randomUUID().slice(0, 8)}.tmp`);
}

/**
 * Writes `path` whole or not at all: `write` fills a temporary sibling (a file or a folder), which
 * is renamed onto `path` when it is done and removed when it fails or the process exits first.
 *
 * @example
 * await writeWhole('image.tar', (temp) => writeArchive('oci-archive', temp, content));
 */
export async function writeWhole<T>(path: string, write: (temp: string) => Promise<T>): Promise<T> {
  const temp = siblingTemp(path);
  const forget = removeOnExit(temp);
  try {
    const result = await write(temp);
    await rename(temp, path);
    return result;
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  } finally {
    forget();
  }
}
