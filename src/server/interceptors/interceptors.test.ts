import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { BerthError } from '../../ground/index.js';
import { createLogger, createServerMetrics } from '../../observability/index.js';
import { compose, type Call } from '../../protocol/index.js';
import { requestLog } from './request-log.js';
import { requestMetrics } from './request-metrics.js';

const infer: Call = {
  operation: 'infer',
  input: { name: 'iris', request: { inputs: [] } },
  context: { requestId: 'r-1', transport: 'grpc' },
};
const ready: Call = { operation: 'serverReady', input: {}, context: { requestId: 'r-2', transport: 'http' } };
const notFound = () => Promise.reject(new BerthError('BERTH_ERR_MODEL_NOT_FOUND', 'no model "iris"'));

describe('requestMetrics', () => {
  it('counts every call by operation, transport and outcome, and times it', async () => {
    const metrics = createServerMetrics({ processMetrics: false });
    const ok = compose([requestMetrics(metrics)], () => Promise.resolve('done'));
    const failing = compose([requestMetrics(metrics)], notFound);
    await ok(ready);
    await ok(ready);
    await expect(failing(infer)).rejects.toMatchObject({ code: 'BERTH_ERR_MODEL_NOT_FOUND' });
    const text = await metrics.registry.metrics();
    expect(text).toContain('berth_requests_total{operation="serverReady",transport="http",code="OK"} 2');
    expect(text).toContain('berth_requests_total{operation="infer",transport="grpc",code="NOT_FOUND"} 1');
    expect(text).toContain('berth_request_duration_seconds_count{operation="infer",transport="grpc"} 1');
    expect(text).toContain(
      'berth_request_duration_seconds_count{operation="serverReady",transport="http"} 2',
    );
  });

  it('passes results and errors through unchanged, an unknown error as INTERNAL', async () => {
    const metrics = createServerMetrics({ processMetrics: false });
    const chain = compose([requestMetrics(metrics)], () => Promise.reject(new Error('boom')));
    await expect(chain(ready)).rejects.toMatchObject({ code: 'BERTH_ERR_INTERNAL' });
    expect(await metrics.registry.metrics()).toContain('code="INTERNAL"} 1');
  });
});

function capture(level: 'debug' | 'info') {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString('utf8').split('\n'))
        if (text !== '') lines.push(JSON.parse(text) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: createLogger({ level, format: 'json', destination }) };
}

describe('requestLog', () => {
  it('writes one debug line per call with its id, operation, transport, model and outcome', async () => {
    const { lines, logger } = capture('debug');
    const log = requestLog(logger);
    expect(log).toBeDefined();
    if (log === undefined) return;
    await compose([log], () => Promise.resolve('done'))(ready);
    await expect(compose([log], notFound)(infer)).rejects.toThrow('no model');
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines.map(({ time: _t, ms: _m, pid: _p, hostname: _h, ...rest }) => rest)).toEqual([
      expect.objectContaining({
        level: 20,
        msg: 'request completed',
        reqId: 'r-2',
        operation: 'serverReady',
        transport: 'http',
        code: 'OK',
      }),
      expect.objectContaining({
        level: 20,
        msg: 'request completed',
        reqId: 'r-1',
        operation: 'infer',
        transport: 'grpc',
        model: 'iris',
        code: 'BERTH_ERR_MODEL_NOT_FOUND',
      }),
    ]);
    expect(typeof lines[0]?.ms).toBe('number');
  });

  it('is left out of the chain when the logger is above debug', () => {
    expect(requestLog(capture('info').logger)).toBeUndefined();
  });
});
