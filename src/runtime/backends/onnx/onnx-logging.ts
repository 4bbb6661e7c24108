/**
 * What onnxruntime itself writes, and when. onnxruntime-node gives no logging callback: its
 * native logger writes coloured text lines (`[W:onnxruntime:, graph.cc:5607 ...]`) straight to
 * the process's standard error, from every worker thread, where they break a JSON log stream.
 * They cannot be routed into berth's logger, so they stay off unless berth logs at debug or
 * trace. What onnxruntime reports as an error also comes back as a status and reaches the log as
 * a BerthError; its warnings (an unused initializer, a node left off the preferred execution
 * provider) show at debug. This module does not load onnxruntime-node: the main thread decides,
 * the worker thread applies (onnx-session.ts).
 *
 * onnxruntime 1.29 added telemetry on Linux and macOS (microsoft/onnxruntime#27379). With it on,
 * every process that creates a session queues events for upload to Microsoft, writes
 * `mat-debug-<pid>.log` and `.ses` into TMPDIR and a device id and an event cache into
 * `Microsoft/DeveloperTools/.onnxruntime/` under `$XDG_CACHE_HOME` (or `~/.cache`), and warns on
 * standard error when it finds no CA bundle. onnxruntime-node exposes no API to stop it; the
 * environment variable ORT_DISABLE_TELEMETRY does, read when the first session is created.
 */
import type { LogLevel } from '../../../observability/index.js';

/** onnxruntime's log severities, as `env.logLevel` names them (session options take 0–4). */
export const ONNX_LOG_LEVELS = ['verbose', 'info', 'warning', 'error', 'fatal'] as const;
export type OnnxLogLevel = (typeof ONNX_LOG_LEVELS)[number];

/**
 * onnxruntime's severity for each of berth's log levels. onnxruntime has no "off": fatal is its
 * quietest, written only just before it aborts the process.
 */
const ONNX_LOG_LEVEL_OF = new Map<string, OnnxLogLevel>(
  Object.entries({
    trace: 'verbose',
    debug: 'info',
    info: 'fatal',
    warn: 'fatal',
    error: 'fatal',
    fatal: 'fatal',
    silent: 'fatal',
  } satisfies Record<LogLevel, OnnxLogLevel>),
);

/**
 * The severity from which onnxruntime writes its own lines, for berth's log level (a pino level
 * name: `Logger.level`). Anything but debug and trace keeps it quiet, as does a name berth does
 * not know.
 *
 * @example
 * onnxLogLevelFor('info'); // 'fatal': no native lines next to the JSON log
 * onnxLogLevelFor('debug'); // 'info': onnxruntime's info, warning and error lines as well
 */
export function onnxLogLevelFor(berthLevel: string): OnnxLogLevel {
  return ONNX_LOG_LEVEL_OF.get(berthLevel) ?? 'fatal';
}

/**
 * The number `SessionOptions.logSeverityLevel` takes for a severity: 0 (verbose) to 4 (fatal).
 *
 * @example
 * onnxSeverityNumber('warning'); // 2
 */
export function onnxSeverityNumber(level: OnnxLogLevel): 0 | 1 | 2 | 3 | 4 {
  return ONNX_LOG_LEVELS.indexOf(level) as 0 | 1 | 2 | 3 | 4;
}

export const ONNX_TELEMETRY_VARIABLE = 'ORT_DISABLE_TELEMETRY';

/**
 * Turns onnxruntime's telemetry off for this process unless ORT_DISABLE_TELEMETRY says otherwise:
 * `ORT_DISABLE_TELEMETRY=0` keeps it on, and an empty value, which onnxruntime reads as on, counts
 * as unset. Call it on the main thread before the first session is created in any thread: a
 * worker's `process.env` is a copy the native library never sees, while the main thread's is the
 * process environment (so processes berth starts inherit it too). Returns whether it set it.
 *
 * @example
 * disableOnnxTelemetry(); // before new Worker(...) creates the first session
 */
export function disableOnnxTelemetry(env: NodeJS.ProcessEnv = process.env): boolean {
  const set = env[ONNX_TELEMETRY_VARIABLE];
  if (set !== undefined && set !== '') return false;
  env[ONNX_TELEMETRY_VARIABLE] = '1';
  return true;
}
