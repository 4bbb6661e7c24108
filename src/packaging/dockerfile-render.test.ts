import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { doubleModel, identityModel, writeModel } from '../../test/fixtures/models.js';
import { isBerthError } from '../ground/index.js';
import {
  DEFAULT_NODE_IMAGE,
  renderDockerfile,
  writeRuntimeFiles,
  type DockerfileOptions,
} from './dockerfile-render.js';
import {
  DEFAULT_BASE_IMAGE,
  DEFAULT_NODE_PATH,
  HEALTHCHECK_TIMING,
  healthCommand,
  IMAGE_BERTH_BIN,
  IMAGE_ENV,
  IMAGE_GRPC_PORT,
  IMAGE_HTTP_PORT,
  IMAGE_STOP_SIGNAL,
  IMAGE_USER,
  IMAGE_WORKDIR,
  imageLabels,
  serveArguments,
} from './image-contract.js';
import { collectModels } from './model-files.js';
import { PACKAGE_ROOT, runtimeEntries } from './runtime-files.js';
import { tempDirsForFile } from '../../test/helpers/temp-dir.js';

const tempDir = tempDirsForFile('berth-render-');

interface Instruction {
  readonly keyword: string;
  readonly args: string;
}

/** Dockerfile instructions as a builder reads them: comments dropped, continuations joined. */
function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = '';
  for (const line of text.split('\n')) {
    if (pending === '' && (line.trim() === '' || line.trimStart().startsWith('#'))) continue;
    if (line.endsWith('\\')) {
      pending += line.slice(0, -1);
      continue;
    }
    const full = (pending + line).trim();
    pending = '';
    const space = full.indexOf(' ');
    out.push({ keyword: full.slice(0, space), args: full.slice(space + 1).trim() });
  }
  return out;
}

/** KEY="VALUE" pairs (ENV, LABEL), unescaping `\"`, `\\` and `\$`. */
function keyValues(args: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const match of args.matchAll(/([\w.-]+)="((?:[^"\\]|\\.)*)"/g)) {
    out[match[1] ?? ''] = (match[2] ?? '').replace(/\\(.)/g, '$1');
  }
  return out;
}

/** The final stage: everything after the last FROM. */
function finalStage(all: readonly Instruction[]): Instruction[] {
  const from = all.map((i) => i.keyword).lastIndexOf('FROM');
  return all.slice(from);
}

function one(stage: readonly Instruction[], keyword: string): string {
  const found = stage.filter((i) => i.keyword === keyword);
  expect(found, keyword).toHaveLength(1);
  return found[0]?.args ?? '';
}

let context: string;
let repo: string;
let base: Omit<DockerfileOptions, 'models'>;

beforeAll(() => {
  context = tempDir();
  repo = join(context, 'models');
  writeModel(repo, 'double', doubleModel(), 1);
  writeModel(repo, 'double', doubleModel(), 2);
  writeFileSync(join(repo, 'double', 'config.yaml'), 'maxBatchSize: 8\n');
  writeFileSync(join(repo, 'double', '.notes'), 'not for the image\n');
  writeModel(repo, 'strings', identityModel('STRING', ['batch', 2]));
  writeFileSync(join(context, 'extra.onnx'), doubleModel());
  base = {
    context,
    name: 'registry.example/fraud',
    tag: '1.2.0',
    created: new Date(1_700_000_000_000),
    berthVersion: '0.1.0',
  };
});

