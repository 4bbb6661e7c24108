/**
 * The software bill of materials of an image: a CycloneDX 1.5 JSON document
 * (https://cyclonedx.org/docs/1.5/json/) naming the image (metadata.component), berth, the npm
 * packages it runs with and the models. npm package URLs follow the purl spec's npm type (scope in
 * the namespace, its `@` percent-encoded); a package's hash is its lockfile `integrity`
 * (Subresource Integrity of the registry tarball, so the same value `npm ci` checked) in hex.
 *
 * The document goes inside a reproducible image, so nothing in it is random or depends on the
 * machine: the serial number is a UUIDv8 made from a SHA-256 of the rest of the document (RFC 9562
 * section 5.8, the name-based example of appendix B.2), components are in code-point order of
 * their bom-ref, and every object is written with a fixed key order.
 */
import { createHash } from 'node:crypto';
import { readFile, realpath } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { BerthError } from '../ground/index.js';
import { installBase } from './install-layout.js';
import type { ModelFiles } from './model-files.js';

/** Media type of a CycloneDX JSON document (IANA registration). */
export const SBOM_MEDIA_TYPE = 'application/vnd.cyclonedx+json';

const SCHEMA_URL = 'http://cyclonedx.org/schema/bom-1.5.schema.json';

/** SPDX ids written as `{license: {id}}`; every one is in the SPDX list the schema checks against. */
export const KNOWN_LICENSE_IDS: readonly string[] = [
  '0BSD',
  'Apache-2.0',
  'BlueOak-1.0.0',
  'BSD-2-Clause',
  'BSD-3-Clause',
  'CC-BY-3.0',
  'CC-BY-4.0',
  'CC0-1.0',
  'ISC',
  'MIT',
  'MIT-0',
  'MPL-2.0',
  'Python-2.0',
  'Unlicense',
  'WTFPL',
  'Zlib',
];
const LICENSE_IDS = new Map(KNOWN_LICENSE_IDS.map((id) => [id.toLowerCase(), id]));

export type SbomHashAlgorithm = 'SHA-1' | 'SHA-256' | 'SHA-384' | 'SHA-512';

export interface SbomHash {
  readonly alg: SbomHashAlgorithm;
  readonly content: string;
}

export type SbomLicense =
  { readonly license: { readonly id: string } | { readonly name: string } } | { readonly expression: string };

export interface SbomComponent {
  readonly type: 'application' | 'library' | 'machine-learning-model';
  readonly 'bom-ref': string;
  /** The npm scope (`@grpc`), for scoped packages. */
  readonly group?: string;
  readonly name: string;
  readonly version: string;
  readonly hashes?: readonly SbomHash[];
  readonly licenses?: readonly SbomLicense[];
  readonly purl?: string;
}

export interface SbomInput {
  /**
   * What the document describes: the image (type `container`, the default), or one layer's
   * content (berth itself, a model), so that a layer's SBOM does not change with the image's tag.
   */
  readonly image: {
    readonly name: string;
    readonly version: string;
    readonly created: Date;
    readonly type?: 'container' | 'application' | 'machine-learning-model';
  };
  readonly berthVersion: string;
  readonly components: readonly SbomComponent[];
}

/** The CycloneDX 1.5 document, as far as berth fills it in. */
export interface CycloneDxBom {
  readonly $schema: string;
  readonly bomFormat: 'CycloneDX';
  readonly specVersion: '1.5';
  readonly serialNumber: string;
  readonly version: 1;
  readonly metadata: {
    readonly timestamp: string;
    readonly tools: { readonly components: readonly SbomTool[] };
    readonly component: {
      readonly type: 'container' | 'application' | 'machine-learning-model';
      readonly 'bom-ref': string;
      readonly name: string;
      readonly version: string;
    };
  };
  readonly components: readonly SbomComponent[];
}

interface SbomTool {
  readonly type: 'application';
  readonly name: string;
  readonly version: string;
}

