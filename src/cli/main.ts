#!/usr/bin/env node
/** The `berth` command line: argument parsing and output only; the work happens in the modules. */
import { Command, CommanderError } from 'commander';
import { isBerthError } from '../ground/index.js';
import { benchCommand } from './bench-command.js';
import { buildCommand } from './build-command.js';
import { deployCommand, rollbackCommand } from './deploy-command.js';
import { gatewayCommand } from './gateway-command.js';
import { healthCommand } from './health-command.js';
import { initCommand } from './init-command.js';
import { keysCommand } from './keys-command.js';
import { inspectCommand } from './inspect-command.js';
import { modelsCommand } from './models-command.js';
import { renderCommand } from './render-command.js';
import { rolloutCommand } from './rollout-command.js';
import { scaleCommand } from './scale-command.js';
import { schemaCommand } from './schema-command.js';
import { serveCommand } from './serve-command.js';
import { statusCommand } from './status-command.js';
import { upCommand } from './up-command.js';
import { VERSION } from './version.js';

/** The exit status of a process killed by SIGPIPE, as a shell reports it (128 + 13). */
const BROKEN_PIPE_STATUS = 141;

// Output piped into a reader that stops early (`berth build 2>&1 | head -1`) ends the command at
// once, quietly and with a failing status, as SIGPIPE ends a Unix tool; what it was writing is
// removed by the exit hooks (src/packaging/exit-cleanup.ts).
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(BROKEN_PIPE_STATUS);
    throw error;
  });
}

/** Usage errors in berth's own format: `berth: <message> (<code>)`, then where to find help. */
function usageErrors(command: Command, path: string): Command {
  return command
    .configureOutput({
      outputError: (message, write) => {
        // commander's own hint (`(Did you mean list?)`) stays on the lines after the first.
        const [first, ...rest] = message
          .replace(/^error: /, '')
          .trimEnd()
          .split('\n');
        write(`berth: ${first ?? ''} (BERTH_ERR_CLI_USAGE)\n${rest.map((line) => `${line}\n`).join('')}`);
      },
    })
    .showHelpAfterError(`(run ${path} --help for usage)`)
    .exitOverride();
}

const program = usageErrors(
  new Command('berth')
    .description('Ship machine-learning models as fast, small, secure services.')
    .version(VERSION, '-V, --version', 'print the berth version'),
  'berth',
);
// Sub-commands built elsewhere do not inherit settings, so apply them to each, and theirs.
const withUsageErrors = (command: Command, path: string): Command => {
  for (const sub of command.commands) withUsageErrors(sub, `${path} ${sub.name()}`);
  return usageErrors(command, path);
};
for (const command of [
  serveCommand(),
  upCommand(),
  gatewayCommand(),
  statusCommand(),
  scaleCommand(),
  rolloutCommand(),
  buildCommand(),
  renderCommand(),
  deployCommand(),
  rollbackCommand(),
  inspectCommand(),
  modelsCommand(),
  healthCommand(),
  benchCommand(),
  schemaCommand(),
  initCommand(),
  keysCommand(),
]) {
  program.addCommand(withUsageErrors(command, `berth ${command.name()}`));
}

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    process.exitCode = error.exitCode === 0 ? 0 : 2;
  } else if (isBerthError(error)) {
    process.stderr.write(`berth: ${error.message} (${error.code})\n`);
    process.exitCode = error.category === 'INTERNAL' ? 1 : 2;
  } else {
    process.stderr.write(
      `berth: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  }
}
