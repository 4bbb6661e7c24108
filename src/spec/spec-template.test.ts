import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { tempDirsForFile } from '../../test/helpers/temp-dir.js';
import { loadSpec, parseSpec } from './berth-spec.js';
import { replicasSection, resilienceSection, rolloutSection } from './orchestration.js';
import { isDnsLabel, renderSpecTemplate, toDnsLabel, type SpecTemplateOptions } from './spec-template.js';

const tempDir = tempDirsForFile('berth-spec-template-');

const FRAUD: SpecTemplateOptions = {
  name: 'fraud-scoring',
  repository: './models',
  models: [
    { name: 'fraud', versions: [2, 1], configFile: 'config.pbtxt' },
    { name: 'legacy', versions: [1] },
    { name: 'notes', versions: [], problem: 'no version folder (1, 2, ...) holding model.onnx' },
  ],
  baseImage: 'gcr.io/distroless/nodejs24-debian12:nonroot',
};

/** Every path to a value that is not a mapping: `rollout.analysis.compare.mode`. */
function leafPaths(value: unknown, prefix = ''): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return [prefix];
  return Object.entries(value).flatMap(([key, v]) => leafPaths(v, prefix === '' ? key : `${prefix}.${key}`));
}

/**
 * The text with `# key:` lines (alone, or with one value and a comment) uncommented, and the lines
 * of a commented block under them; `# key: some words` explains a key and stays.
 */
function uncomment(text: string, keys: readonly string[]): string {
  let block: number | undefined;
  return text
    .split('\n')
    .map((line) => {
      const match = /^(\s*)# ([A-Za-z]\w*):(?:\s*|\s+\S+(?:\s+#.*)?)$/.exec(line);
      if (match !== null && keys.includes(match[2] as string)) {
        block = (match[1] as string).length;
        return line.replace('# ', '');
      }
      if (block !== undefined && line.startsWith(`${' '.repeat(block)}#   `)) return line.replace('# ', '');
      block = undefined;
      return line;
    })
    .join('\n');
}

