/**
 * The generated reference of docs/spec.md: berth.yaml's JSON Schema (draft 2020-12) as Markdown
 * tables, one per section, a row per key path. `berth schema --markdown` prints it and
 * `npm run docs:spec` writes it between the markers in docs/spec.md. It reads the keywords zod
 * emits: `type`, `properties`, `additionalProperties`, `items`, `enum`, `const`, `anyOf`/`oneOf`,
 * `$ref` into the same document, the ranges (`minimum`, `exclusiveMinimum`, `minLength`,
 * `minItems`, ... of JSON Schema Validation 2020-12, section 6) and the annotations `default`
 * and `description` (section 9.2). Pure: schema in, text out.
 */

/** The keywords read here; a schema may hold others, which are left out of the tables. */
interface SchemaNode {
  readonly type?: string | readonly string[];
  readonly description?: string;
  readonly default?: unknown;
  readonly properties?: Readonly<Record<string, unknown>>;
  readonly additionalProperties?: unknown;
  readonly items?: unknown;
  readonly enum?: readonly unknown[];
  readonly const?: unknown;
  readonly anyOf?: readonly unknown[];
  readonly oneOf?: readonly unknown[];
  readonly $ref?: string;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly exclusiveMinimum?: number;
  readonly exclusiveMaximum?: number;
  readonly multipleOf?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly pattern?: string;
  readonly format?: string;
  readonly minItems?: number;
  readonly maxItems?: number;
  readonly uniqueItems?: boolean;
}

/** The text pattern of duration.ts: a number-or-text union with it is shown as a `duration`. */
const DURATION_PATTERN = String.raw`^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$`;
const COLUMNS = ['key', 'type', 'default', 'allowed', 'description'] as const;
type Row = Readonly<Record<(typeof COLUMNS)[number], string>>;

type Json = Readonly<Record<string, unknown>>;

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function asNode(value: unknown): SchemaNode {
  // `true` and `{}` both allow anything; neither has keywords to show.
  return isRecord(value) ? value : {};
}

/**
 * Follows a local `$ref` (`#/$defs/...`), as zod writes one for a schema used twice. Keywords
 * beside the `$ref` stay (2020-12 allows them) and win: a use's own description and default.
 */
function resolve(value: unknown, root: Json, hops = 0): SchemaNode {
  const node = asNode(value);
  if (node.$ref?.startsWith('#') !== true) return node;
  if (hops > 32) return {};
  let target: unknown = root;
  for (const part of node.$ref.slice(1).split('/').filter(Boolean)) {
    const key = decodeURIComponent(part).replaceAll('~1', '/').replaceAll('~0', '~');
    target = isRecord(target) ? target[key] : undefined;
  }
  const siblings = Object.fromEntries(Object.entries(node).filter(([key]) => key !== '$ref'));
  return { ...resolve(target, root, hops + 1), ...siblings };
}

function hasDefault(node: SchemaNode): boolean {
  return Object.hasOwn(node, 'default');
}

/** A code span that survives backticks inside it. */
function code(text: string): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}

/** A value as a description writes it: `5m`, `8`, `[10, 50, 100]`. */
function plain(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return `[${value.map(plain).join(', ')}]`;
  return JSON.stringify(value);
}

function literal(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (Array.isArray(value)) return code(`[${value.map((v) => JSON.stringify(v)).join(', ')}]`);
  return code(typeof value === 'string' ? value : JSON.stringify(value));
}

function isDuration(node: SchemaNode, root: Json): boolean {
  const members = (node.anyOf ?? node.oneOf ?? []).map((m) => resolve(m, root));
  return (
    members.length === 2 &&
    members.some((m) => m.type === 'number') &&
    members.some((m) => m.type === 'string' && m.pattern === DURATION_PATTERN)
  );
}

function typeOf(node: SchemaNode, root: Json): string {
  if (isDuration(node, root)) return 'duration';
  const members = node.anyOf ?? node.oneOf;
  if (members !== undefined) {
    return [...new Set(members.map((m) => typeOf(resolve(m, root), root)))].join(' or ');
  }
  const values = node.const !== undefined ? [node.const] : node.enum;
  const types = typeof node.type === 'string' ? [node.type] : (node.type ?? []);
  if (types.length === 0 && values !== undefined) {
    return [...new Set(values.map((v) => (v === null ? 'null' : typeof v)))].join(' or ');
  }
  if (types.length === 0) return 'any';
  return types
    .map((type) => {
      if (type === 'array') {
        return node.items === undefined ? 'list' : `list of ${typeOf(resolve(node.items, root), root)}`;
      }
      if (type === 'object') return node.properties === undefined ? 'mapping' : 'object';
      return type;
    })
    .join(' or ');
}

interface Bound {
  readonly value: number;
  readonly exclusive: boolean;
}

/** A bound of the schema; zod's ±Number.MAX_SAFE_INTEGER on integers is JavaScript's, not a rule. */
function bound(inclusive: number | undefined, exclusive: number | undefined): Bound | undefined {
  const real = (n: number | undefined): n is number =>
    n !== undefined && Math.abs(n) < Number.MAX_SAFE_INTEGER;
  if (real(exclusive)) return { value: exclusive, exclusive: true };
  return real(inclusive) ? { value: inclusive, exclusive: false } : undefined;
}

/** `0 to 256`, `above 0, at most 1000000`, `at least 1 items`: empty when neither end is bound. */
function range(low: Bound | undefined, high: Bound | undefined, unit = ''): string {
  if (low === undefined && high === undefined) return '';
  if (low?.exclusive === false && high?.exclusive === false) return `${low.value} to ${high.value}${unit}`;
  const ends = [
    low === undefined ? '' : `${low.exclusive ? 'above' : 'at least'} ${low.value}`,
    high === undefined ? '' : `${high.exclusive ? 'below' : 'at most'} ${high.value}`,
  ];
  return ends.filter(Boolean).join(', ') + unit;
}

