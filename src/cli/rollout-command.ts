/** `berth rollout start|status|promote|abort|undo`: a new model revision for a running `berth up`. */
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import type { DeploymentStatus } from '../orchestrator/index.js';
import { callControl, controlUrl } from './control-client.js';
import { helpSection } from './help-text.js';
import { formatRollout } from './status-command.js';

const STRATEGIES = ['rolling', 'canary', 'shadow'] as const;

interface Flags {
  url?: string;
  json?: boolean;
}

function withControl(command: Command): Command {
  return command
    .option('--url <url>', 'the control API (default: $BERTH_CONTROL_URL or http://127.0.0.1:8002)')
    .option('--json', 'print the answer as JSON');
}

function print(answer: Record<string, unknown> | undefined, flags: Flags): void {
  if (flags.json === true) process.stdout.write(`${JSON.stringify(answer ?? null, null, 2)}\n`);
  else process.stdout.write(answer === undefined ? 'berth: no rollout yet\n' : `${formatRollout(answer)}\n`);
}

async function act(action: 'promote' | 'abort' | 'undo', flags: Flags): Promise<void> {
  print(await callControl(controlUrl(flags.url), 'POST', '/berth/v1/rollout', { action }), flags);
}

export function rolloutCommand(): Command {
  const rollout = new Command('rollout')
    .summary('take a new model revision to a running `berth up`: rolling, canary or shadow')
    .description(
      [
        'Take a running `berth up` to a new revision: what its replicas serve (.onnx files or a',
        "model repository), by the spec's rollout strategy or --strategy:",
        '',
        '  rolling  one replica at a time: a new one starts, and once it is ready an old one drains',
        "  canary   one candidate replica answers the steps' share of traffic (rollout.steps)",
        '  shadow   the candidate gets a copy of that share; its answers are only compared',
        '',
        'At every rollout.interval a canary or shadow is judged against the stable version on error',
        "rate, p99 and, with rollout.analysis.agreement, whether the two versions' answers agree",
        '(same argmax, or within tolerance): a pass moves to the next step, the last promotes, and',
        'rollout.failAfter failed checks in a row roll back on their own. A canaried inference that',
        'fails with a server error is answered by the stable version instead. The header',
        '`x-berth-track: canary` pins a request to the candidate.',
      ].join('\n'),
    )
    .addHelpText(
      'after',
      helpSection({
        examples: [
          'berth rollout start ./models-v2 --strategy canary',
          'berth rollout status',
          'berth rollout promote  # skip the remaining steps',
          'berth rollout abort    # back to the stable revision',
          'berth rollout undo     # after a promotion: a rolling update back to the revision before',
        ],
      }),
    );
  rollout.addCommand(
    withControl(new Command('start'))
      .summary('start a rollout to a new revision')
      .argument('<models...>', '.onnx files and/or model repository folders the new revision serves')
      .addOption(
        new Option('--strategy <strategy>', "how (default: the spec's rollout.strategy)").choices(STRATEGIES),
      )
      .action(async (models: string[], flags: Flags & { strategy?: (typeof STRATEGIES)[number] }) => {
        const body = {
          action: 'start',
          models: models.map((m) => resolve(m)),
          ...(flags.strategy === undefined ? {} : { strategy: flags.strategy }),
        };
        print(await callControl(controlUrl(flags.url), 'POST', '/berth/v1/rollout', body), flags);
      }),
  );
  rollout.addCommand(
    withControl(new Command('status'))
      .summary('the rollout in progress, or the last one')
      .action(async (flags: Flags) => {
        const status = await callControl<DeploymentStatus>(controlUrl(flags.url), 'GET', '/berth/v1/status');
        print(status.rollout, flags);
      }),
  );
  rollout.addCommand(
    withControl(new Command('promote'))
      .summary('give the candidate all traffic now')
      .action((flags: Flags) => act('promote', flags)),
  );
  rollout.addCommand(
    withControl(new Command('abort'))
      .summary('roll back to the stable revision now')
      .action((flags: Flags) => act('abort', flags)),
  );
  rollout.addCommand(
    withControl(new Command('undo'))
      .summary('a rolling update back to the revision before the last one')
      .action((flags: Flags) => act('undo', flags)),
  );
  return rollout;
}
