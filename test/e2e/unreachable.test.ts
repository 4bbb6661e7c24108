/** A server that is not there, through the real CLI: every command says which URL and why, alike. */
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { freePort } from '../helpers/free-port.js';

describe('an unreachable server', () => {
  it.each([
    ['models list', ['models', 'list'], 'http', 2],
    ['models list over gRPC', ['models', 'list'], 'grpc', 2],
    ['models load', ['models', 'load', 'fraud'], 'http', 2],
    ['health', ['health'], 'http', 1],
  ] as const)('%s: cannot reach URL: connect ECONNREFUSED', async (_name, args, scheme, status) => {
    const port = await freePort();
    const url = `${scheme}://127.0.0.1:${port}`;
    const result = runCli([...args, '--url', url]);
    expect(result.status).toBe(status);
    expect(result.stderr).toContain(
      `berth: cannot reach ${url}: connect ECONNREFUSED 127.0.0.1:${port} (BERTH_ERR_CLIENT_REQUEST_FAILED)\n`,
    );
  });

  it('health names a host that does not resolve', () => {
    const result = runCli(['health', '--url', 'http://nonexistent.invalid:8000']);
    expect(result.status).toBe(1);
    // ENOTFOUND, or EAI_AGAIN where the machine has no resolver at all.
    expect(result.stderr).toMatch(
      /berth: cannot reach http:\/\/nonexistent\.invalid:8000: getaddrinfo (ENOTFOUND|EAI_AGAIN) nonexistent\.invalid/,
    );
  });
});