describe('renderDockerfile', () => {
  it("writes the image contract's values as instructions of the final stage", async () => {
    const { dockerfile } = await renderDockerfile({ ...base, models: [repo, join(context, 'extra.onnx')] });
    expect(dockerfile.startsWith('# syntax=docker/dockerfile:1\n')).toBe(true);
    const stage = finalStage(instructions(dockerfile));
    expect(stage[0]).toEqual({ keyword: 'FROM', args: '${BASE_IMAGE}' });
    expect(one(stage, 'USER')).toBe(IMAGE_USER);
    expect(one(stage, 'WORKDIR')).toBe(IMAGE_WORKDIR);
    expect(one(stage, 'EXPOSE').split(' ')).toEqual([`${IMAGE_HTTP_PORT}/tcp`, `${IMAGE_GRPC_PORT}/tcp`]);
    expect(one(stage, 'STOPSIGNAL')).toBe(IMAGE_STOP_SIGNAL);
    expect(JSON.parse(one(stage, 'ENTRYPOINT'))).toEqual([DEFAULT_NODE_PATH, IMAGE_BERTH_BIN]);
    expect(JSON.parse(one(stage, 'CMD'))).toEqual(serveArguments(true));
    expect(keyValues(one(stage, 'ENV'))).toEqual(IMAGE_ENV);

    const health = /^((?:--[a-z-]+=\S+\s+)*)CMD\s+(\[.*\])$/.exec(one(stage, 'HEALTHCHECK'));
    expect(health).not.toBeNull();
    const flags = Object.fromEntries(
      (health?.[1] ?? '')
        .trim()
        .split(/\s+/)
        .map((f) => f.slice(2).split('=')),
    );
    expect(flags).toEqual({
      interval: `${HEALTHCHECK_TIMING.interval}s`,
      timeout: `${HEALTHCHECK_TIMING.timeout}s`,
      'start-period': `${HEALTHCHECK_TIMING.startPeriod}s`,
      retries: String(HEALTHCHECK_TIMING.retries),
    });
    expect(JSON.parse(health?.[2] ?? '')).toEqual(healthCommand(DEFAULT_NODE_PATH));

    const models = await collectModels([repo, join(context, 'extra.onnx')]);
    expect(keyValues(one(stage, 'LABEL'))).toEqual(
      imageLabels({
        name: 'registry.example/fraud',
        tag: '1.2.0',
        created: new Date(1_700_000_000_000),
        berthVersion: '0.1.0',
        models,
      }),
    );
  });

  it('copies berth from the build stage, then one COPY per model in the layout berth build uses', async () => {
    const { dockerfile, models } = await renderDockerfile({
      ...base,
      models: [repo, join(context, 'extra.onnx')],
    });
    const all = instructions(dockerfile);
    const copies = finalStage(all)
      .filter((i) => i.keyword === 'COPY')
      .map((i) => i.args);
    expect(copies).toEqual([
      '--from=berth --link --chown=0:0 /out/app /app',
      '--link --chown=0:0 models/double /models/double',
      '--link --chown=0:0 extra.onnx /models/extra/1/model.onnx',
      '--link --chown=0:0 models/strings /models/strings',
    ]);
    expect(models.map((m) => [m.name, m.version])).toEqual([
      ['double', 2],
      ['extra', 1],
      ['strings', 1],
    ]);
    // The build stage: pinned-by-argument images, berth installed without scripts, then pruned by
    // berth itself for the target platform.
    expect(all.filter((i) => i.keyword === 'ARG').map((i) => i.args)).toEqual([
      `NODE_IMAGE=${DEFAULT_NODE_IMAGE}`,
      `BASE_IMAGE=${DEFAULT_BASE_IMAGE}`,
      'BERTH_PACKAGE=berth-ml@0.1.0',
      'NPM_REGISTRY',
      'TARGETARCH',
    ]);
    expect(all.find((i) => i.keyword === 'FROM')?.args).toBe(
      '--platform=$BUILDPLATFORM ${NODE_IMAGE} AS berth',
    );
    const runs = all.filter((i) => i.keyword === 'RUN').map((i) => i.args.replace(/\s+/g, ' '));
    expect(runs[0]).toMatch(
      /^--mount=type=cache,target=\/root\/\.npm --mount=type=secret,id=npmrc,target=\/root\/\.npmrc npm install /,
    );
    expect(runs[0]).toMatch(
      /npm install --omit=dev --ignore-scripts --install-strategy=shallow .*"\$BERTH_PACKAGE"$/,
    );
    expect(runs[1]).toBe(
      'node node_modules/berth-ml/bin/berth.js render runtime /out/app ${TARGETARCH:+--platform "linux/$TARGETARCH"}',
    );
  });

  it('lets in nothing but the models: deny all, allow each model, hidden files kept out', async () => {
    const { dockerignore } = await renderDockerfile({ ...base, models: [repo, join(context, 'extra.onnx')] });
    const rules = dockerignore.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    expect(rules).toEqual([
      '*',
      '!models/double',
      'models/double/**/.*',
      '!extra.onnx',
      '!models/strings',
      'models/strings/**/.*',
    ]);
  });

  it('serves the built-in example without models, and follows the options', async () => {
    const { dockerfile, dockerignore } = await renderDockerfile({
      ...base,
      models: [],
      link: false,
      nodePath: '/usr/local/bin/node',
      baseImage: 'example.org/node@sha256:' + 'a'.repeat(64),
      berthPackage: 'https://example.org/berth-0.1.0.tgz',
    });
    const all = instructions(dockerfile);
    const stage = finalStage(all);
    expect(JSON.parse(one(stage, 'CMD'))).toEqual(serveArguments(false));
    expect(JSON.parse(one(stage, 'ENTRYPOINT'))).toEqual(['/usr/local/bin/node', IMAGE_BERTH_BIN]);
    expect(one(stage, 'HEALTHCHECK')).toContain(JSON.stringify(healthCommand('/usr/local/bin/node')[0]));
    expect(stage.filter((i) => i.keyword === 'COPY').map((i) => i.args)).toEqual([
      '--from=berth --chown=0:0 /out/app /app',
    ]);
    expect(all.map((i) => i.args)).toContain(`BASE_IMAGE=example.org/node@sha256:${'a'.repeat(64)}`);
    expect(all.map((i) => i.args)).toContain('BERTH_PACKAGE=https://example.org/berth-0.1.0.tgz');
    expect(keyValues(one(stage, 'LABEL'))).not.toHaveProperty('berth.model.double.version');
    expect(dockerignore.split('\n').filter((l) => l !== '' && !l.startsWith('#'))).toEqual(['*']);
  });

  it('gives the same bytes for the same inputs, and escapes what LABEL would expand', async () => {
    const options = { ...base, models: [repo], source: 'https://example.org/"quoted"/$HOME\\x' };
    const first = await renderDockerfile(options);
    const again = await renderDockerfile(options);
    expect(again.dockerfile).toBe(first.dockerfile);
    expect(again.dockerignore).toBe(first.dockerignore);
    expect(first.dockerfile).toContain(
      'org.opencontainers.image.source="https://example.org/\\"quoted\\"/\\$HOME\\\\x"',
    );
    expect(keyValues(one(finalStage(instructions(first.dockerfile)), 'LABEL'))).toMatchObject({
      'org.opencontainers.image.source': 'https://example.org/"quoted"/$HOME\\x',
    });
    await expect(renderDockerfile({ ...options, revision: 'a\nRUN evil' })).rejects.toThrow(
      /control characters cannot go in a Dockerfile/,
    );
  });

  it('uses the exec form of COPY for paths with spaces', async () => {
    const spaced = join(context, 'my models');
    writeModel(spaced, 'spaced', doubleModel());
    const { dockerfile, dockerignore } = await renderDockerfile({ ...base, models: [spaced] });
    expect(dockerfile).toContain('COPY --link --chown=0:0 ["my models/spaced", "/models/spaced"]');
    expect(dockerignore).toContain('\n!my models/spaced\n');
  });

  it('refuses models outside the build context, and paths a Dockerfile would interpret', async () => {
    const outside = tempDir('berth-render-outside-');
    writeModel(outside, 'far', doubleModel());
    const error = await renderDockerfile({ ...base, models: [outside] }).catch((e: unknown) => e);
    expect(isBerthError(error) && error.code).toBe('BERTH_ERR_CLI_INVALID_OPTION');
    expect(String(error)).toMatch(
      /is outside the build context .*render into a folder that contains the models/,
    );

    const odd = join(context, 'odd$dir');
    writeModel(odd, 'm', doubleModel());
    await expect(renderDockerfile({ ...base, models: [odd] })).rejects.toThrow(
      /"odd\$dir\/m" has characters a Dockerfile or .dockerignore would interpret/,
    );
    // The checks berth build makes come first: a duplicate name is refused the same way.
    writeFileSync(join(context, 'double.onnx'), doubleModel());
    await expect(renderDockerfile({ ...base, models: [repo, join(context, 'double.onnx')] })).rejects.toThrow(
      /double/,
    );
  });

  it('warns about files the image user could not read and links COPY would keep', async () => {
    const dir = mkdtempSync(join(context, 'warn-'));
    const file = writeModel(dir, 'secret', doubleModel());
    chmodSync(file, 0o600);
    writeModel(dir, 'linked', doubleModel());
    symlinkSync(file, join(dir, 'linked', '1', 'other.onnx'));
    const { warnings } = await renderDockerfile({ ...base, models: [dir] });
    const name = dir.slice(context.length + 1);
    expect(warnings).toEqual([
      `${name}/linked/1/other.onnx is a symbolic link: COPY keeps it as a link (berth build copies what it points to); replace it with the file`,
      `${name}/secret/1/model.onnx is not readable by other users: the image's user 65532 could not read it (chmod a+r)`,
    ]);
  });
});

