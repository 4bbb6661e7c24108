/** Every command's --help, piped (as into a pager or a file): 80 columns, and nothing cut off. */
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

const COMMANDS = [
  [],
  ['serve'],
  ['build'],
  ['inspect'],
  ['health'],
  ['models'],
  ['bench'],
  ['models', 'list'],
  ['models', 'load'],
  ['render'],
  ['render', 'dockerfile'],
  ['render', 'compose'],
  ['schema'],
  ['init'],
  ['up'],
  ['status'],
  ['scale'],
  ['rollout'],
  ['rollout', 'start'],
];

describe('berth --help', () => {
  it.each(COMMANDS.map((c) => [c.join(' ') || '(none)', c]))(
    '%s fits in 80 columns when piped',
    (_, command) => {
      const help = runCli([...command, '--help']);
      expect(help.status).toBe(0);
      const long = help.stdout.split('\n').filter((line) => line.length > 80);
      expect(long).toEqual([]);
    },
  );

  it('says that serve takes Triton repositories with config.pbtxt', () => {
    expect(runCli(['serve', '--help']).stdout).toContain('config.pbtxt');
  });
});
