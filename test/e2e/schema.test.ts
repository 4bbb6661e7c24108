/** `berth schema` through the real CLI: the schema of berth.yaml, and the copy in docs/ kept current. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { tempDirsForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirsForFile('berth-schema-');
const PUBLISHED = new URL('../../docs/berth.schema.json', import.meta.url);

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

  it('refuses an unknown option with the usage error', () => {
    const result = runCli(['schema', '--yaml']);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('BERTH_ERR_CLI_USAGE');
  });
});
