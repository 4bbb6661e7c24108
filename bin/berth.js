#!/usr/bin/env node
// The `berth` command. Plain JavaScript that any Node.js can parse, so that the two mistakes a new
// user makes here get a sentence instead of a stack: an unsupported Node.js, and a checkout that
// was never built.
import { existsSync } from 'node:fs';

const major = Number(process.versions.node.split('.')[0]);
if (major < 22) {
  process.stderr.write(
    `berth: Node.js ${process.versions.node} is not supported (end of life); use Node.js 22 or 24\n`,
  );
}
const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write(
    'berth: this checkout is not built yet (dist/cli/main.js is missing): run `npm ci && npm run build`, or `npm start` to build and serve the example\n',
  );
  process.exit(1);
}
await import(main.href);
