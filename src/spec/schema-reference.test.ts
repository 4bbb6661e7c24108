import { format, resolveConfig } from 'prettier';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { specJsonSchema } from './berth-spec.js';
import { duration } from './duration.js';
import { renderSchemaReference } from './schema-reference.js';

type Cells = Readonly<Record<'type' | 'default' | 'allowed' | 'description', string>>;

/** The rows of every table, by key path (the key cell without its backticks). */
function rowsOf(markdown: string): Map<string, Cells> {
  const rows = new Map<string, Cells>();
  for (const line of markdown.split('\n').filter((l) => l.startsWith('| `'))) {
    const cells = line
      .slice(2, -2)
      .split(/(?<!\\) \| /)
      .map((c) => c.trim().replaceAll('\\|', '|'));
    const [key = '', type = '', fallback = '', allowed = '', description = ''] = cells;
    rows.set(key.replace(/^`+|`+$/g, ''), { type, default: fallback, allowed, description });
  }
  return rows;
}

/** Every key path of a JSON Schema whose value has no keys of its own. */
function leafPaths(node: Record<string, unknown>, prefix = ''): string[] {
  const properties = (node.properties ?? {}) as Record<string, Record<string, unknown>>;
  return Object.entries(properties).flatMap(([key, child]) => {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    return child.properties === undefined ? [path] : leafPaths(child, path);
  });
}

function schemaOf(shape: z.ZodRawShape): Record<string, unknown> {
  return z.toJSONSchema(z.object(shape).strict(), { io: 'input', unrepresentable: 'any' });
}

describe('the reference of berth.yaml', () => {
  const reference = renderSchemaReference(specJsonSchema());
  const rows = rowsOf(reference);

  it('has a row for every leaf key of the real schema', () => {
    const leaves = leafPaths(specJsonSchema());
    expect(leaves).toContain('replicas.target.inflightPerReplica');
    expect(leaves).toContain('rollout.analysis.compare.mode');
    expect(leaves.filter((path) => !rows.has(path))).toEqual([]);
  });

  it('gives every key a description', () => {
    const bare = [...rows].filter(([, row]) => row.description === '').map(([key]) => key);
    expect(bare).toEqual([]);
  });

  it('has a table for each section with keys, under its own heading', () => {
    const headings = reference.split('\n').filter((line) => line.startsWith('#'));
    expect(headings).toEqual([
      '### Top-level keys',
      '### `image`',
      '### `serve`',
      '### `replicas`',
      '### `rollout`',
      '### `resilience`',
      '### `kubernetes`',
      '### `nomad`',
    ]);
    expect(rows.get('models')).toMatchObject({ type: 'mapping' });
    expect(rows.get('replicas')).toMatchObject({ type: 'object' });
    expect(rows.get('serve.limits.perModel')).toMatchObject({ type: 'mapping' });
  });

  it('shows types, defaults, allowed values and durations as berth reads them', () => {
    expect(rows.get('replicas.min')).toEqual({
      type: 'integer',
      default: '1',
      allowed: '0 to 256',
      description: 'Fewest replicas; 0 lets an idle model scale to zero.',
    });
    expect(rows.get('replicas.target.inflightPerReplica')).toMatchObject({
      type: 'number',
      default: '8',
      allowed: 'above 0, at most 1000000',
    });
    expect(rows.get('rollout.strategy')).toMatchObject({
      type: 'string',
      default: '`rolling`',
      allowed: '`rolling`, `canary`, `shadow`',
    });
    expect(rows.get('rollout.steps')).toMatchObject({
      type: 'list of number',
      default: '`[10, 50, 100]`',
      allowed: 'each 1 to 100; 1 to 20 items',
    });
    expect(rows.get('image.platforms')).toMatchObject({
      allowed: 'each `linux/amd64`, `linux/arm64`; at least 1 item',
    });
    expect(rows.get('resilience.breaker.coolDown')).toMatchObject({
      type: 'duration',
      default: '`5s`',
      allowed: 'ms, or text such as `1m30s`',
    });
    expect(rows.get('replicas.max')?.default).toBe('');
  });

  it('never states a default in a description that differs from the default column', () => {
    // "Default X." is dropped where it repeats the schema's default; one left over disagrees with it.
    const stale = [...rows].filter(([, row]) => row.default !== '' && row.description.includes('Default'));
    expect(stale).toEqual([]);
  });

  it('is already formatted as prettier formats docs/spec.md', async () => {
    const options = (await resolveConfig('docs/spec.md')) ?? {};
    expect(await format(reference, { ...options, parser: 'markdown' })).toBe(reference);
  });
});

describe('renderSchemaReference', () => {
  it('names a duration of duration.ts as one', () => {
    const rows = rowsOf(renderSchemaReference(schemaOf({ wait: duration('1m30s') })));
    expect(rows.get('wait')).toMatchObject({ type: 'duration', default: '`1m30s`' });
  });

  it('walks nested objects, unions, constants and references', () => {
    const shared = z.object({ depth: z.number().int().min(1).describe('How deep.') }).strict();
    const schema = schemaOf({
      outer: z
        .object({
          inner: z.object({ leaf: z.boolean().default(false).describe('A switch. Default false.') }).strict(),
          either: z.union([z.string().min(2).max(9), z.number().int().lt(5)]).describe('One or the other.'),
          fixed: z.literal('v1').describe('Always v1.'),
          a: shared.describe('First use.'),
          b: shared.describe('Second use.'),
        })
        .strict(),
    });
    const rows = rowsOf(renderSchemaReference(schema));
    expect([...rows.keys()]).toEqual([
      'outer',
      'outer.inner',
      'outer.inner.leaf',
      'outer.either',
      'outer.fixed',
      'outer.a',
      'outer.a.depth',
      'outer.b',
      'outer.b.depth',
    ]);
    expect(rows.get('outer.inner.leaf')).toEqual({
      type: 'boolean',
      default: 'false',
      allowed: '',
      description: 'A switch.',
    });
    expect(rows.get('outer.either')).toMatchObject({
      type: 'string or integer',
      allowed: 'string 2 to 9 characters; or integer below 5',
    });
    expect(rows.get('outer.fixed')).toMatchObject({ type: 'string', allowed: '`v1`' });
    expect(rows.get('outer.b.depth')).toMatchObject({ type: 'integer', allowed: 'at least 1' });
  });

  it('follows a $ref into $defs and stops at a schema that contains itself', () => {
    const schema = {
      $defs: { node: { type: 'object', properties: { next: { $ref: '#/$defs/node' } } } },
      type: 'object',
      properties: { tree: { $ref: '#/$defs/node', description: 'Kept beside its $ref.' } },
    };
    const rows = rowsOf(renderSchemaReference(schema));
    expect([...rows.keys()]).toEqual(['tree', 'tree.next']);
    expect(rows.get('tree')).toMatchObject({ type: 'object', description: 'Kept beside its $ref.' });
  });

  it('escapes pipes, so a pattern with alternatives stays in its cell', () => {
    const reference = renderSchemaReference(
      schemaOf({
        unit: z
          .string()
          .regex(/^(ms|s)$/)
          .describe('ms | s'),
      }),
    );
    expect(reference).toContain(String.raw`matches ${'`'}^(ms\|s)$${'`'}`);
    expect(rowsOf(reference).get('unit')).toMatchObject({
      allowed: 'matches `^(ms|s)$`',
      description: 'ms | s',
    });
  });
});
