/** `berth init`: a commented berth.yaml for a model repository, to edit instead of writing one. */
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, join, relative, resolve } from 'node:path';
import { Command, Option } from 'commander';
import { BerthError } from '../ground/index.js';
import type { ModelDescriptor } from '../repository/index.js';
import type { FoundModel } from '../spec/index.js';
import { helpSection } from './help-text.js';

interface InitFlags {
  output?: string;
  name?: string;
  force?: boolean;
  stdout?: boolean;
  schema: boolean;
}

const SCHEMA_FILE = 'berth.schema.json';

function invalid(option: string, message: string, cause?: unknown): BerthError {
  return new BerthError(
    'BERTH_ERR_CLI_INVALID_OPTION',
    `${option}: ${message}`,
    cause === undefined ? undefined : { cause },
  );
}

/** The repository as the spec names it: relative to the spec's folder, `./` first for clarity. */
function repositoryFrom(specDir: string, repository: string): string {
  const path = relative(specDir, resolve(repository));
  if (path === '') return '.';
  return isAbsolute(path) || path.startsWith('..') ? path : `./${path}`;
}

/** The folder a model file would have in a repository: its name without the extension. */
function toModelFolderName(file: string): string {
  return basename(file, extname(file)) || 'model';
}

/** Refuses what is not a folder, in words that say what `berth init` takes. */
async function checkFolder(repository: string): Promise<void> {
  let info;
  try {
    info = await stat(repository);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new BerthError(
      'BERTH_ERR_REPOSITORY_NOT_FOUND',
      code === 'ENOENT'
        ? `${repository}: no such folder; give the model repository folder (${repository}/<model>/<version>/model.onnx)`
        : `${repository}: cannot read (${code})`,
      { cause: error },
    );
  }
  if (!info.isDirectory()) {
    const model = toModelFolderName(repository);
    throw new BerthError(
      'BERTH_ERR_CLI_INVALID_OPTION',
      `${repository} is a file, not a model repository folder: lay it out as REPOSITORY/${model}/1/model.onnx and give REPOSITORY`,
    );
  }
}

/** What the spec's comment says of a model: its versions and config file, or why it is not served. */
async function foundModel(model: ModelDescriptor): Promise<FoundModel> {
  if (model.error !== undefined) {
    // Scanning errors start with the folder's absolute path; the comment names the model already.
    const root = model.location ?? '';
    const prefix = [`${join(root, model.name)}: `, `${root}: `].find((p) =>
      model.error?.message.startsWith(p),
    );
    return {
      name: model.name,
      versions: [],
      problem: prefix === undefined ? model.error.message : model.error.message.slice(prefix.length),
    };
  }
  let configFile: string | undefined;
  for (const file of ['config.pbtxt', 'config.yaml']) {
    if (model.modelDir !== undefined && (await stat(join(model.modelDir, file)).catch(() => undefined)))
      configFile = file;
  }
  return {
    name: model.name,
    versions: model.versions.map((v) => v.version),
    ...(configFile === undefined ? {} : { configFile }),
  };
}

/** `.onnx` files at the top of the folder: a repository does not serve them, and the comment says so. */
async function strayFiles(repository: string): Promise<string[]> {
  const entries = await readdir(repository, { withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && extname(e.name).toLowerCase() === '.onnx')
    .map((e) => e.name)
    .sort();
}

async function writeSpec(path: string, text: string, force: boolean): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true });
    // 'wx' refuses an existing file in the same call that creates it: no check-then-write race.
    await writeFile(path, text, { flag: force ? 'w' : 'wx' });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    if (code === 'EEXIST') throw invalid('--output', `${path} exists; pass --force to replace it`, error);
    throw invalid('--output', `${path}: cannot write (${code})`, error);
  }
}