/** Code-point order: unlike localeCompare, the same on every machine. */
function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The CycloneDX licence choice for a licence string from package.json: a known SPDX id, an SPDX
 * expression (anything with AND, OR or WITH), or else a licence by name.
 *
 * @example
 * licenseChoice('MIT'); // { license: { id: 'MIT' } }
 * licenseChoice('(MIT OR Apache-2.0)'); // { expression: '(MIT OR Apache-2.0)' }
 * licenseChoice('SEE LICENSE IN LICENSE.txt'); // { license: { name: 'SEE LICENSE IN LICENSE.txt' } }
 */
export function licenseChoice(text: string): SbomLicense {
  const trimmed = text.trim();
  const bare = /^\(([^()]*)\)$/.exec(trimmed)?.[1]?.trim() ?? trimmed;
  const id = LICENSE_IDS.get(bare.toLowerCase());
  if (id !== undefined) return { license: { id } };
  if (/\s(AND|OR|WITH)\s/.test(trimmed)) return { expression: trimmed };
  return { license: { name: trimmed } };
}

const SRI_ALGORITHMS: Readonly<Record<string, readonly [SbomHashAlgorithm, number]>> = {
  sha1: ['SHA-1', 20],
  sha256: ['SHA-256', 32],
  sha384: ['SHA-384', 48],
  sha512: ['SHA-512', 64],
};

/**
 * The hashes of a Subresource Integrity string (npm's `integrity`), base64 digests as hex.
 * Tokens with an unknown algorithm or a digest of the wrong length are left out.
 *
 * @example
 * integrityHashes('sha512-W4W/fcBM...'); // [{ alg: 'SHA-512', content: '5b85bf7d...' }]
 */
export function integrityHashes(integrity: string): SbomHash[] {
  const hashes = new Map<SbomHashAlgorithm, string>();
  for (const token of integrity.trim().split(/\s+/)) {
    const match = /^([a-z0-9]+)-([A-Za-z0-9+/]+={0,2})(\?.*)?$/.exec(token);
    const known = match?.[1] === undefined ? undefined : SRI_ALGORITHMS[match[1]];
    if (known === undefined || match?.[2] === undefined) continue;
    const digest = Buffer.from(match[2], 'base64');
    if (digest.length === known[1] && !hashes.has(known[0])) hashes.set(known[0], digest.toString('hex'));
  }
  return [...hashes].sort(([a], [b]) => byCodePoint(a, b)).map(([alg, content]) => ({ alg, content }));
}

interface PackageJson {
  readonly name?: unknown;
  readonly version?: unknown;
  readonly license?: unknown;
  readonly licenses?: unknown;
}

interface LockEntry {
  readonly version?: unknown;
  readonly integrity?: unknown;
}

async function readJson(path: string, what: string): Promise<unknown> {
  const text = await readFile(path, 'utf8').catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  });
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new BerthError('BERTH_ERR_PACKAGING_INVALID_IMAGE', `${path}: ${what} is not valid JSON`, {
      cause: error,
    });
  }
}

/** `packages` of npm's hidden lockfile and of package-lock.json, in that order of preference. */
async function lockfilePackages(root: string): Promise<Readonly<Record<string, LockEntry>>[]> {
  const out: Readonly<Record<string, LockEntry>>[] = [];
  for (const path of [join(root, 'node_modules', '.package-lock.json'), join(root, 'package-lock.json')]) {
    const lock = (await readJson(path, 'the lockfile')) as
      { packages?: Record<string, LockEntry> } | undefined;
    if (lock?.packages !== undefined) out.push(lock.packages);
  }
  return out;
}

function licenseText(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim() === '' ? undefined : value.trim();
  // The legacy `{type, url}` form.
  if (typeof value === 'object' && value !== null && 'type' in value) return licenseText(value.type);
  return undefined;
}

