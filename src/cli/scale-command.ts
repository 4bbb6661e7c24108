/** `berth scale N`: how many replicas a running `berth up` runs. */
import { Command } from 'commander';
import { BerthError } from '../ground/index.js';
import { callControl, controlUrl } from './control-client.js';
import { helpSection } from './help-text.js';

export function scaleCommand(): Command {
  return new Command('scale')
    .summary('set how many replicas a running `berth up` runs')
    .description(
      [
        'Tell a running `berth up` to run exactly REPLICAS replicas from now on (0 to 256), with',
        'autoscaling off until `berth scale auto` hands the count back to the autoscaler (or to the',
        "spec's fixed count). New replicas join the balancer once ready; replicas to remove leave",
        'it first (not ready ones, then the newest), then drain their requests and stop.',
      ].join('\n'),
    )
    .argument('<replicas>', 'a replica count, or "auto"')
    .option('--url <url>', 'the control API (default: $BERTH_CONTROL_URL or http://127.0.0.1:8002)')
    .option('--json', 'print the answer as JSON')
    .addHelpText(
      'after',
      helpSection({
        examples: ['berth scale 3', 'berth scale 0  # every replica drains and stops', 'berth scale auto'],
      }),
    )
    .action(async (value: string, flags: { url?: string; json?: boolean }) => {
      const body = value === 'auto' ? { auto: true } : { replicas: parseReplicas(value) };
      const answer = await callControl<{ desired: number; mode: string; reason: string }>(
        controlUrl(flags.url),
        'POST',
        '/berth/v1/scale',
        body,
      );
      process.stdout.write(
        flags.json === true
          ? `${JSON.stringify(answer)}\n`
          : `berth: ${answer.desired} replica${answer.desired === 1 ? '' : 's'} desired (${answer.reason})\n`,
      );
    });
}

function parseReplicas(value: string): number {
  const replicas = /^\d{1,3}$/.test(value) ? Number(value) : NaN;
  if (!(replicas >= 0 && replicas <= 256)) {
    throw new BerthError(
      'BERTH_ERR_CLI_INVALID_OPTION',
      `<replicas>: expected an integer from 0 to 256, or "auto"; got "${value}"`,
    );
  }
  return replicas;
}