describe('writeRuntimeFiles', () => {
  it("lays out exactly berth build's berth layer, with its modes, and refuses a folder that exists", async () => {
    const dir = join(tempDir('berth-runtime-'), 'app');
    const platform = { os: 'linux', architecture: 'arm64' };
    const count = await writeRuntimeFiles(dir, platform);
    const expected = (await runtimeEntries(PACKAGE_ROOT, platform)).filter((e) => e.type === 'file');
    expect(count).toBe(expected.length);
    const walk = (d: string, prefix: string): string[] =>
      readdirSync(d, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? walk(join(d, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`],
      );
    expect(walk(dir, 'app/').sort()).toEqual(expected.map((e) => e.path).sort());
    expect(statSync(join(dir, 'bin', 'berth.js')).mode & 0o777).toBe(0o755);
    expect(statSync(join(dir, 'package.json')).mode & 0o777).toBe(0o644);
    expect(walk(dir, '').filter((f) => f.includes('onnxruntime-node/bin/') && f.endsWith('.node'))).toEqual([
      expect.stringMatching(/napi-v\d+\/linux\/arm64\/onnxruntime_binding\.node$/),
    ]);
    mkdirSync(join(dir, 'x'), { recursive: true });
    await expect(writeRuntimeFiles(dir, platform)).rejects.toThrow(/exists; give a folder that does not/);
  }, 60_000);
});
