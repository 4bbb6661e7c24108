/**
 * `berth.yaml`, the one spec file every command reads (docs/architecture.md, "One spec file"). This
 * module knows its top-level shape and validates, strictly, the sections the commands use: `name`,
 * `repository` and `image` (`berth build`), `replicas`, `rollout` and `resilience`
 * (orchestration.ts, for `berth up`), `serve` (serve-section.ts: access and TLS for `berth
 * serve` and the `berth up` gateway) and `kubernetes` (kubernetes-section.ts, for `berth render
 * k8s`). The other documented sections (`models`, `async`) are accepted as mappings and left to
 * the commands that will own them; an unknown key is an error naming its path.
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { kubernetesSection } from './kubernetes-section.js';
import { nomadSection } from './nomad-section.js';
import { serveSection } from './serve-section.js';
import { BerthError } from '../ground/index.js';
import { formatIssues } from '../repository/index.js';
import { replicasSection, resilienceSection, rolloutSection } from './orchestration.js';

/** The file berth looks for in the working directory when no `-f` is given. */
export const SPEC_FILE = 'berth.yaml';
/** Specs are small; a larger file is refused before it is parsed. */
const MAX_SPEC_BYTES = 1 << 20;

const section = z.record(z.string(), z.unknown());

const imageSection = z
  .object({
    /** Base image: a registry reference or oci:/oci-archive:/docker-archive: source. */
    base: z
      .string()
      .min(1)
      .max(512)
      .optional()
      .describe(
        'Base image: a registry reference, or an oci:, oci-archive: or docker-archive: source. Default: distroless Node.js.',
      ),
    /** Image name without tag, e.g. registry.example/fraud (where `berth build --push` goes). */
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9._:/-]*$/, 'expected a lower-case image name such as registry.example/fraud')
      .max(255)
      .optional()
      .describe('Image name without tag, such as registry.example/fraud. Default: `name`.'),
    tag: z
      .string()
      .regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/, 'expected a tag: letters, digits, _ . - (at most 128)')
      .optional()
      .describe("Image tag: letters, digits, _ . - (at most 128). Default: berth's version."),
    platforms: z
      .array(z.enum(['linux/amd64', 'linux/arm64']))
      .min(1)
      .refine((list) => new Set(list).size === list.length, 'a platform is listed twice')
      .optional()
      .describe("Platforms to build for, each once. Default: this machine's."),
  })
  .strict();

const specSchema = z
  .object({
    name: z
      .string()
      .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'expected a DNS label: lower-case letters, digits and -')
      .optional()
      .describe("The deployment's name (a DNS label): images, manifests and metrics carry it."),
    /** The model repository folder, relative to the spec file. */
    repository: z
      .string()
      .min(1)
      .optional()
      .describe('The model repository folder (Triton layout), relative to this file.'),
    image: imageSection.optional().describe('What `berth build` makes: base, name, tag, platforms.'),
    models: section
      .optional()
      .describe('Per-model settings. Accepted as a mapping for now, not yet validated.'),
    serve: serveSection
      .optional()
      .describe(
        'Who may call `berth serve` and the `berth up` gateway, and over TLS: auth, limits, tls, auditLog.',
      ),
    replicas: replicasSection
      .optional()
      .describe('How many replicas `berth up` runs, and how it scales them.'),
    rollout: rolloutSection
      .optional()
      .describe('How a new model version reaches traffic, and when it rolls back.'),
    resilience: resilienceSection
      .optional()
      .describe("The gateway's timeouts, retries, ejection, breakers and cold-start buffer."),
    async: section
      .optional()
      .describe('Asynchronous inference through a queue. Accepted as a mapping for now, not yet validated.'),
    kubernetes: kubernetesSection
      .optional()
      .describe(
        'What `berth render k8s` makes beyond the other sections: namespace, image, resources, scheduling, autoscaler, models, network, secrets, traffic.',
      ),
    nomad: nomadSection
      .optional()
      .describe(
        'What `berth render nomad` adds: datacenters, region, namespace, service provider, Consul Connect, driver.',
      ),
  })
  .strict();

export type BerthSpec = z.output<typeof specSchema>;

/**
 * The JSON Schema of berth.yaml (draft 2020-12), from the same definitions that validate it:
 * what `berth schema` prints and docs/berth.schema.json holds, for editors.
 */
export function specJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(specSchema, { io: 'input', unrepresentable: 'any' }),
    title: 'berth.yaml',
    description: 'The one spec file every berth command reads (docs/spec.md).',
  };
}

export interface LoadedSpec {
  readonly path: string;
  readonly spec: BerthSpec;
  /** `repository`, resolved against the spec file's folder. */
  readonly repository?: string;
}

function invalid(path: string, message: string, cause?: unknown): BerthError {
  return new BerthError(
    'BERTH_ERR_SPEC_INVALID',
    `${path}: ${message}`,
    cause === undefined ? undefined : { cause },
  );
}

/**
 * Validates spec text.
 *
 * @example
 * parseSpec('name: fraud\nimage: { platforms: [linux/amd64] }\n', 'berth.yaml');
 */
export function parseSpec(text: string, where: string): BerthSpec {
  let raw: unknown;
  try {
    raw = parseYaml(text, { maxAliasCount: 100 }) ?? {};
  } catch (error) {
    throw invalid(where, `not valid YAML: ${error instanceof Error ? error.message : String(error)}`, error);
  }
  const result = specSchema.safeParse(raw);
  if (!result.success) throw invalid(where, formatIssues(result.error));
  return result.data;
}

/**
 * Reads a spec file: the one named, or `berth.yaml` in `cwd` when it exists (undefined if not).
 *
 * @throws BerthError BERTH_ERR_SPEC_INVALID when a named file is missing or any file is invalid.
 */
export async function loadSpec(
  file: string | undefined,
  cwd = process.cwd(),
): Promise<LoadedSpec | undefined> {
  const path = resolve(cwd, file ?? SPEC_FILE);
  let text: string;
  try {
    const bytes = await readFile(path);
    if (bytes.byteLength > MAX_SPEC_BYTES) throw invalid(path, `larger than ${MAX_SPEC_BYTES} bytes`);
    text = bytes.toString('utf8');
  } catch (error) {
    if (error instanceof BerthError) throw error;
    if (file === undefined && (error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw invalid(path, `cannot read (${(error as NodeJS.ErrnoException).code ?? String(error)})`, error);
  }
  const spec = parseSpec(text, path);
  const repository =
    spec.repository === undefined
      ? undefined
      : isAbsolute(spec.repository)
        ? spec.repository
        : resolve(dirname(path), spec.repository);
  return { path, spec, ...(repository === undefined ? {} : { repository }) };
}
