import { describe, expect, it } from 'vitest';
import { LatencyRecorder, percentile } from './latency-stats.js';

describe('percentile (nearest rank)', () => {
  const sorted = Float64Array.from({ length: 100 }, (_, i) => i + 1); // 1..100

  it('is the smallest value with at least p percent at or below it', () => {
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 90)).toBe(90);
    expect(percentile(sorted, 99)).toBe(99);
    expect(percentile(sorted, 100)).toBe(100);
  });

  it('rounds the rank up, so a few samples give an observed value, never an interpolation', () => {
    const three = new Float64Array([1, 2, 30]);
    expect(percentile(three, 50)).toBe(2);
    expect(percentile(three, 90)).toBe(30);
    expect(percentile(three, 0)).toBe(1);
  });

  it('is null for no samples', () => {
    expect(percentile(new Float64Array(), 50)).toBeNull();
  });
});

describe('LatencyRecorder', () => {
  it('summarises samples recorded in any order', () => {
    const latencies = new LatencyRecorder();
    for (const ms of [5, 1, 4, 2, 3]) latencies.record(ms);
    expect(latencies.summary()).toEqual({ count: 5, min: 1, mean: 3, p50: 3, p90: 5, p99: 5, max: 5 });
  });

  it('grows past its initial capacity without losing a sample', () => {
    const latencies = new LatencyRecorder(2);
    for (let i = 1000; i >= 1; i--) latencies.record(i);
    const summary = latencies.summary();
    expect(summary).toMatchObject({ count: 1000, min: 1, p50: 500, p90: 900, p99: 990, max: 1000 });
    expect(summary.mean).toBeCloseTo(500.5, 9);
  });

  it('sorts numerically, not as text (10 after 9)', () => {
    const latencies = new LatencyRecorder();
    for (const ms of [10, 9, 100]) latencies.record(ms);
    expect(latencies.summary()).toMatchObject({ min: 9, p50: 10, max: 100 });
  });

  it('keeps recording after a summary', () => {
    const latencies = new LatencyRecorder();
    latencies.record(2);
    latencies.summary();
    latencies.record(1);
    expect(latencies.summary()).toMatchObject({ count: 2, min: 1, max: 2 });
  });

  it('reports nulls when nothing was recorded', () => {
    expect(new LatencyRecorder().summary()).toEqual({
      count: 0,
      min: null,
      mean: null,
      p50: null,
      p90: null,
      p99: null,
      max: null,
    });
  });
});
