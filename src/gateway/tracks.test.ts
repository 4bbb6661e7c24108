import { describe, expect, it } from 'vitest';
import { UpstreamPool } from './upstream-pool.js';
import { chooseTrack, percentile, TrackRecorder, Tracks } from './tracks.js';

/** A random source that returns the given values in turn. */
function draws(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length] as number;
}

describe('chooseTrack', () => {
  it('sends everything to stable without a candidate, whatever the header', () => {
    const split = { weight: 50, mirror: 50, hasCandidate: false };
    expect(chooseTrack('canary', split, draws(0))).toEqual({ track: 'stable', mirror: false });
  });

  it('gives the candidate its weight, and honours a pinned track', () => {
    const split = { weight: 10, mirror: 0, hasCandidate: true };
    expect(chooseTrack(undefined, split, draws(0.05)).track).toBe('canary');
    expect(chooseTrack(undefined, split, draws(0.1)).track).toBe('stable');
    expect(chooseTrack('canary', { ...split, weight: 0 }, draws(0.99)).track).toBe('canary');
    expect(chooseTrack('stable', { ...split, weight: 100 }, draws(0)).track).toBe('stable');
    let canaried = 0;
    const random = draws(...Array.from({ length: 1000 }, (_, i) => i / 1000));
    for (let i = 0; i < 1000; i++) if (chooseTrack(undefined, split, random).track === 'canary') canaried++;
    expect(canaried).toBe(100);
  });

  it('mirrors a share of the stable requests in a shadow rollout', () => {
    const split = { weight: 0, mirror: 25, hasCandidate: true };
    expect(chooseTrack(undefined, split, draws(0.2))).toEqual({ track: 'stable', mirror: true });
    expect(chooseTrack(undefined, split, draws(0.3))).toEqual({ track: 'stable', mirror: false });
  });
});

describe('TrackRecorder', () => {
  it('counts requests, server errors and no answers, and starts a new window when taken', () => {
    const recorder = new TrackRecorder();
    for (let i = 1; i <= 100; i++) recorder.record(i <= 3 ? 503 : i === 4 ? 0 : i === 5 ? 404 : 200, i);
    expect(recorder.take()).toEqual({ requests: 100, errors: 4, p99Ms: 99 });
    expect(recorder.take()).toEqual({ requests: 0, errors: 0, p99Ms: undefined });
  });

  it('keeps a bounded sample of latencies under heavy traffic', () => {
    const recorder = new TrackRecorder(draws(0.5));
    for (let i = 0; i < 20_000; i++) recorder.record(200, 1);
    const window = recorder.take();
    expect(window.requests).toBe(20_000);
    expect(window.p99Ms).toBe(1);
  });
});

describe('percentile', () => {
  it('is the nearest rank', () => {
    expect(percentile([5, 1, 3, 2, 4], 0.5)).toBe(3);
    expect(percentile([5, 1, 3, 2, 4], 0.99)).toBe(5);
    expect(percentile([7], 0.99)).toBe(7);
    expect(percentile([], 0.99)).toBeUndefined();
  });
});

describe('Tracks', () => {
  it('routes the canary track to the candidate pool only while there is one, and clears', () => {
    const stable = new UpstreamPool();
    const candidate = new UpstreamPool();
    const tracks = new Tracks(stable);
    expect(tracks.poolOf('canary')).toBe(stable);
    tracks.candidate = candidate;
    tracks.weight = 10;
    expect(tracks.poolOf('canary')).toBe(candidate);
    tracks.recordAgreement(true);
    tracks.recordAgreement(false, 'output "y": argmax 3 against 0');
    tracks.recorders.canary.record(500, 2);
    const windows = tracks.takeWindows();
    expect(windows.agreement).toEqual({ compared: 2, agreed: 1 });
    expect(windows.candidate.errors).toBe(1);
    expect(tracks.lastDisagreement).toMatch(/argmax/);
    tracks.clear();
    expect([tracks.candidate, tracks.weight, tracks.mirror, tracks.lastDisagreement]).toEqual([
      undefined,
      0,
      0,
      undefined,
    ]);
  });
});
