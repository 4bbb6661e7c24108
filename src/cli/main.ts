#!/usr/bin/env node
/** The `berth` command line: argument parsing and output only; the work happens in the modules. */
import { Command, CommanderError } from 'commander';
import { isBerthError } from '../protocol/index.js';
import { buildCommand } from './build-command.js';
import { healthCommand } from './health-command.js';
import { inspectCommand } from './inspect-command.js';
import { modelsCommand } from './models-command.js';
import { renderCommand } from './render-command.js';
import { serveCommand } from './serve-command.js';
import { VERSION } from './version.js';

// Output piped into a reader that stops early (`berth build --help | head`) is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

const program = new Command('berth')
  .description('Ship machine-learning models as fast, small, secure services.')
  .version(VERSION, '-V, --version', 'print the berth version')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();
// Sub-commands built elsewhere do not inherit settings, so apply them to each.
for (const command of [
  serveCommand(),
  buildCommand(),
  renderCommand(),
  inspectCommand(),
  modelsCommand(),
  healthCommand(),
]) {
  program.addCommand(command.showHelpAfterError('(run with --help for usage)').exitOverride());
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
