/** `berth schema`: the JSON Schema of berth.yaml, for editors and CI checks. */
import { writeFile } from 'node:fs/promises';
import { Command } from 'commander';

export function schemaCommand(): Command {
  return new Command('schema')
    .summary('print the JSON Schema of berth.yaml')
    .description(
      'Print the JSON Schema (draft 2020-12) of berth.yaml, made from the same definitions that\n' +
        'validate it: defaults, allowed values and descriptions included. Point an editor at it\n' +
        '(for example with a "# yaml-language-server: $schema=berth.schema.json" first line) to get\n' +
        'completion and errors while writing the spec.',
    )
    .option('-o, --output <file>', 'write it to this file instead of standard output')
    .addHelpText(
      'after',
      '\nExamples:\n  berth schema > berth.schema.json\n  berth schema -o .vscode/berth.schema.json',
    )
    .action(async (flags: { output?: string }) => {
      const { specJsonSchema } = await import('../spec/index.js');
      const text = JSON.stringify(specJsonSchema(), null, 2) + '\n';
      if (flags.output === undefined) process.stdout.write(text);
      else {
        await writeFile(flags.output, text);
        process.stderr.write(`berth: wrote the berth.yaml schema to ${flags.output}\n`);
      }
    });
}
