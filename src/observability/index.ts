/** Logging (pino) and metrics (prom-client). */
export {
  createLogger,
  LOG_FORMATS,
  LOG_LEVELS,
  type LogFormat,
  type Logger,
  type LoggerOptions,
  type LogLevel,
} from './logger.js';
export { createServerMetrics, type ServerMetrics } from './metrics.js';
export { CounterFamily, CounterSeries, HistogramFamily, HistogramSeries } from './metric-families.js';
export { ModelStats, type BatchStat, type DurationStat, type ModelStatsJson } from './model-stats.js';
