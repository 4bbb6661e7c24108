/**
 * Structured logging (pino). JSON lines by default, for log collectors; `pretty` for people.
 * Tensor data is never logged; authorization headers are redacted.
 */
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

import type { LogFormat, LogLevel } from './log-options.js';

export { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from './log-options.js';

export type { Logger };

export interface LoggerOptions {
  readonly level: LogLevel;
  readonly format: LogFormat;
  /** Where lines go; standard error by default so standard output stays for command results. */
  readonly destination?: NodeJS.WritableStream;
}

/**
 * @example
 * const log = createLogger({ level: 'info', format: 'json' });
 * log.info({ model: 'iris' }, 'model ready');
 */
export function createLogger(options: LoggerOptions): Logger {
  const config = {
    level: options.level,
    base: { service: 'berth' },
    redact: {
      paths: ['req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers.cookie'],
      censor: '[redacted]',
    },
  };
  if (options.format === 'pretty') {
    return pino(
      config,
      pretty({ colorize: false, destination: options.destination ?? process.stderr, sync: true }),
    );
  }
  return pino(config, options.destination ?? pino.destination({ fd: 2, sync: false }));
}
