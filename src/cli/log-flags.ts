/** The log options every long-running command has (`berth serve`, `berth up`), read one way. */
import { Option } from 'commander';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat } from '../observability/log-options.js';
import { parseChoice } from './option-parsers.js';

export function logLevelOption(): Option {
  return new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('info');
}

export function logFormatOption(): Option {
  return new Option('--log-format <format>', 'log format (auto: pretty on a terminal, else json)')
    .choices(['auto', ...LOG_FORMATS])
    .default('auto');
}

/** The format `--log-format` means here: `auto` is pretty on a terminal, JSON lines elsewhere. */
export function logFormatOf(flag: string): LogFormat {
  if (flag !== 'auto') return parseChoice('--log-format', flag, LOG_FORMATS);
  return process.stderr.isTTY ? 'pretty' : 'json';
}
