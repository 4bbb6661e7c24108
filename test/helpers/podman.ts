/**
 * podman for tests that run berth images: the flags this environment needs (docs/architecture.md), a
 * command runner that fails loudly, and a wait for the container's server to be ready.
 */
import { spawnSync } from 'node:child_process';
import { createClient, type OipClient } from '../../src/client/index.js';

export const RUN_FLAGS = ['--runtime', 'runc', '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=4096:4096'];

/** Runs podman; its trimmed standard output, or an error with its standard error. */
export function podman(args: string[], timeoutMs = 120_000): string {
  const result = spawnSync('podman', args, { encoding: 'utf8', timeout: timeoutMs });
  if (result.status !== 0)
    throw new Error(`podman ${args.join(' ')} failed (${result.status}): ${result.stderr}`);
  return result.stdout.trim();
}

/** A client of the container's REST port once its server is ready (its logs in the error if not). */
export async function readyClient(container: string, port: number, timeoutMs = 60_000): Promise<OipClient> {
  const client = createClient({ url: `http://127.0.0.1:${port}`, timeoutMs: 2000 });
  const deadline = Date.now() + timeoutMs;
  while (!(await client.ready().catch(() => false))) {
    if (Date.now() > deadline) {
      throw new Error(`not ready: ${spawnSync('podman', ['logs', container], { encoding: 'utf8' }).stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return client;
}
