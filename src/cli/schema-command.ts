/** `berth schema`: the JSON Schema of berth.yaml, for editors and CI checks, or its Markdown reference. */
import { writeFile } from 'node:fs/promises';
import { Command } from 'commander';

export function schemaCommand(): Command {
  return new Command('schema')
    .summary('print the JSON Schema of berth.yaml')
    .description(
      'Print the JSON Schema (draft 2020-12) of berth.yaml, made from the same definitions that ' +
        'validate it: defaults, allowed values and descriptions included. Point an editor at it ' +
        '(for example with a "# yaml-language-server: $schema=berth.schema.json" first line) to get ' +
        'completion and errors while writing the spec. With --markdown, print instead the reference ' +
        'tables of docs/spec.md: a row per key, with its type, default, allowed values and description.',
    )
    .option('-o, --output <file>', 'write it to this file instead of standard output')
    .option('--markdown', 'print the reference tables (Markdown) instead of the JSON Schema')
    .addHelpText(
      'after',
      '\nExamples:\n  berth schema > berth.schema.json\n  berth schema -o .vscode/berth.schema.json\n' +
        '  berth schema --markdown > berth-reference.md',
    )
    .action(async (flags: { output?: string; markdown?: boolean }) => {
      const { renderSchemaReference, specJsonSchema } = await import('../spec/index.js');
      const schema = specJsonSchema();
      const text =
        flags.markdown === true ? renderSchemaReference(schema) : JSON.stringify(schema, null, 2) + '\n';
      if (flags.output === undefined) process.stdout.write(text);
      else {
        await writeFile(flags.output, text);
        const what = flags.markdown === true ? 'reference' : 'schema';
        process.stderr.write(`berth: wrote the berth.yaml ${what} to ${flags.output}\n`);
      }
    });
}
