import { describe, expect, it } from 'vitest';
import {
  agreementWindow,
  comparisonCounts,
  inferCounts,
  trackWindow,
  type InferCounts,
} from './pod-metrics.js';

const text = (ok: number, internal: number, fast: number, slow: number) =>
  [
    '# TYPE berth_requests_total counter',
    `berth_requests_total{operation="infer",transport="http",code="OK"} ${ok}`,
    `berth_requests_total{operation="infer",transport="grpc",code="INTERNAL"} ${internal}`,
    `berth_requests_total{operation="infer",transport="http",code="INVALID_ARGUMENT"} 7`,
    `berth_requests_total{operation="metadata",transport="http",code="INTERNAL"} 99`,
    `berth_request_duration_seconds_bucket{le="0.005",operation="infer",transport="http"} ${fast}`,
    `berth_request_duration_seconds_bucket{le="0.1",operation="infer",transport="http"} ${fast + slow}`,
    `berth_request_duration_seconds_bucket{le="+Inf",operation="infer",transport="http"} ${fast + slow}`,
  ].join('\n');

describe('pod metrics', () => {
  it("counts a pod's inferences and server errors; a client's mistake is no server error", () => {
    expect(inferCounts(text(10, 2, 19, 0))).toEqual({
      requests: 19,
      errors: 2,
      buckets: new Map([
        [0.005, 19],
        [0.1, 19],
        [Infinity, 19],
      ]),
    });
  });

  it('differences two scrapes per pod, a restarted pod counting from zero, a new pod in full', () => {
    const at = (entries: [string, string][]) =>
      new Map<string, InferCounts>(entries.map(([pod, t]) => [pod, inferCounts(t)]));
    const before = at([
      ['a', text(100, 0, 100, 0)],
      ['b', text(500, 0, 500, 0)],
      ['gone', text(9, 9, 18, 0)],
    ]);
    const after = at([
      ['a', text(190, 10, 100, 100)],
      ['b', text(50, 0, 50, 0)],
      ['new', text(40, 0, 40, 0)],
    ]);
    // a: +100 requests, +10 errors, all slow; b restarted: 57; new: 47 (7 refused requests each).
    expect(trackWindow(before, after)).toEqual({ requests: 204, errors: 10, p99Ms: 100 });
    expect(trackWindow(after, after)).toEqual({ requests: 0, errors: 0, p99Ms: undefined });
  });
});

describe('comparisonCounts and agreementWindow', () => {
  const text = (agree: number, differ: number) =>
    [
      '# TYPE berth_gateway_comparisons_total counter',
      `berth_gateway_comparisons_total{outcome="agree"} ${agree}`,
      `berth_gateway_comparisons_total{outcome="differ"} ${differ}`,
      'berth_gateway_requests_total{model="m",track="canary",code="200"} 999',
      '',
    ].join('\n');

  it('reads the outcomes of one gateway pod', () => {
    expect(comparisonCounts(text(90, 10))).toEqual({ compared: 100, agreed: 90 });
    expect(comparisonCounts('berth_requests_total{operation="infer"} 5\n')).toEqual({
      compared: 0,
      agreed: 0,
    });
  });

  it('differences the gateway pods between scrapes, a restarted pod counting from zero', () => {
    const before = new Map([
      ['g1', comparisonCounts(text(50, 0))],
      ['g2', comparisonCounts(text(40, 10))],
    ]);
    const after = new Map([
      ['g1', comparisonCounts(text(70, 5))],
      ['g2', comparisonCounts(text(3, 1))],
      ['g3', comparisonCounts(text(10, 0))],
    ]);
    expect(agreementWindow(before, after)).toEqual({ compared: 25 + 4 + 10, agreed: 20 + 3 + 10 });
  });
});
