/**
 * HCL, the native syntax of Nomad jobs and Terraform, written from plain data: attributes
 * (`name = value`) and blocks (`type "label" { ... }`). Strings are escaped as HCL's templates
 * require (`${` and `%{` doubled, quotes, backslashes and control characters escaped), so a value
 * such as a Vault template or a shell line comes back unchanged. Pure.
 */

/** An expression written as it is (`var.kubeconfig`, `kubernetes_manifest.namespace_ml`). */
export class HclExpression {
  constructor(readonly text: string) {}
}

export type HclValue =
  | HclExpression
  | string
  | number
  | boolean
  | null
  | readonly HclValue[]
  | { readonly [key: string]: HclValue | undefined };

export interface HclAttribute {
  readonly attribute: string;
  readonly value: HclValue;
}

export interface HclBlock {
  readonly block: string;
  readonly labels?: readonly string[];
  readonly body: readonly HclItem[];
}

export type HclItem = HclAttribute | HclBlock;

/** An attribute, left out when `value` is undefined. */
export const attr = (attribute: string, value: HclValue | undefined): HclItem[] =>
  value === undefined ? [] : [{ attribute, value }];

export const block = (name: string, labels: readonly string[], body: readonly HclItem[]): HclBlock => ({
  block: name,
  labels,
  body,
});

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** A quoted HCL string. */
export function hclString(text: string): string {
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    const next = text[i + 1];
    if (c === '\\') out += '\\\\';
    else if (c === '"') out += '\\"';
    else if (c === '\n') out += '\\n';
    else if (c === '\r') out += '\\r';
    else if (c === '\t') out += '\\t';
    else if ((c === '$' || c === '%') && next === '{') out += c + c;
    else if (c < ' ' || c === '\u007f') out += `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
    else out += c;
  }
  return `${out}"`;
}

function value(v: HclValue, indent: string): string {
  if (v === null) return 'null';
  if (v instanceof HclExpression) return v.text;
  if (typeof v === 'string') return hclString(v);
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new RangeError(`HCL has no ${v}`);
    return String(v);
  }
  if (typeof v === 'boolean') return String(v);
  const inner = `${indent}  `;
  if (Array.isArray(v)) {
    const items = v as readonly HclValue[];
    if (items.length === 0) return '[]';
    if (items.every((i) => typeof i !== 'object' || i === null || i instanceof HclExpression))
      return `[${items.map((i) => value(i, inner)).join(', ')}]`;
    return `[\n${items.map((i) => `${inner}${value(i, inner)},`).join('\n')}\n${indent}]`;
  }
  const entries = Object.entries(v as Record<string, HclValue | undefined>).filter(
    (e): e is [string, HclValue] => e[1] !== undefined,
  );
  if (entries.length === 0) return '{}';
  const key = (k: string) => (IDENTIFIER.test(k) ? k : hclString(k));
  return `{\n${entries.map(([k, item]) => `${inner}${key(k)} = ${value(item, inner)}`).join('\n')}\n${indent}}`;
}

function items(body: readonly HclItem[], indent: string): string {
  return body
    .map((item) => {
      if ('attribute' in item) return `${indent}${item.attribute} = ${value(item.value, indent)}\n`;
      const labels = (item.labels ?? []).map((l) => ` ${hclString(l)}`).join('');
      if (item.body.length === 0) return `${indent}${item.block}${labels} {}\n`;
      return `${indent}${item.block}${labels} {\n${items(item.body, `${indent}  `)}${indent}}\n`;
    })
    .join('');
}

/** The HCL text of a file's top-level items, blocks separated by a blank line. */
export function writeHcl(body: readonly HclItem[]): string {
  return body.map((item) => items([item], '')).join('\n');
}