/** package.json's `license`, or else the legacy `licenses` list, which meant a choice (OR). */
function declaredLicense(pkg: PackageJson): string | undefined {
  const own = licenseText(pkg.license);
  if (own !== undefined) return own;
  const legacy: unknown[] = Array.isArray(pkg.licenses) ? pkg.licenses : [pkg.licenses];
  const texts = legacy.map(licenseText).filter((t): t is string => t !== undefined);
  return texts.length <= 1 ? texts[0] : `(${texts.join(' OR ')})`;
}

/** A scoped npm name's scope and bare name: `@grpc/grpc-js` is `@grpc` and `grpc-js`. */
function splitScope(name: string): readonly [scope: string | undefined, bare: string] {
  const slash = name.indexOf('/');
  return name.startsWith('@') && slash > 0
    ? [name.slice(0, slash), name.slice(slash + 1)]
    : [undefined, name];
}

function npmPurl(scope: string | undefined, bare: string, version: string): string {
  const namespace = scope === undefined ? '' : `${encodeURIComponent(scope)}/`;
  return `pkg:npm/${namespace}${encodeURIComponent(bare)}@${encodeURIComponent(version)}`;
}

async function npmComponent(
  root: string,
  dir: string,
  type: 'application' | 'library',
  locks: readonly Readonly<Record<string, LockEntry>>[],
): Promise<SbomComponent> {
  const pkg = (await readJson(join(dir, 'package.json'), 'package.json')) as PackageJson | undefined;
  const { name, version } = pkg ?? {};
  if (typeof name !== 'string' || typeof version !== 'string') {
    throw new BerthError(
      'BERTH_ERR_PACKAGING_INVALID_IMAGE',
      `${join(dir, 'package.json')}: expected a package.json with a name and a version`,
    );
  }
  const key = relative(root, dir).split(sep).join('/');
  // An entry for another version (a stale lockfile) would hash a different tarball.
  const integrity = locks
    .map((packages) => packages[key])
    .find((entry) => entry?.version === version && typeof entry.integrity === 'string')?.integrity;
  const hashes = typeof integrity === 'string' ? integrityHashes(integrity) : [];
  const license = pkg === undefined ? undefined : declaredLicense(pkg);
  const [scope, bare] = splitScope(name);
  const purl = npmPurl(scope, bare, version);
  return {
    type,
    'bom-ref': purl,
    ...(scope === undefined ? {} : { group: scope }),
    name: bare,
    version,
    ...(hashes.length > 0 ? { hashes } : {}),
    ...(license === undefined ? {} : { licenses: [licenseChoice(license)] }),
    purl,
  };
}

/**
 * Components for berth itself (type application) and each npm package folder (type library), as
 * `productionPackages(root)` lists them. Hashes come from npm's hidden lockfile
 * (node_modules/.package-lock.json) or else package-lock.json, by the folder's path and only
 * for the installed version; a package with no such entry has no hashes. The same package
 * name and version installed twice is listed once.
 *
 * @example
 * const components = await npmComponents(PACKAGE_ROOT, await productionPackages(PACKAGE_ROOT));
 */
export async function npmComponents(root: string, packageDirs: readonly string[]): Promise<SbomComponent[]> {
  // Lockfile keys are paths from the folder that was installed: berth's own, or its project's.
  const realRoot = installBase(await realpath(root));
  const locks = await lockfilePackages(realRoot);
  const byRef = new Map<string, SbomComponent>();
  const self = await npmComponent(realRoot, await realpath(root), 'application', locks);
  byRef.set(self['bom-ref'], self);
  const dirs = await Promise.all(packageDirs.map((dir) => realpath(dir)));
  for (const dir of dirs.sort(byCodePoint)) {
    const component = await npmComponent(realRoot, dir, 'library', locks);
    if (!byRef.has(component['bom-ref'])) byRef.set(component['bom-ref'], component);
  }
  return [...byRef.values()];
}

/**
 * A component of type machine-learning-model for each model, with the SHA-256 of its model file.
 *
 * @example
 * const components = modelComponents(await collectModels(['./models']));
 */
