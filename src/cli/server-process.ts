/**
 * V8 settings for berth's long-running server processes (`berth serve`, `berth up`), set once at
 * the start of their command, before the first request. A library user of `startServer` keeps the
 * process's own settings: these are the command's choice, not the server module's
 * (docs/adr/0008).
 *
 * `--external-memory-accounted-in-global-limit`: node's HTTP parser hands every read of a request
 * body to JavaScript as a new Buffer, memory V8 counts as external. By default V8 starts a full
 * mark-compact each time about 64 MB of it has been allocated since the last one, whatever the heap
 * holds: at mobilenet_v2's 600 KB a request that was a mark-compact every 200–400 ms (38–46 in a
 * 6 s run). Counted in V8's global limit instead, which grows with the heap, the same load ran 2–12
 * (BENCHMARKS.md, "Request bodies and the garbage collector"). The flag exists from V8 13 (Node.js
 * 24); Node.js 22's V8 does not know it and would print an error, so it is not set there. A flag
 * given on node's own command line (either form) wins.
 */
import { setFlagsFromString } from 'node:v8';

const EXTERNAL_MEMORY_FLAG = 'external-memory-accounted-in-global-limit';

/** Whether this V8 knows the flag: it was added in V8 13. */
function knowsExternalMemoryFlag(v8Version: string): boolean {
  return Number(v8Version.split('.')[0]) >= 13;
}

/**
 * The V8 flags a server process gets, given node's own command-line flags and V8's version.
 *
 * @example
 * serverV8Flags([], '13.6.233.17'); // ['--external-memory-accounted-in-global-limit']
 */
export function serverV8Flags(execArgv: readonly string[], v8Version: string): string[] {
  if (!knowsExternalMemoryFlag(v8Version)) return [];
  const given = execArgv.some(
    (arg) => arg.replace(/_/g, '-').replace(/^--no-/, '--') === `--${EXTERNAL_MEMORY_FLAG}`,
  );
  return given ? [] : [`--${EXTERNAL_MEMORY_FLAG}`];
}

/** Applies serverV8Flags to this process. */
export function tuneServerProcess(): void {
  for (const flag of serverV8Flags(process.execArgv, process.versions.v8)) setFlagsFromString(flag);
}
