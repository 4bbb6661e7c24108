import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import formats from 'ajv-formats';
import { beforeAll, describe, expect, it } from 'vitest';
import { collectModels, type ModelFiles } from './model-files.js';
import { PACKAGE_ROOT, productionPackages } from './runtime-files.js';
import {
  cyclonedxBom,
  integrityHashes,
  KNOWN_LICENSE_IDS,
  licenseChoice,
  modelComponents,
  npmComponents,
  sbomBytes,
  type SbomComponent,
  type SbomInput,
} from './sbom.js';
import { tempDirsForFile } from '../../test/helpers/temp-dir.js';

const tempDir = tempDirsForFile('berth-sbom-models-');

const require = createRequire(import.meta.url);
const SCHEMA_DIR = join(dirname(require.resolve('@cyclonedx/cyclonedx-library/package.json')), 'res/schema');

function readJson(path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
}

/**
 * The official CycloneDX 1.5 JSON schema as @cyclonedx/cyclonedx-library ships it for offline
 * use, set up the way that library's own validator sets up ajv (its `$ref`s to the SPDX and JSF
 * schemas are renamed *.SNAPSHOT.schema.json there).
 */
function cyclonedx15Validator(): ValidateFunction {
  const referenced = ['spdx.SNAPSHOT.schema.json', 'jsf-0.82.SNAPSHOT.schema.json'];
  const ajv = new Ajv({
    strict: false,
    schemas: Object.fromEntries(
      referenced.map((file) => [`http://cyclonedx.org/schema/${file}`, readJson(join(SCHEMA_DIR, file))]),
    ),
  });
  formats.default(ajv);
  // Formats the schema names that ajv-formats lacks; berth writes neither e-mails nor IRIs.
  ajv.addFormat('idn-email', true);
  ajv.addFormat('iri-reference', true);
  return ajv.compile(readJson(join(SCHEMA_DIR, 'bom-1.5.SNAPSHOT.schema.json')));
}

function lockIntegrity(path: string): string {
  const lock = readJson(join(PACKAGE_ROOT, 'package-lock.json')) as {
    packages: Record<string, { integrity?: string }>;
  };
  const integrity = lock.packages[path]?.integrity;
  if (integrity === undefined) throw new Error(`no integrity for ${path} in package-lock.json`);
  return integrity;
}

function byPurl(components: readonly SbomComponent[], purl: string): SbomComponent {
  const found = components.find((c) => c.purl === purl);
  if (found === undefined) throw new Error(`no component ${purl}`);
  return found;
}

const RESNET_BYTES = 'not really onnx, but bytes to hash';

async function someModels(): Promise<ModelFiles[]> {
  const dir = tempDir();
  writeFileSync(join(dir, 'resnet.onnx'), RESNET_BYTES);
  writeFileSync(join(dir, 'bert.onnx'), 'other bytes');
  return collectModels([join(dir, 'resnet.onnx'), join(dir, 'bert.onnx')]);
}

describe('licenseChoice', () => {
  it('maps a known SPDX id to an id, in its canonical case', () => {
    expect(licenseChoice('MIT')).toEqual({ license: { id: 'MIT' } });
    expect(licenseChoice('apache-2.0')).toEqual({ license: { id: 'Apache-2.0' } });
    expect(licenseChoice('(ISC)')).toEqual({ license: { id: 'ISC' } });
  });

  it('keeps an SPDX expression as an expression', () => {
    expect(licenseChoice('(MIT OR Apache-2.0)')).toEqual({ expression: '(MIT OR Apache-2.0)' });
    expect(licenseChoice('Apache-2.0 WITH LLVM-exception')).toEqual({
      expression: 'Apache-2.0 WITH LLVM-exception',
    });
  });

  it('names anything else', () => {
    expect(licenseChoice('SEE LICENSE IN LICENSE.txt')).toEqual({
      license: { name: 'SEE LICENSE IN LICENSE.txt' },
    });
    expect(licenseChoice('UNLICENSED')).toEqual({ license: { name: 'UNLICENSED' } });
    expect(licenseChoice('GPL-2.0+')).toEqual({ license: { name: 'GPL-2.0+' } });
  });
});

describe('integrityHashes', () => {
  it('turns each known SRI digest into hex and drops the rest', () => {
    const sha1 = Buffer.alloc(20, 1).toString('base64');
    const sha512 = Buffer.alloc(64, 0xab).toString('base64');
    expect(integrityHashes(`sha512-${sha512} md5-AAAA sha1-${sha1} sha256-tooshort`)).toEqual([
      { alg: 'SHA-1', content: '01'.repeat(20) },
      { alg: 'SHA-512', content: 'ab'.repeat(64) },
    ]);
  });
});

