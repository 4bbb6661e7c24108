import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * What third-party tools write into TMPDIR on their own, where no test can stop them: the run's
 * folder removes these without complaint. Everything else a test leaves fails the run.
 */
const WRITTEN_BY_TOOLS: readonly { readonly name: RegExp; readonly writer: string }[] = [
  // libonnxruntime.so.1's telemetry writes both in every process that creates a session, unless
  // ORT_DISABLE_TELEMETRY is set (as below, and as berth's backend sets it for its workers).
  { name: /^mat-debug-\d+\.log$/, writer: 'onnxruntime' },
  { name: /^\.ses$/, writer: 'onnxruntime' },
  // node's module compile cache, where a tool calls module.enableCompileCache() (tsc and vite do).
  { name: /^node-compile-cache$/, writer: 'node' },
  // podman build (buildah) keeps its layer cache there.
  { name: /^buildah-cache/, writer: 'podman build' },
];

/**
 * End-to-end tests run the built CLI: fail loudly rather than test a stale or missing build.
 *
 * Every file and folder a test makes in the temporary directory goes into one folder of this
 * run's (TMPDIR, which the test workers and every berth process they start inherit), and the
 * folder is removed when the run ends, whatever a test left. Anything left there but what
 * third-party tools write (above) fails the run, named, so that the test that forgot its cleanup
 * is found while it is fresh.
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
  // Tests that open onnxruntime sessions directly bypass berth's backend, which turns
  // onnxruntime's telemetry off; without this they write telemetry under ~/.cache too.
  process.env.ORT_DISABLE_TELEMETRY = '1';
  return () => {
    const left = readdirSync(run).filter((name) => !WRITTEN_BY_TOOLS.some((tool) => tool.name.test(name)));
    rmSync(run, { recursive: true, force: true });
    process.env.TMPDIR = outer;
    if (left.length > 0) {
      const names = left.map((name) => name.replace(/-[A-Za-z0-9]{6}$/, '-*'));
      const counts = new Map<string, number>();
      for (const name of names) counts.set(name, (counts.get(name) ?? 0) + 1);
      // vitest only logs an error thrown by a global teardown ("error during close") and exits 0:
      // set the exit status as well, so that CI fails.
      process.exitCode = 1;
      throw new Error(
        `the tests left ${left.length} temporary entries (removed now): ${[...counts].map(([n, c]) => `${n} x${c}`).join(', ')}; ` +
          'make them with tempDirsForFile (test/helpers/temp-dir.ts) or remove them in afterAll/afterEach',
      );
    }
  };
}
