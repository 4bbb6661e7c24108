/**
 * `berth health`: exits 0 when a server is ready, 1 when it is not. The health check of berth's
 * images runs it (a distroless image has no curl), and scripts can wait on it.
 */
import { Command } from 'commander';
import { parseDuration } from './option-parsers.js';

export function healthCommand(): Command {
  return new Command('health')
    .summary('exit 0 when a server is ready, 1 when not (for health checks)')
    .description(
      'Ask a server GET /v2/health/ready (or /live with --live) and exit 0 on 200, 1 otherwise.\n' +
        "berth's container images use it as their HEALTHCHECK.",
    )
    .option('--url <url>', 'server to ask', 'http://127.0.0.1:8000')
    .option('--live', 'ask for liveness instead of readiness')
    .option('--timeout <duration>', 'longest wait for the answer', '3s')
    .addHelpText('after', '\nExamples:\n  berth health\n  berth health --url http://10.0.0.5:8000 --live')
    .action(async (flags: { url: string; live?: boolean; timeout: string }) => {
      const path = flags.live === true ? '/v2/health/live' : '/v2/health/ready';
      const url = flags.url.replace(/\/+$/, '') + path;
      const timeoutMs = parseDuration('--timeout', flags.timeout);
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
        await response.arrayBuffer();
        process.stdout.write(`${url}: ${response.status}\n`);
        process.exitCode = response.status === 200 ? 0 : 1;
      } catch (error) {
        // The client's wording, as `berth models` and berth-ml/client say it; its own file, so
        // that a health check loads neither client.
        const { unreachable } = await import('../client/unreachable.js');
        const failure = unreachable(flags.url.replace(/\/+$/, ''), error, timeoutMs);
        process.stderr.write(`berth: ${failure.message} (${failure.code})\n`);
        // Not 2: Docker reserves a health check's status 2.
        process.exitCode = 1;
      }
    });
}