describe('npmComponents on this repository', () => {
  let components: SbomComponent[];
  beforeAll(async () => {
    components = await npmComponents(PACKAGE_ROOT, await productionPackages(PACKAGE_ROOT));
  });

  it.each([
    ['onnxruntime-node', 'pkg:npm/onnxruntime-node'],
    ['fastify', 'pkg:npm/fastify'],
    ['@grpc/grpc-js', 'pkg:npm/%40grpc/grpc-js'],
  ])('lists %s with its installed version, licence and lockfile hash', (name, purlName) => {
    const pkg = readJson(join(PACKAGE_ROOT, 'node_modules', name, 'package.json'));
    const version = pkg.version as string;
    const component = byPurl(components, `${purlName}@${version}`);
    const [group, bare] = name.startsWith('@') ? name.split('/') : [undefined, name];
    expect(component).toMatchObject({ type: 'library', name: bare, version });
    expect(component.group).toBe(group);
    expect(component['bom-ref']).toBe(component.purl);
    expect(component.licenses).toEqual([licenseChoice(pkg.license as string)]);
    const integrity = lockIntegrity(`node_modules/${name}`);
    expect(integrity).toMatch(/^sha512-/);
    expect(component.hashes).toEqual([
      { alg: 'SHA-512', content: Buffer.from(integrity.slice('sha512-'.length), 'base64').toString('hex') },
    ]);
  });

  it('lists berth itself as the application, and every dependency with a hash', () => {
    const own = readJson(join(PACKAGE_ROOT, 'package.json'));
    const berth = byPurl(components, `pkg:npm/berth-ml@${own.version as string}`);
    expect(berth).toMatchObject({
      type: 'application',
      name: 'berth-ml',
      licenses: [{ license: { id: 'Apache-2.0' } }],
    });
    const libraries = components.filter((c) => c.type === 'library');
    expect(libraries.length).toBeGreaterThan(3);
    expect(libraries.filter((c) => c.hashes?.[0]?.alg !== 'SHA-512').map((c) => c.purl)).toEqual([]);
  });
});

describe('npmComponents on a fixture install', () => {
  const sha512 = (byte: number): string => `sha512-${Buffer.alloc(64, byte).toString('base64')}`;

  function install(hidden: boolean): { root: string; dirs: string[] } {
    const root = tempDir('berth-sbom-root-');
    const write = (path: string, value: unknown): void => {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), JSON.stringify(value));
    };
    write('package.json', { name: 'app', version: '2.0.0', license: 'MIT' });
    write('node_modules/legacy/package.json', {
      name: 'legacy',
      version: '1.0.0',
      licenses: [{ type: 'MIT' }, { type: 'Apache-2.0' }],
    });
    write('node_modules/@scope/pkg/package.json', { name: '@scope/pkg', version: '1.0.0+build.1' });
    write('node_modules/stale/package.json', { name: 'stale', version: '2.0.0', license: { type: 'ISC' } });
    write('node_modules/unlocked/package.json', { name: 'unlocked', version: '1.0.0' });
    const lock = {
      lockfileVersion: 3,
      packages: {
        '': { name: 'app', version: '2.0.0' },
        'node_modules/legacy': { version: '1.0.0', integrity: sha512(1) },
        'node_modules/@scope/pkg': { version: '1.0.0+build.1', integrity: sha512(2) },
        'node_modules/stale': { version: '1.0.0', integrity: sha512(3) },
      },
    };
    write(hidden ? 'node_modules/.package-lock.json' : 'package-lock.json', lock);
    const dirs = ['legacy', '@scope/pkg', 'stale', 'unlocked'].map((p) => join(root, 'node_modules', p));
    return { root, dirs };
  }

  it.each([
    ['the hidden lockfile', true],
    ['package-lock.json', false],
  ])('reads hashes from %s, only for the installed version', async (_, hidden) => {
    const { root, dirs } = install(hidden);
    const components = await npmComponents(root, dirs);
    expect(components.map((c) => c.purl)).toEqual([
      'pkg:npm/app@2.0.0',
      'pkg:npm/%40scope/pkg@1.0.0%2Bbuild.1',
      'pkg:npm/legacy@1.0.0',
      'pkg:npm/stale@2.0.0',
      'pkg:npm/unlocked@1.0.0',
    ]);
    const hex = (byte: number): string => Buffer.alloc(64, byte).toString('hex');
    expect(byPurl(components, 'pkg:npm/legacy@1.0.0')).toMatchObject({
      hashes: [{ alg: 'SHA-512', content: hex(1) }],
      licenses: [{ expression: '(MIT OR Apache-2.0)' }],
    });
    expect(byPurl(components, 'pkg:npm/%40scope/pkg@1.0.0%2Bbuild.1')).toMatchObject({
      group: '@scope',
      name: 'pkg',
      hashes: [{ alg: 'SHA-512', content: hex(2) }],
    });
    const stale = byPurl(components, 'pkg:npm/stale@2.0.0');
    expect(stale.hashes).toBeUndefined();
    expect(stale.licenses).toEqual([{ license: { id: 'ISC' } }]);
    expect(byPurl(components, 'pkg:npm/unlocked@1.0.0').hashes).toBeUndefined();
    expect(byPurl(components, 'pkg:npm/unlocked@1.0.0').licenses).toBeUndefined();
  });
});

