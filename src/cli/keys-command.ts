/** `berth keys create|list|revoke`: the API keys a server takes with `--api-keys`. */
import { readFile } from 'node:fs/promises';
import { Command } from 'commander';
import { BerthError } from '../ground/index.js';
import type { KeyEntry, KeyFile } from '../access/index.js';
import { helpSection, prose } from './help-text.js';
import { table } from './table.js';

const DEFAULT_FILE = 'berth-keys.json';
const ROLE_NAMES = ['infer', 'read', 'admin', 'metrics'] as const;
const EXPIRES = /^(\d{1,5})(h|d)$/;
const collect = (value: string, previous: string[]) => [...previous, value];

/** The key file at `path`; an empty one when there is none yet and `missingIsEmpty`. */
async function readKeys(path: string, missingIsEmpty: boolean): Promise<KeyFile> {
  const { emptyKeyFile, parseKeyFile } = await import('../access/index.js');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && missingIsEmpty) return emptyKeyFile();
    throw new BerthError(
      'BERTH_ERR_AUTH_KEY_FILE_INVALID',
      `${path}: cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`,
      { cause: error },
    );
  }
  return parseKeyFile(text, path);
}

/** When a key given `--expires` ends: a duration in hours or days from now, or a date. */
export function expiryOf(value: string, now: number): string {
  const match = EXPIRES.exec(value);
  const at =
    match === null ? Date.parse(value) : now + Number(match[1]) * (match[2] === 'd' ? 86_400_000 : 3_600_000);
  if (!Number.isFinite(at) || (match === null && !/^\d{4}-\d{2}-\d{2}/.test(value))) {
    throw new BerthError(
      'BERTH_ERR_CLI_INVALID_OPTION',
      `--expires: expected hours or days from now (12h, 90d) or a date (2027-03-01); got "${value}"`,
    );
  }
  if (at <= now)
    throw new BerthError('BERTH_ERR_CLI_INVALID_OPTION', `--expires: ${value} is not in the future`);
  return new Date(at).toISOString();
}

/** An entry as shown: everything but its hash. */
function withoutHash(entry: KeyEntry): Omit<KeyEntry, 'hash'> {
  const shown: Partial<KeyEntry> = { ...entry };
  delete shown.hash;
  return shown as Omit<KeyEntry, 'hash'>;
}

function describe(entry: KeyEntry, now: number): string[] {
  const expired = entry.expires !== undefined && Date.parse(entry.expires) <= now;
  return [
    entry.id,
    entry.name ?? '',
    entry.roles.join(','),
    entry.models?.join(',') ?? '*',
    entry.created.slice(0, 19).replace('T', ' '),
    entry.expires === undefined
      ? 'never'
      : `${entry.expires.slice(0, 19).replace('T', ' ')}${expired ? ' (expired)' : ''}`,
  ];
}

interface CreateFlags {
  role: string[];
  models: string[];
  expires?: string;
  name?: string;
  file: string;
  json?: boolean;
}