describe('renderSpecTemplate', () => {
  it('writes a spec the real loader reads, with the defaults it applies', async () => {
    const dir = tempDir();
    const text = renderSpecTemplate(FRAUD);
    expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=./berth.schema.json');
    writeFileSync(join(dir, 'berth.yaml'), text);
    const loaded = await loadSpec(undefined, dir);
    expect(loaded?.spec.name).toBe('fraud-scoring');
    expect(loaded?.repository).toBe(join(dir, 'models'));
    expect(loaded?.spec.replicas).toEqual(replicasSection.parse({}));
    expect(loaded?.spec.rollout).toEqual(rolloutSection.parse({}));
    expect(loaded?.spec.resilience).toEqual(resilienceSection.parse({}));
    expect(Object.keys(loaded?.spec ?? {}).sort()).toEqual(
      ['name', 'replicas', 'repository', 'resilience', 'rollout'].sort(),
    );
  });

  it('writes every default out as a key to edit, but max (it follows min) and agreement (off)', () => {
    const raw = parseYaml(renderSpecTemplate(FRAUD)) as Record<string, unknown>;
    const defaults = {
      replicas: replicasSection.parse({}),
      rollout: rolloutSection.parse({}),
      resilience: resilienceSection.parse({}),
    };
    const written = { replicas: raw.replicas, rollout: raw.rollout, resilience: raw.resilience };
    expect(leafPaths(written).sort()).toEqual(
      leafPaths(defaults)
        .filter((p) => p !== 'replicas.max')
        .sort(),
    );
  });

  it('has commented examples that validate once uncommented', () => {
    const text = uncomment(renderSpecTemplate(FRAUD), ['max', 'agreement', 'serve', 'image']);
    const spec = parseSpec(text, 'berth.yaml');
    expect(spec.replicas?.max).toBe(4);
    expect(spec.rollout?.analysis.agreement).toBe(0.99);
    expect(spec.serve).toEqual({
      auth: { apiKeys: 'berth-keys.json' },
      limits: { perCaller: '100/s', maxConcurrent: 16 },
      tls: { cert: 'tls.crt', key: 'tls.key' },
    });
    expect(spec.image).toEqual({
      base: 'gcr.io/distroless/nodejs24-debian12:nonroot',
      name: 'registry.example/fraud-scoring',
      tag: '1.0',
      platforms: ['linux/amd64', 'linux/arm64'],
    });
  });

  it('explains each section in a comment above it', () => {
    const lines = renderSpecTemplate(FRAUD).split('\n');
    for (const section of ['name', 'repository', 'serve', 'image', 'replicas', 'rollout', 'resilience']) {
      const at = lines.findIndex((line) => line.startsWith(`# ${section}: `));
      expect(at, section).toBeGreaterThan(0);
      expect(lines[at + 1], section).toMatch(/^#/);
    }
  });

  it('lists the models found as comments: versions, config file, and why one is not served', () => {
    const text = renderSpecTemplate({ ...FRAUD, strayFiles: ['extra.onnx'] });
    expect(text).toContain('# Models found in ./models when this file was written');
    expect(text).toMatch(/^# {3}fraud {2}\s*versions 2, 1 {2}\(config\.pbtxt\)$/m);
    expect(text).toMatch(/^# {3}legacy {2}version 1$/m);
    expect(text).toMatch(/^# {3}notes {3}not served: no version folder/m);
    expect(text).toContain(
      '#   extra.onnx: a file at the top is not served; move it to ./models/extra/1/model.onnx',
    );
    expect(parseYaml(text)).not.toHaveProperty('models');

    const empty = renderSpecTemplate({ ...FRAUD, repository: '.', models: [] });
    expect(empty).toContain('# No model was found in . when this file was written');
  });

  it('quotes a name or repository that YAML would read as something else', () => {
    for (const [name, repository] of [
      ['123', '-models: x # y'],
      ['null', 'my models/#1'],
      ['true', 'a\nb'],
    ] as const) {
      const spec = parseSpec(renderSpecTemplate({ ...FRAUD, name, repository }), 'berth.yaml');
      expect(spec.name).toBe(name);
      expect(spec.repository).toBe(repository);
    }
  });

  it('keeps a model name with control characters inside its comment', () => {
    const text = renderSpecTemplate({
      ...FRAUD,
      models: [{ name: 'x\nname: injected', versions: [1] }],
    });
    expect(parseSpec(text, 'berth.yaml').name).toBe('fraud-scoring');
    expect(text).toContain('#   x?name: injected  version 1');
  });
});

describe('toDnsLabel', () => {
  it("makes a folder's name into a name the spec accepts", () => {
    expect(toDnsLabel('Fraud_Scoring v2')).toBe('fraud-scoring-v2');
    expect(toDnsLabel('models')).toBe('models');
    expect(toDnsLabel('Modèles.été')).toBe('modeles-ete');
    expect(toDnsLabel('--x--')).toBe('x');
    expect(toDnsLabel('___')).toBe('berth');
    expect(toDnsLabel('')).toBe('berth');
    expect(toDnsLabel(`${'a'.repeat(62)}-b`)).toBe('a'.repeat(62));
    for (const folder of ['Fraud_Scoring v2', '日本', 'ab-'.repeat(40), '0', '9-lives']) {
      const name = toDnsLabel(folder);
      expect(isDnsLabel(name), folder).toBe(true);
      expect(parseSpec(renderSpecTemplate({ ...FRAUD, name }), 'berth.yaml').name).toBe(name);
    }
  });

  it('tells a DNS label from other text', () => {
    expect(isDnsLabel('fraud-scoring')).toBe(true);
    expect(isDnsLabel('Fraud')).toBe(false);
    expect(isDnsLabel('-x')).toBe(false);
    expect(isDnsLabel('a'.repeat(64))).toBe(false);
    expect(() => parseSpec('name: Fraud\n', 'berth.yaml')).toThrow(/DNS label/);
  });
});