function allowedOf(node: SchemaNode, root: Json): string {
  if (isDuration(node, root)) return `ms, or text such as ${code('1m30s')}`;
  const members = node.anyOf ?? node.oneOf;
  if (members !== undefined) {
    const parts = members.map((m) => resolve(m, root));
    if (parts.every((m) => allowedOf(m, root) === '')) return '';
    return parts.map((m) => [typeOf(m, root), allowedOf(m, root)].filter(Boolean).join(' ')).join('; or ');
  }
  if (node.const !== undefined) return literal(node.const);
  if (node.enum !== undefined) return node.enum.map(literal).join(', ');
  const parts: string[] = [];
  const numeric = range(
    bound(node.minimum, node.exclusiveMinimum),
    bound(node.maximum, node.exclusiveMaximum),
  );
  if (numeric !== '') parts.push(numeric);
  if (node.multipleOf !== undefined) parts.push(`a multiple of ${node.multipleOf}`);
  const characters = node.minLength === 1 && node.maxLength === undefined ? 'not empty' : '';
  const length =
    characters || range(bound(node.minLength, undefined), bound(node.maxLength, undefined), ' characters');
  if (length !== '') parts.push(length);
  if (node.pattern !== undefined) parts.push(`matches ${code(node.pattern)}`);
  if (node.format !== undefined) parts.push(`format ${node.format}`);
  if (node.items !== undefined) {
    const each = allowedOf(resolve(node.items, root), root);
    if (each !== '') parts.push(`each ${each}`);
  }
  const items = range(bound(node.minItems, undefined), bound(node.maxItems, undefined), ' items');
  if (items !== '') parts.push(items === 'at least 1 items' ? 'at least 1 item' : items);
  if (node.uniqueItems === true) parts.push('no repeats');
  if (node.properties === undefined && node.additionalProperties !== undefined) {
    const value = resolve(node.additionalProperties, root);
    if (node.additionalProperties === false) parts.push('no keys');
    else if (Object.keys(value).length > 0) {
      parts.push(`each value ${[typeOf(value, root), allowedOf(value, root)].filter(Boolean).join(' ')}`);
    }
  }
  return parts.join('; ');
}

/** The description, less a closing "Default X." that the default column already says. */
function descriptionOf(node: SchemaNode): string {
  const text = (node.description ?? '').replace(/\s+/g, ' ').trim();
  if (!hasDefault(node)) return text;
  const stated = `Default ${plain(node.default)}.`;
  return text === stated ? '' : text.endsWith(` ${stated}`) ? text.slice(0, -stated.length - 1) : text;
}

function rowOf(path: string, node: SchemaNode, root: Json): Row {
  return {
    key: code(path),
    type: typeOf(node, root),
    default: hasDefault(node) ? literal(node.default) : '',
    allowed: allowedOf(node, root),
    description: descriptionOf(node),
  };
}

/**
 * A row per key under `node`, depth first, an object's own row before its keys'. `refs` are the
 * `$ref`s on the way here: a schema that contains itself is listed once, not walked forever.
 */
function collectRows(prefix: string, node: SchemaNode, root: Json, refs: ReadonlySet<string>): Row[] {
  const rows: Row[] = [];
  for (const [key, value] of Object.entries(node.properties ?? {})) {
    const ref = asNode(value).$ref;
    const child = resolve(value, root);
    const path = prefix === '' ? key : `${prefix}.${key}`;
    rows.push(rowOf(path, child, root));
    if (child.properties !== undefined && (ref === undefined || !refs.has(ref))) {
      rows.push(...collectRows(path, child, root, ref === undefined ? refs : new Set([...refs, ref])));
    }
  }
  return rows;
}

/** A table as prettier formats one, so that the generated text is already formatted. */
function renderTable(rows: readonly Row[]): string {
  const cell = (text: string) => text.replaceAll('|', String.raw`\|`);
  const lines = [Object.fromEntries(COLUMNS.map((c) => [c, c])) as Row, ...rows].map((row) =>
    COLUMNS.map((column) => cell(row[column])),
  );
  // Widths in UTF-16 units, as prettier counts narrow text; the unit test formats the real one.
  const widths = COLUMNS.map((_, i) => Math.max(3, ...lines.map((cells) => (cells[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    `| ${cells.map((text, i) => text.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  const [header = [], ...body] = lines;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

/**
 * Renders a JSON Schema of berth.yaml (`specJsonSchema()`) as the Markdown reference of
 * docs/spec.md: a table of the top-level keys, then, for each section that is an object with
 * keys, its description and a table of every key path in it (`replicas.target.inflightPerReplica`)
 * with type, default, allowed values and description. Headings are level 3, to sit under the
 * page's "Reference" heading.
 *
 * @example
 * renderSchemaReference(specJsonSchema()); // '### Top-level keys\n\n| key | type | ...'
 */
export function renderSchemaReference(root: Readonly<Record<string, unknown>>): string {
  const top = Object.entries(asNode(root).properties ?? {}).map(
    ([key, value]) => [key, resolve(value, root), asNode(value).$ref] as const,
  );
  const blocks = ['### Top-level keys', renderTable(top.map(([key, node]) => rowOf(key, node, root)))];
  for (const [key, node, ref] of top) {
    if (node.properties === undefined) continue;
    blocks.push(`### ${code(key)}`);
    const about = (node.description ?? '').replace(/\s+/g, ' ').trim();
    if (about !== '') blocks.push(about);
    blocks.push(renderTable(collectRows(key, node, root, new Set(ref === undefined ? [] : [ref]))));
  }
  return blocks.join('\n\n') + '\n';
}
