/**
 * Request metrics on the seam: `berth_requests_total{operation,transport,code}` and
 * `berth_request_duration_seconds{operation,transport}` for every call on every transport. The
 * labelled children are made once per label set, so a call costs two clock reads, one histogram
 * observation and one counter increment, without hashing its labels.
 */
import { toBerthError, type Call, type Interceptor } from '../../protocol/index.js';
import type { ServerMetrics } from '../../observability/index.js';

interface Series {
  readonly seconds: { observe(value: number): void };
  readonly ok: { inc(): void };
}

/**
 * @example
 * const served = intercept(engine, [requestMetrics(metrics)]);
 */
export function requestMetrics(metrics: ServerMetrics): Interceptor {
  const series = new Map<string, Series>();
  const seriesOf = (call: Call): Series => {
    const key = `${call.operation} ${call.context.transport}`;
    let found = series.get(key);
    if (found === undefined) {
      const labels = { operation: call.operation, transport: call.context.transport };
      found = {
        seconds: metrics.requestSeconds.labels(labels),
        ok: metrics.requests.labels({ ...labels, code: 'OK' }),
      };
      series.set(key, found);
    }
    return found;
  };
  return (next) => (call) => {
    const started = performance.now();
    const own = seriesOf(call);
    return next(call).then(
      (result) => {
        own.seconds.observe((performance.now() - started) / 1000);
        own.ok.inc();
        return result;
      },
      (error: unknown) => {
        own.seconds.observe((performance.now() - started) / 1000);
        const berth = toBerthError(error);
        metrics.requests.inc({
          operation: call.operation,
          transport: call.context.transport,
          code: berth.category,
        });
        throw berth;
      },
    );
  };
}
