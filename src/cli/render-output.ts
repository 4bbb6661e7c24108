/** Writing what `berth render` makes, and saying what was written (text, or JSON for scripts). */
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BerthError } from '../ground/index.js';

export interface OutputFlags {
  output: string;
  force?: boolean;
  json?: boolean;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** Writes the files, refusing to replace any of them without --force (checked before writing). */
export async function writeOutputFiles(
  flags: OutputFlags,
  files: Readonly<Record<string, string>>,
): Promise<string[]> {
  const paths = Object.keys(files).map((name) => join(flags.output, name));
  if (flags.force !== true) {
    for (const path of paths) {
      if (await exists(path))
        throw new BerthError(
          'BERTH_ERR_CLI_INVALID_OPTION',
          `--output: ${path} exists; pass --force to replace it`,
        );
    }
  }
  await mkdir(flags.output, { recursive: true });
  for (const [name, text] of Object.entries(files)) await writeFile(join(flags.output, name), text);
  return paths;
}

/** Warnings on stderr; then the files and next steps, or one JSON document with `json`'s fields. */
export function reportWritten(
  flags: OutputFlags,
  written: readonly string[],
  warnings: readonly string[],
  next: string[],
  json: object,
): void {
  for (const warning of warnings) process.stderr.write(`berth: warning: ${warning}\n`);
  if (flags.json === true) {
    process.stdout.write(JSON.stringify({ files: written, ...json, warnings }, null, 2) + '\n');
    return;
  }
  process.stdout.write(
    written.map((path) => `wrote ${path}\n`).join('') + next.map((l) => `  ${l}\n`).join(''),
  );
}