function createCommand(): Command {
  return new Command('create')
    .summary('make an API key, print it once, store its hash')
    .description(
      prose([
        'Make a new API key with the roles given, print it once on standard output, and add its',
        'scrypt hash (never the key) to the key file, which is created owner-readable (0600) if it',
        'is not there. A server started with --api-keys on that file takes the new key within a',
        'second, without a restart.',
        '',
        'Roles: infer (inference), read (metadata, config, statistics, repository index), admin',
        '(repository load and unload), metrics (GET /metrics). --models limits every role of the',
        'key to models whose names match one of the patterns (* matches any run of characters).',
      ]),
    )
    .requiredOption('--role <role>', `a role: ${ROLE_NAMES.join(', ')} (repeatable)`, collect, [] as string[])
    .option(
      '--models <pattern>',
      'limit the key to models matching this pattern (repeatable)',
      collect,
      [] as string[],
    )
    .option('--expires <when>', 'hours or days from now (12h, 90d) or a date (2027-03-01); default: never')
    .option('--name <name>', 'a label for `berth keys list`, such as the application that uses the key')
    .option('--file <path>', 'the key file', DEFAULT_FILE)
    .option('--json', 'print the key and its entry as JSON')
    .addHelpText(
      'after',
      helpSection({
        examples: [
          'berth keys create --role infer --models "fraud-*" --expires 90d --name fraud-app',
          'KEY=$(berth keys create --role infer --role read)',
          'curl -H "Authorization: Bearer $KEY" localhost:8000/v2/models/iris',
        ],
      }),
    )
    .action(async (flags: CreateFlags) => {
      const { createApiKey, KEY_ROLES, MAX_KEYS, MODEL_PATTERN, writeKeyFile } =
        await import('../access/index.js');
      const roles = [...new Set(flags.role)];
      for (const role of roles) {
        if (!(KEY_ROLES as readonly string[]).includes(role)) {
          throw new BerthError(
            'BERTH_ERR_CLI_INVALID_OPTION',
            `--role: expected one of ${KEY_ROLES.join(', ')}; got "${role}"`,
          );
        }
      }
      for (const pattern of flags.models) {
        if (!MODEL_PATTERN.test(pattern)) {
          throw new BerthError(
            'BERTH_ERR_CLI_INVALID_OPTION',
            `--models: expected a model name pattern (letters, digits, _ . - and *); got "${pattern}"`,
          );
        }
      }
      if (flags.name !== undefined && flags.name.length > 128) {
        throw new BerthError('BERTH_ERR_CLI_INVALID_OPTION', '--name: at most 128 characters');
      }
      const now = Date.now();
      const expires = flags.expires === undefined ? undefined : expiryOf(flags.expires, now);
      const file = await readKeys(flags.file, true);
      if (file.keys.length >= MAX_KEYS) {
        throw new BerthError(
          'BERTH_ERR_AUTH_KEY_FILE_INVALID',
          `${flags.file}: already holds ${MAX_KEYS} keys, the most a file may`,
        );
      }
      const made = await createApiKey();
      const entry: KeyEntry = {
        id: made.id,
        ...(flags.name === undefined ? {} : { name: flags.name }),
        roles: roles as KeyEntry['roles'],
        ...(flags.models.length === 0 ? {} : { models: [...new Set(flags.models)] }),
        created: new Date(now).toISOString(),
        ...(expires === undefined ? {} : { expires }),
        hash: made.hash,
      };
      await writeKeyFile(flags.file, { version: 1, keys: [...file.keys, entry] });
      if (flags.json === true) {
        process.stdout.write(
          `${JSON.stringify({ key: made.key, ...withoutHash(entry), file: flags.file })}\n`,
        );
        return;
      }
      process.stderr.write(
        `berth: key ${entry.id} (${roles.join(', ')}${entry.models === undefined ? '' : `; models ${entry.models.join(', ')}`}` +
          `${expires === undefined ? '' : `; expires ${expires}`}) added to ${flags.file}. It is shown once, below:\n`,
      );
      process.stdout.write(`${made.key}\n`);
    });
}

function listCommand(): Command {
  return new Command('list')
    .summary('the keys in a key file (ids, roles, models, expiry; never the keys)')
    .option('--file <path>', 'the key file', DEFAULT_FILE)
    .option('--json', 'print the entries as JSON (without their hashes)')
    .action(async (flags: { file: string; json?: boolean }) => {
      const file = await readKeys(flags.file, false);
      if (flags.json === true) {
        const keys = file.keys.map((entry) => withoutHash(entry));
        process.stdout.write(`${JSON.stringify({ file: flags.file, keys })}\n`);
        return;
      }
      if (file.keys.length === 0) {
        process.stdout.write(`berth: no key in ${flags.file} (berth keys create --role infer adds one)\n`);
        return;
      }
      const now = Date.now();
      process.stdout.write(
        `${table([['ID', 'NAME', 'ROLES', 'MODELS', 'CREATED (UTC)', 'EXPIRES (UTC)'], ...file.keys.map((k) => describe(k, now))])}\n`,
      );
    });
}

function revokeCommand(): Command {
  return new Command('revoke')
    .summary('remove a key from a key file; servers refuse it within a second')
    .argument('<id>', 'the key id (the 12 hex digits after berth_, as `berth keys list` shows)')
    .option('--file <path>', 'the key file', DEFAULT_FILE)
    .option('--json', 'print the outcome as JSON')
    .action(async (id: string, flags: { file: string; json?: boolean }) => {
      const { writeKeyFile } = await import('../access/index.js');
      const file = await readKeys(flags.file, false);
      const keys = file.keys.filter((k) => k.id !== id);
      if (keys.length === file.keys.length) {
        throw new BerthError(
          'BERTH_ERR_AUTH_KEY_NOT_FOUND',
          `no key ${id} in ${flags.file} (berth keys list shows the ids)`,
        );
      }
      await writeKeyFile(flags.file, { ...file, keys });
      process.stdout.write(
        flags.json === true
          ? `${JSON.stringify({ revoked: id, file: flags.file })}\n`
          : `berth: key ${id} revoked in ${flags.file}\n`,
      );
    });
}

export function keysCommand(): Command {
  return new Command('keys')
    .summary('API keys for --api-keys: create, list, revoke')
    .description(
      prose([
        'Manage the API keys that `berth serve --api-keys FILE` accepts. Keys are stored as salted',
        'scrypt hashes; a key is shown once, when it is made. Clients send it as',
        '"Authorization: Bearer <key>" or "x-api-key: <key>" (gRPC: the same metadata).',
        'See docs/security.md.',
      ]),
    )
    .addCommand(createCommand())
    .addCommand(listCommand())
    .addCommand(revokeCommand());
}
