import { existsSync } from 'node:fs';

/** End-to-end tests run the built CLI; fail loudly rather than test a stale or missing build. */
export default function setup(): void {
  if (!existsSync(new URL('../dist/cli/main.js', import.meta.url))) {
    throw new Error('dist/ is missing: run `npm run build` (npm test does it) before the tests');
  }
}
