import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createGatewayMetrics, type GatewaySnapshot } from './gateway-metrics.js';
import type { UpstreamView } from './upstream-pool.js';

// As test/e2e/metrics.test.ts: promtool is Prometheus' own linter (Debian package `prometheus`).
const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
const hasPromtool = promtool.status === 0;
if (!hasPromtool) {
  if (process.env.CI !== undefined)
    throw new Error('promtool is missing in CI: scripts/test-deps.sh installs it (apt prometheus)');
  console.warn('SKIPPING promtool check: promtool not installed (run scripts/test-deps.sh)');
}

function upstream(id: string, over: Partial<UpstreamView> = {}): UpstreamView {
  return {
    id,
    url: `http://127.0.0.1:1/${id}`,
    ready: true,
    healthy: true,
    outstanding: 0,
    ejected: false,
    breaker: 'closed',
    ...over,
  };
}

/** The sample lines of one family (no HELP or TYPE). */
function series(text: string, name: string): string[] {
  return text.split('\n').filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `));
}

/** A gateway's metrics after some traffic of every kind, with a rollout in progress. */
function busyGateway() {
  const snapshot: GatewaySnapshot = {
    upstreams: [
      upstream('r1', { outstanding: 3 }),
      upstream('r2', { ready: false, breaker: 'half-open' }),
      upstream('r3', { ejected: true, breaker: 'open' }),
    ],
    desired: 4,
    rollout: { step: 1, weight: 25, phase: 'progressing' },
  };
  const metrics = createGatewayMetrics({ collect: () => snapshot });
  metrics.requestEnded('iris', 'stable', 200, 0.004);
  metrics.requestEnded('iris', 'stable', 200, 0.02);
  metrics.requestEnded('iris', 'canary', 503, 1.5);
  metrics.requestEnded('iris', 'shadow', 200, 0.003);
  metrics.requestEnded('', 'stable', 200, 0.0002);
  metrics.requestEnded('a "quoted"\nname', 'stable', 400, 0.001);
  metrics.attemptEnded('r1', 0.003);
  metrics.attemptEnded('r2', 45);
  metrics.retried('refused');
  metrics.retried('draining');
  metrics.compared(true);
  metrics.compared(true);
  metrics.compared(false);
  metrics.retried('draining');
  metrics.retryBudgetExhausted();
  metrics.bufferEntered();
  metrics.bufferEntered();
  metrics.bufferLeft(0.25);
  metrics.bufferOverflowed();
  metrics.ejected('r3');
  return metrics;
}

describe('gateway metrics', () => {
  it('render the requests, retries, buffer and ejections recorded', async () => {
    const text = await busyGateway().metrics();
    expect(series(text, 'berth_gateway_requests_total')).toEqual([
      'berth_gateway_requests_total{model="iris",track="stable",code="200"} 2',
      'berth_gateway_requests_total{model="iris",track="canary",code="503"} 1',
      'berth_gateway_requests_total{model="iris",track="shadow",code="200"} 1',
      'berth_gateway_requests_total{model="",track="stable",code="200"} 1',
      'berth_gateway_requests_total{model="a \\"quoted\\"\\nname",track="stable",code="400"} 1',
    ]);
    expect(text).toContain(
      'berth_gateway_request_duration_seconds_bucket{le="0.005",model="iris",track="stable"} 1\n' +
        'berth_gateway_request_duration_seconds_bucket{le="0.01",model="iris",track="stable"} 1\n' +
        'berth_gateway_request_duration_seconds_bucket{le="0.025",model="iris",track="stable"} 2\n',
    );
    expect(text).toContain('berth_gateway_request_duration_seconds_count{model="iris",track="canary"} 1');
    expect(text).toContain('berth_gateway_request_duration_seconds_sum{model="iris",track="canary"} 1.5');
    // An attempt past the last bound (30 s) is counted in +Inf only.
    expect(text).toContain('berth_gateway_upstream_duration_seconds_bucket{le="30",upstream="r2"} 0');
    expect(text).toContain('berth_gateway_upstream_duration_seconds_bucket{le="+Inf",upstream="r2"} 1');
    expect(series(text, 'berth_gateway_retries_total')).toEqual([
      'berth_gateway_retries_total{reason="refused"} 1',
      'berth_gateway_retries_total{reason="reset"} 0',
      'berth_gateway_retries_total{reason="draining"} 2',
      'berth_gateway_retries_total{reason="timeout"} 0',
    ]);
    expect(series(text, 'berth_gateway_retry_budget_exhausted_total')).toEqual([
      'berth_gateway_retry_budget_exhausted_total 1',
    ]);
    expect(series(text, 'berth_gateway_buffered_requests')).toEqual(['berth_gateway_buffered_requests 1']);
    expect(series(text, 'berth_gateway_buffer_overflows_total')).toEqual([
      'berth_gateway_buffer_overflows_total 1',
    ]);
    expect(text).toContain('berth_gateway_buffer_wait_seconds_bucket{le="0.1"} 0');
    expect(text).toContain('berth_gateway_buffer_wait_seconds_bucket{le="0.25"} 1');
    expect(series(text, 'berth_gateway_ejections_total')).toEqual([
      'berth_gateway_ejections_total{upstream="r3"} 1',
    ]);
    expect(series(text, 'berth_gateway_comparisons_total')).toEqual([
      'berth_gateway_comparisons_total{outcome="agree"} 2',
      'berth_gateway_comparisons_total{outcome="differ"} 1',
    ]);
  });

  it('read the upstreams, replicas and rollout from collect at scrape time', async () => {
    const text = await busyGateway().metrics();
    expect(series(text, 'berth_gateway_upstream_outstanding')).toEqual([
      'berth_gateway_upstream_outstanding{upstream="r1"} 3',
      'berth_gateway_upstream_outstanding{upstream="r2"} 0',
      'berth_gateway_upstream_outstanding{upstream="r3"} 0',
    ]);
    expect(series(text, 'berth_gateway_upstream_ready')).toEqual([
      'berth_gateway_upstream_ready{upstream="r1"} 1',
      'berth_gateway_upstream_ready{upstream="r2"} 0',
      'berth_gateway_upstream_ready{upstream="r3"} 1',
    ]);
    expect(series(text, 'berth_gateway_upstream_ejected')).toEqual([
      'berth_gateway_upstream_ejected{upstream="r1"} 0',
      'berth_gateway_upstream_ejected{upstream="r2"} 0',
      'berth_gateway_upstream_ejected{upstream="r3"} 1',
    ]);
    expect(series(text, 'berth_gateway_upstream_breaker_state')).toEqual([
      'berth_gateway_upstream_breaker_state{upstream="r1",state="closed"} 1',
      'berth_gateway_upstream_breaker_state{upstream="r1",state="open"} 0',
      'berth_gateway_upstream_breaker_state{upstream="r1",state="half-open"} 0',
      'berth_gateway_upstream_breaker_state{upstream="r2",state="closed"} 0',
      'berth_gateway_upstream_breaker_state{upstream="r2",state="open"} 0',
      'berth_gateway_upstream_breaker_state{upstream="r2",state="half-open"} 1',
      'berth_gateway_upstream_breaker_state{upstream="r3",state="closed"} 0',
      'berth_gateway_upstream_breaker_state{upstream="r3",state="open"} 1',
      'berth_gateway_upstream_breaker_state{upstream="r3",state="half-open"} 0',
    ]);
    expect(series(text, 'berth_replicas_desired')).toEqual(['berth_replicas_desired 4']);
    expect(series(text, 'berth_replicas_ready')).toEqual(['berth_replicas_ready 2']);
    expect(series(text, 'berth_rollout_step')).toEqual(['berth_rollout_step 1']);
    expect(series(text, 'berth_rollout_canary_weight')).toEqual(['berth_rollout_canary_weight 0.25']);
    expect(series(text, 'berth_rollout_phase')).toEqual([
      'berth_rollout_phase{phase="progressing"} 1',
      'berth_rollout_phase{phase="promoted"} 0',
      'berth_rollout_phase{phase="rolled-back"} 0',
    ]);
  });

  it('call collect once per scrape, and drop an upstream gone from it at the next', async () => {
    let calls = 0;
    let upstreams = [upstream('r1'), upstream('r2')];
    const metrics = createGatewayMetrics({
      collect: () => {
        calls++;
        return { upstreams, desired: 2 };
      },
    });
    const first = await metrics.metrics();
    expect(calls).toBe(1);
    expect(series(first, 'berth_gateway_upstream_ready')).toHaveLength(2);
    // No rollout: no phase series, and step and weight read 0.
    expect(series(first, 'berth_rollout_phase')).toEqual([]);
    expect(series(first, 'berth_rollout_canary_weight')).toEqual(['berth_rollout_canary_weight 0']);

    upstreams = [upstream('r2')];
    const second = await metrics.metrics();
    expect(calls).toBe(2);
    for (const name of ['ready', 'outstanding', 'ejected']) {
      expect(series(second, `berth_gateway_upstream_${name}`)).toEqual([
        `berth_gateway_upstream_${name}{upstream="r2"} ${name === 'ready' ? 1 : 0}`,
      ]);
    }
    expect(second).not.toContain('upstream="r1"');
  });

  it('drop the counters and histograms of an upstream removed from the pool', async () => {
    const metrics = createGatewayMetrics();
    metrics.attemptEnded('r1', 0.01);
    metrics.attemptEnded('r2', 0.01);
    metrics.ejected('r1');
    metrics.upstreamRemoved('r1');
    const text = await metrics.metrics();
    expect(text).not.toContain('upstream="r1"');
    expect(text).toContain('berth_gateway_upstream_duration_seconds_count{upstream="r2"} 1');
  });

  it('give at most maxModels model values, later and unknown models counting as "other"', async () => {
    const metrics = createGatewayMetrics({ maxModels: 2 });
    // A model the replicas do not know (404) takes no slot.
    metrics.requestEnded('scan-0', 'stable', 404, 0.001);
    metrics.requestEnded('a', 'stable', 200, 0.001);
    metrics.requestEnded('b', 'stable', 200, 0.001);
    for (let i = 1; i <= 100; i++) metrics.requestEnded(`scan-${i}`, 'stable', 400, 0.001);
    // Models that have their slot keep it, 404s included; requests naming no model are apart.
    metrics.requestEnded('a', 'canary', 404, 0.001);
    metrics.requestEnded('', 'stable', 200, 0.001);
    const text = await metrics.metrics();
    expect(series(text, 'berth_gateway_requests_total')).toEqual([
      'berth_gateway_requests_total{model="other",track="stable",code="404"} 1',
      'berth_gateway_requests_total{model="a",track="stable",code="200"} 1',
      'berth_gateway_requests_total{model="b",track="stable",code="200"} 1',
      'berth_gateway_requests_total{model="other",track="stable",code="400"} 100',
      'berth_gateway_requests_total{model="a",track="canary",code="404"} 1',
      'berth_gateway_requests_total{model="",track="stable",code="200"} 1',
    ]);
    expect(series(text, 'berth_gateway_request_duration_seconds_count')).toEqual([
      'berth_gateway_request_duration_seconds_count{model="other",track="stable"} 101',
      'berth_gateway_request_duration_seconds_count{model="a",track="stable"} 1',
      'berth_gateway_request_duration_seconds_count{model="b",track="stable"} 1',
      'berth_gateway_request_duration_seconds_count{model="a",track="canary"} 1',
      'berth_gateway_request_duration_seconds_count{model="",track="stable"} 1',
    ]);
  });

  it('cap the model values at 64 by default, and bound the status codes', async () => {
    const metrics = createGatewayMetrics();
    for (let i = 0; i < 1000; i++) metrics.requestEnded(`m${i}`, 'stable', 200, 0.001);
    metrics.requestEnded('m0', 'stable', 799, 0.001);
    metrics.requestEnded('m0', 'stable', 99, 0.001);
    const lines = series(await metrics.metrics(), 'berth_gateway_requests_total');
    expect(lines).toHaveLength(64 + 1 + 1);
    expect(lines).toContain('berth_gateway_requests_total{model="other",track="stable",code="200"} 936');
    expect(lines).toContain('berth_gateway_requests_total{model="m0",track="stable",code="other"} 2');
  });

  it('refuse a maxModels that is not a non-negative integer', () => {
    expect(() => createGatewayMetrics({ maxModels: -1 })).toThrow(
      'maxModels must be a non-negative integer, got -1',
    );
    expect(() => createGatewayMetrics({ maxModels: 1.5 })).toThrow(RangeError);
  });

  it('keep each gateway in its own registry, never the global one', async () => {
    const one = busyGateway();
    const two = createGatewayMetrics();
    expect(one.registry).not.toBe(two.registry);
    expect(series(await two.metrics(), 'berth_gateway_requests_total')).toEqual([]);
    const { register } = await import('prom-client');
    expect(register.getSingleMetric('berth_gateway_requests_total')).toBeUndefined();
    expect(one.contentType).toBe(Registry.PROMETHEUS_CONTENT_TYPE);
  });

  it('give every family HELP text and a row in docs/metrics.md, even without traffic', async () => {
    const text = await createGatewayMetrics().metrics();
    const types = [...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]);
    const helps = [...text.matchAll(/^# HELP (\S+) \S/gm)].map((m) => m[1]);
    expect(types).toHaveLength(19);
    expect(helps).toEqual(types);
    const docs = readFileSync(new URL('../../docs/metrics.md', import.meta.url), 'utf8');
    const gateway = docs.slice(docs.indexOf('## Gateway metrics'));
    for (const name of types) expect(gateway, name).toContain(`| \`${name}\``);
  });

  it.skipIf(!hasPromtool)('pass promtool check metrics after traffic of every kind', async () => {
    const text = await busyGateway().metrics();
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(check.stdout + check.stderr).toBe('');
    expect(check.status).toBe(0);
  });
});
