/**
 * `berth schema` through the real CLI: the schema of berth.yaml and its Markdown reference, and
 * the copies in docs/ (berth.schema.json, the generated section of spec.md) kept current.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDirsForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirsForFile('berth-schema-');
const PUBLISHED = new URL('../../docs/berth.schema.json', import.meta.url);
const SPEC_PAGE = new URL('../../docs/spec.md', import.meta.url);
const START = '<!-- reference:start -->';
const END = '<!-- reference:end -->';

/** The generated part of docs/spec.md, between its markers. */
function publishedReference(): string {
  const page = readFileSync(SPEC_PAGE, 'utf8');
  const start = page.indexOf(START);
  const end = page.indexOf(END, start);
  expect(start, `docs/spec.md needs a ${START} ... ${END} section`).toBeGreaterThanOrEqual(0);
  expect(end, `docs/spec.md needs ${END} after ${START}`).toBeGreaterThan(start);
  return page.slice(start + START.length, end);
}

describe('berth schema', () => {
  it('prints the JSON Schema of berth.yaml, the same as docs/berth.schema.json', () => {
    const result = runCli(['schema']);
    expect(result.status).toBe(0);
    const schema = JSON.parse(result.stdout) as { $schema: string; properties: Record<string, unknown> };
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining(['replicas', 'rollout', 'resilience']),
    );
    // When this fails, the spec changed: run `node bin/berth.js schema -o docs/berth.schema.json`.
    expect(result.stdout).toBe(readFileSync(PUBLISHED, 'utf8'));
  });

  it('writes it to a file with -o and says where', () => {
    const file = join(tempDir(), 'berth.schema.json');
    const result = runCli(['schema', '-o', file]);
    expect(result.status).toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`wrote the berth.yaml schema to ${file}`);
    expect(readFileSync(file, 'utf8')).toBe(readFileSync(PUBLISHED, 'utf8'));
  });

  it('prints the reference tables with --markdown, the same as the generated part of docs/spec.md', () => {
    const result = runCli(['schema', '--markdown']);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^### Top-level keys\n/);
    expect(result.stdout).toContain('| `replicas.target.inflightPerReplica` | number   | 8       |');
    expect(result.stdout).toContain('| `resilience.breaker.coolDown`');
    // When this fails, the spec changed: run `npm run docs:spec`.
    expect(publishedReference(), 'docs/spec.md is stale: run `npm run docs:spec` to regenerate it').toBe(
      `\n\n${result.stdout}\n`,
    );
  });

  it('writes the reference to a file with --markdown -o and says where', () => {
    const file = join(tempDir(), 'reference.md');
    const result = runCli(['schema', '--markdown', '-o', file]);
    expect(result.status).toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`wrote the berth.yaml reference to ${file}`);
    expect(publishedReference(), 'docs/spec.md is stale: run `npm run docs:spec`').toBe(
      `\n\n${readFileSync(file, 'utf8')}\n`,
    );
  });

  it('refuses an unknown option with the usage error', () => {
    const result = runCli(['schema', '--yaml']);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('BERTH_ERR_CLI_USAGE');
  });
});