export function initCommand(): Command {
  return new Command('init')
    .summary('write a commented berth.yaml for a model repository')
    .description(
      [
        'Write berth.yaml for a model repository (REPOSITORY/<model>/<version>/model.onnx; default:',
        'the current folder): its name, the repository relative to the file, the models found there',
        '(as a comment), and every section explained in comments, with replicas, rollout and',
        'resilience written out at their defaults, ready to edit. berth.schema.json is written',
        'beside it for editors. An existing file is replaced only with --force.',
      ].join(' '),
    )
    .argument('[repository]', 'the model repository folder', '.')
    .option('-o, --output <file>', 'the spec file to write (default: berth.yaml)')
    .option('--name <name>', "the deployment's name, a DNS label (default: the repository folder's name)")
    .option('--force', 'replace the spec file when it exists')
    .addOption(
      new Option('--stdout', 'print the spec on standard output instead of writing files').conflicts([
        'output',
        'force',
      ]),
    )
    .option('--no-schema', `do not write ${SCHEMA_FILE} beside the spec`)
    .addHelpText(
      'after',
      helpSection({
        notes: [
          `The spec's first line points the YAML language server at ./${SCHEMA_FILE}, which is replaced on every run (berth schema writes the same). The repository is read as berth serve reads it; a model folder or a missing folder is refused.`,
        ],
        examples: [
          'berth init ./models  # ./berth.yaml and ./berth.schema.json for ./models',
          'berth init ./models --name fraud-scoring',
          'berth init . -o deploy/berth.yaml --no-schema',
          'berth init ./models --stdout | less',
          'berth init ./models --force  # start again from the defaults',
        ],
      }),
    )
    .action(async (repository: string, flags: InitFlags) => {
      const [spec, { createModelCatalog, scanRepository }, { DEFAULT_BASE_IMAGE }] = await Promise.all([
        import('../spec/index.js'),
        import('../repository/index.js'),
        import('../packaging/image-contract.js'),
      ]);
      const name = flags.name ?? spec.toDnsLabel(basename(resolve(repository)));
      if (!spec.isDnsLabel(name)) {
        throw invalid(
          '--name',
          `expected a DNS label (1-63 lower-case letters, digits and -, not starting or ending with -), got ${JSON.stringify(name)}`,
        );
      }
      await checkFolder(repository);
      try {
        // What berth serve refuses (a model folder given as a repository), berth init refuses too.
        await createModelCatalog([repository], []);
      } catch (error) {
        if (!(error instanceof BerthError) || error.code !== 'BERTH_ERR_REPOSITORY_MODEL_FOLDER') throw error;
        const message = error.message.replace(
          'serve its parent repository: berth serve',
          'give its parent repository: berth init',
        );
        throw new BerthError(error.code, message, { cause: error });
      }
      const models = await Promise.all((await scanRepository(repository)).map(foundModel));
      const strays = await strayFiles(repository);
      const output = flags.output ?? spec.SPEC_FILE;
      const specDir = flags.stdout === true ? process.cwd() : dirname(resolve(output));
      const repositoryText = repositoryFrom(specDir, repository);
      const text = spec.renderSpecTemplate({
        name,
        repository: repositoryText,
        models,
        strayFiles: strays,
        baseImage: DEFAULT_BASE_IMAGE,
      });
      const served = models.filter((m) => m.versions.length > 0).length;
      if (served === 0) {
        process.stderr.write(
          `berth: warning: ${repository} holds no model to serve (expected ${repository}/<model>/<version>/model.onnx)\n`,
        );
      }
      if (flags.stdout === true) {
        process.stdout.write(text);
        return;
      }
      await writeSpec(output, text, flags.force === true);
      const written = [output];
      if (flags.schema) {
        const schemaPath = join(dirname(output), SCHEMA_FILE);
        try {
          await writeFile(schemaPath, JSON.stringify(spec.specJsonSchema(), null, 2) + '\n');
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code ?? String(error);
          throw invalid('--output', `${schemaPath}: cannot write (${code})`, error);
        }
        written.push(schemaPath);
      }
      const next = resolve(output) === resolve(spec.SPEC_FILE) ? 'berth up' : `berth up -f ${output}`;
      process.stderr.write(
        `berth: wrote ${written.join(' and ')} (${served} model${served === 1 ? '' : 's'} in ${repositoryText}); next: ${next}\n`,
      );
    });
}
