/**
 * Where the replicas of `berth up` put their unix sockets: a fresh folder only this user can
 * enter, so that the gateway is the one way to a replica.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BerthError } from '../ground/index.js';

/** A unix socket's path is at most 107 bytes: room for `<folder>/r123.grpc.sock`. */
const MAX_SOCKET_FOLDER = 80;

/**
 * A new folder (mode 0700) for the replicas' sockets: under TMPDIR, or /tmp when TMPDIR's path is
 * too deep for a socket path (or the first of `parents` that will do). Never loopback TCP instead: any local user could reach a replica
 * there, around the gateway's access control.
 *
 * @example
 * const dir = socketFolder(); // /tmp/berth-up-Xyz123, mode 0700
 */
export function socketFolder(parents: readonly string[] = [tmpdir(), '/tmp']): string {
  const tried: string[] = [];
  for (const parent of parents) {
    let folder: string;
    try {
      folder = mkdtempSync(join(parent, 'berth-up-'));
    } catch (error) {
      tried.push(`${parent}: ${(error as Error).message}`);
      continue;
    }
    if (folder.length < MAX_SOCKET_FOLDER) return folder;
    rmSync(folder, { recursive: true, force: true });
    tried.push(`${parent}: its path is too long for a unix socket`);
  }
  throw new BerthError(
    'BERTH_ERR_UP_NO_SOCKET_FOLDER',
    `berth up needs a folder for its replicas' unix sockets (${tried.join('; ')}); set TMPDIR to a short writable path`,
  );
}
