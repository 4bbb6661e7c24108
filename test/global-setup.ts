import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * End-to-end tests run the built CLI: fail loudly rather than test a stale or missing build.
 *
 * Every file and folder a test makes in the temporary directory goes into one folder of this
 * run's (TMPDIR, which the test workers and every berth process they start inherit), and the
 * folder is removed when the run ends, whatever a test left. What was left is named, so that the
 * test that forgot its cleanup can be found.
 */
export default function setup(): () => void {
  if (!existsSync(new URL('../dist/cli/main.js', import.meta.url))) {
    throw new Error('dist/ is missing: run `npm run build` (npm test does it) before the tests');
  }
  const outer = tmpdir();
  // Lower case: podman names images after oci: paths, and refuses upper-case names.
  const run = join(outer, `berth-test-run-${process.pid}-${randomBytes(4).toString('hex')}`);
  mkdirSync(run, { mode: 0o700 });
  process.env.TMPDIR = run;
  return () => {
    const left = readdirSync(run);
    rmSync(run, { recursive: true, force: true });
    process.env.TMPDIR = outer;
    if (left.length > 0) {
      const names = left.map((name) => name.replace(/-[A-Za-z0-9]{6}$/, '-*'));
      const counts = new Map<string, number>();
      for (const name of names) counts.set(name, (counts.get(name) ?? 0) + 1);
      process.stderr.write(
        `test run: removed ${left.length} temporary entries the tests left: ${[...counts].map(([n, c]) => `${n} x${c}`).join(', ')}\n`,
      );
    }
  };
}