describe('cyclonedxBom', () => {
  let validate: ValidateFunction;
  let input: SbomInput;
  beforeAll(async () => {
    validate = cyclonedx15Validator();
    const models = await someModels();
    input = {
      image: { name: 'ghcr.io/acme/resnet', version: '1.2.0', created: new Date('2024-05-01T12:00:00Z') },
      berthVersion: '0.1.0',
      components: [
        ...(await npmComponents(PACKAGE_ROOT, await productionPackages(PACKAGE_ROOT))),
        ...modelComponents(models),
      ],
    };
  });

  it('describes the image, berth, its packages and its models', () => {
    const bom = cyclonedxBom(input);
    expect(bom).toMatchObject({
      bomFormat: 'CycloneDX',
      specVersion: '1.5',
      version: 1,
      metadata: {
        timestamp: '2024-05-01T12:00:00.000Z',
        tools: { components: [{ type: 'application', name: 'berth', version: '0.1.0' }] },
        component: { type: 'container', name: 'ghcr.io/acme/resnet', version: '1.2.0' },
      },
    });
    const resnet = bom.components.find((c) => c['bom-ref'] === 'model:resnet');
    expect(resnet).toEqual({
      type: 'machine-learning-model',
      'bom-ref': 'model:resnet',
      name: 'resnet',
      version: '1',
      hashes: [{ alg: 'SHA-256', content: createHash('sha256').update(RESNET_BYTES).digest('hex') }],
    });
    const refs = bom.components.map((c) => c['bom-ref']);
    expect(refs).toEqual([...refs].sort());
    expect(new Set(refs).size).toBe(refs.length);
  });

  it('is valid against the CycloneDX 1.5 JSON schema', () => {
    const valid = validate(JSON.parse(sbomBytes(cyclonedxBom(input)).toString('utf8')));
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it('writes every known licence id as one the schema accepts', () => {
    const components = KNOWN_LICENSE_IDS.map((id): SbomComponent => ({
      type: 'library',
      'bom-ref': `pkg:npm/x-${id.toLowerCase()}@1.0.0`,
      name: `x-${id.toLowerCase()}`,
      version: '1.0.0',
      licenses: [licenseChoice(id)],
    }));
    expect(validate(cyclonedxBom({ ...input, components }))).toBe(true);
  });

  it('has a validator that rejects what the schema forbids', () => {
    const bom = cyclonedxBom(input);
    const broken = {
      ...bom,
      components: [{ ...bom.components[0], hashes: [{ alg: 'SHA-256', content: 'xyz' }] }],
    };
    expect(validate(broken)).toBe(false);
    expect(validate({ ...bom, serialNumber: 'not-a-urn' })).toBe(false);
    // The SPDX list is loaded: an id that is not on it fails.
    const madeUp = { ...bom.components[0], licenses: [{ license: { id: 'Not-A-Licence-1.0' } }] };
    expect(validate({ ...bom, components: [madeUp] })).toBe(false);
    expect(
      validate({ ...bom, components: [{ ...madeUp, licenses: [licenseChoice('Not-A-Licence-1.0')] }] }),
    ).toBe(true);
  });

  it('gives the same bytes for the same input, whatever the order of components', () => {
    const once = sbomBytes(cyclonedxBom(input));
    const reversed = sbomBytes(cyclonedxBom({ ...input, components: [...input.components].reverse() }));
    expect(reversed.equals(once)).toBe(true);
    expect(sbomBytes(cyclonedxBom(input)).equals(once)).toBe(true);
  });

  it('derives the serial number from the content: an RFC 9562 version 8 UUID', () => {
    const bom = cyclonedxBom(input);
    expect(bom.serialNumber).toMatch(
      /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    const models: Pick<ModelFiles, 'name' | 'version' | 'sha256'>[] = [
      { name: 'resnet', version: 1, sha256: 'a'.repeat(64) },
    ];
    const changedSha = [{ ...models[0]!, sha256: 'b'.repeat(64) }];
    const serial = (m: typeof models): string =>
      cyclonedxBom({ ...input, components: modelComponents(m) }).serialNumber;
    expect(serial(changedSha)).not.toBe(serial(models));
    expect(serial(models)).toBe(serial(models));
    expect(cyclonedxBom({ ...input, image: { ...input.image, created: new Date(0) } }).serialNumber).not.toBe(
      bom.serialNumber,
    );
  });

  it('refuses two different components with one bom-ref', () => {
    const [model] = modelComponents([{ name: 'resnet', version: 1, sha256: 'a'.repeat(64) }]);
    expect(() => cyclonedxBom({ ...input, components: [model!, { ...model!, version: '2' }] })).toThrow(
      /bom-ref "model:resnet"/,
    );
  });
});