export function modelComponents(
  models: readonly Pick<ModelFiles, 'name' | 'version' | 'sha256'>[],
): SbomComponent[] {
  return models.map((model) => ({
    type: 'machine-learning-model',
    'bom-ref': `model:${model.name}`,
    name: model.name,
    version: String(model.version),
    ...(/^[0-9a-f]{64}$/.test(model.sha256) ? { hashes: [{ alg: 'SHA-256', content: model.sha256 }] } : {}),
  }));
}

/** A copy with berth's key order, so that callers' objects serialise the same way. */
function ordered(component: SbomComponent): SbomComponent {
  const { type, name, version, group, hashes, licenses, purl } = component;
  return {
    type,
    'bom-ref': component['bom-ref'],
    ...(group === undefined ? {} : { group }),
    name,
    version,
    ...(hashes === undefined || hashes.length === 0
      ? {}
      : {
          hashes: [...hashes]
            .sort((a, b) => byCodePoint(a.alg, b.alg))
            .map((h) => ({ alg: h.alg, content: h.content.toLowerCase() })),
        }),
    ...(licenses === undefined || licenses.length === 0
      ? {}
      : {
          licenses: licenses.map((l) =>
            'expression' in l
              ? { expression: l.expression }
              : { license: 'id' in l.license ? { id: l.license.id } : { name: l.license.name } },
          ),
        }),
    ...(purl === undefined ? {} : { purl }),
  };
}

/** RFC 9562 UUIDv8 from the first 128 bits of a SHA-256, as a URN. */
function serialNumber(content: Buffer): string {
  const bits = createHash('sha256').update(content).digest().subarray(0, 16);
  bits.writeUInt8((bits.readUInt8(6) & 0x0f) | 0x80, 6); // version 8
  bits.writeUInt8((bits.readUInt8(8) & 0x3f) | 0x80, 8); // variant 10
  const hex = bits.toString('hex');
  return `urn:uuid:${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The CycloneDX 1.5 document of an image. Pure: the same input gives the same document, serial
 * number included.
 *
 * @throws BerthError when two different components share a bom-ref.
 * @example
 * const bom = cyclonedxBom({
 *   image: { name: 'resnet', version: '1.0.0', created: new Date(0) },
 *   berthVersion: '0.1.0',
 *   components: [...(await npmComponents(root, dirs)), ...modelComponents(models)],
 * });
 * const bytes = sbomBytes(bom);
 */
export function cyclonedxBom(input: SbomInput): CycloneDxBom {
  const byRef = new Map<string, SbomComponent>();
  for (const component of input.components.map(ordered)) {
    const ref = component['bom-ref'];
    const seen = byRef.get(ref);
    if (seen !== undefined && JSON.stringify(seen) !== JSON.stringify(component)) {
      throw new BerthError(
        'BERTH_ERR_PACKAGING_INVALID_IMAGE',
        `SBOM: two different components have bom-ref "${ref}"; expected each once`,
      );
    }
    byRef.set(ref, component);
  }
  const components = [...byRef.values()].sort((a, b) => byCodePoint(a['bom-ref'], b['bom-ref']));
  const metadata: CycloneDxBom['metadata'] = {
    timestamp: input.image.created.toISOString(),
    tools: { components: [{ type: 'application', name: 'berth', version: input.berthVersion }] },
    component: {
      type: input.image.type ?? 'container',
      'bom-ref': `${(input.image.type ?? 'container') === 'container' ? 'image' : 'subject'}:${input.image.name}`,
      name: input.image.name,
      version: input.image.version,
    },
  };
  const serial = serialNumber(sbomBytes({ specVersion: '1.5', metadata, components }));
  return {
    $schema: SCHEMA_URL,
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    serialNumber: serial,
    version: 1,
    metadata,
    components,
  };
}

/**
 * The document as it goes in the image: JSON with 2-space indents and a final newline.
 *
 * @example
 * const layerEntry = { type: 'file', path: 'app/sbom.cdx.json', mode: 0o644, source: sbomBytes(bom) };
 */
export function sbomBytes(bom: object): Buffer {
  return Buffer.from(`${JSON.stringify(bom, null, 2)}\n`, 'utf8');
}
