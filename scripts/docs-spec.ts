/**
 * `npm run docs:spec`: rewrites the generated reference of docs/spec.md, the part between
 * `<!-- reference:start -->` and `<!-- reference:end -->`, with what `berth schema --markdown`
 * prints. It reads the built code in dist/ (the npm script builds first) and runs on Node's own
 * type stripping. test/e2e/schema.test.ts fails while the committed part differs.
 */
import { readFile, writeFile } from 'node:fs/promises';
import type * as Spec from '../src/spec/index.js';

const START = '<!-- reference:start -->';
const END = '<!-- reference:end -->';
const page = new URL('../docs/spec.md', import.meta.url);

const { renderSchemaReference, specJsonSchema } = (await import(
  new URL('../dist/spec/index.js', import.meta.url).href
)) as typeof Spec;
const text = await readFile(page, 'utf8');
const start = text.indexOf(START);
const end = text.indexOf(END, start);
if (start < 0 || end < 0) {
  process.stderr.write(`docs-spec: docs/spec.md has no ${START} ... ${END} section to rewrite\n`);
  process.exit(1);
}
const next = `${text.slice(0, start + START.length)}\n\n${renderSchemaReference(specJsonSchema())}\n${text.slice(end)}`;
if (next === text) process.stderr.write('docs-spec: docs/spec.md is current\n');
else {
  await writeFile(page, next);
  process.stderr.write('docs-spec: rewrote the reference in docs/spec.md\n');
}
