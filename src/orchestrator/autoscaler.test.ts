import { describe, expect, it } from 'vitest';
import { Autoscaler, HPA_DEFAULTS, formatMs, type AutoscalePolicy } from './autoscaler.js';

const policy: AutoscalePolicy = {
  ...HPA_DEFAULTS,
  min: 1,
  max: 10,
  targetInflightPerReplica: 8,
  idleToZeroMs: undefined,
};

describe('Autoscaler', () => {
  it('asks for ceil(in-flight / target) replicas, within min and max', () => {
    const scaler = new Autoscaler(policy);
    const up = scaler.decide({ now: 0, replicas: 2, inflight: 40, lastRequestAt: 0 });
    expect(up.desired).toBe(5);
    expect(up.reason).toBe('40 in flight over 2 replica(s) = 20 each, target 8: scale up to 5');
    expect(
      new Autoscaler(policy).decide({ now: 0, replicas: 4, inflight: 400, lastRequestAt: 0 }).desired,
    ).toBe(
      8, // 10 is the max, but +4 (or +100 %) per 15 s holds it at 8 first
    );
    expect(
      new Autoscaler({ ...policy, max: 3 }).decide({ now: 0, replicas: 2, inflight: 400, lastRequestAt: 0 })
        .desired,
    ).toBe(3);
  });

  it('keeps the count while the load is within the tolerance of the target', () => {
    const scaler = new Autoscaler(policy);
    const decision = scaler.decide({ now: 0, replicas: 4, inflight: 35, lastRequestAt: 0 }); // 8.75 each
    expect(decision.desired).toBe(4);
    expect(decision.reason).toContain('within the 10 % tolerance');
  });

  it('limits scaling up to +4 or +100 % per 15 s, then lets it go on', () => {
    const scaler = new Autoscaler({ ...policy, max: 40 });
    const load = { inflight: 320, lastRequestAt: 0 };
    const first = scaler.decide({ now: 0, replicas: 2, ...load });
    expect(first.desired).toBe(6);
    expect(first.reason).toContain('limited to 6');
    expect(scaler.decide({ now: 5000, replicas: 6, ...load }).desired).toBe(6);
    expect(scaler.decide({ now: 15_000, replicas: 6, ...load }).desired).toBe(12);
    expect(scaler.decide({ now: 30_000, replicas: 12, ...load }).desired).toBe(24);
    expect(scaler.decide({ now: 45_000, replicas: 24, ...load }).desired).toBe(40);
  });

  it('scales down only after the stabilisation window has seen nothing higher', () => {
    const scaler = new Autoscaler(policy);
    expect(scaler.decide({ now: 0, replicas: 4, inflight: 32, lastRequestAt: 0 }).desired).toBe(4);
    const held = scaler.decide({ now: 60_000, replicas: 4, inflight: 8, lastRequestAt: 60_000 });
    expect(held.desired).toBe(4);
    expect(held.reason).toContain('scale-down held: 4 recommended within the last 5m');
    expect(scaler.decide({ now: 299_999, replicas: 4, inflight: 8, lastRequestAt: 299_999 }).desired).toBe(4);
    const down = scaler.decide({ now: 300_001, replicas: 4, inflight: 8, lastRequestAt: 300_001 });
    expect(down.desired).toBe(1);
    expect(down.reason).toContain('scale down to 1');
  });

  it('never goes below one replica with min 0 until the model has been idle long enough', () => {
    const scaler = new Autoscaler({ ...policy, min: 0, idleToZeroMs: 900_000, scaleDownAfterMs: 0 });
    expect(scaler.decide({ now: 0, replicas: 1, inflight: 0, lastRequestAt: 0 }).desired).toBe(1);
    expect(scaler.decide({ now: 899_999, replicas: 1, inflight: 0, lastRequestAt: 0 }).desired).toBe(1);
    const idle = scaler.decide({ now: 900_000, replicas: 1, inflight: 0, lastRequestAt: 0 });
    expect(idle).toEqual({
      desired: 0,
      reason: 'no request for 15m (idle to zero after 15m): scale down to 0',
    });
  });

  it('scales from zero at once when a request waits', () => {
    const scaler = new Autoscaler({ ...policy, min: 0, idleToZeroMs: 60_000 });
    expect(scaler.decide({ now: 0, replicas: 0, inflight: 0, lastRequestAt: undefined }).desired).toBe(0);
    const wake = scaler.decide({ now: 1000, replicas: 0, inflight: 1, lastRequestAt: 1000 });
    expect(wake.desired).toBe(1);
    expect(wake.reason).toBe('1 request(s) waiting with no replica: scale from zero: scale up to 1');
  });

  it('stays at min when min is above what the load needs', () => {
    const scaler = new Autoscaler({ ...policy, min: 3, scaleDownAfterMs: 0 });
    expect(scaler.decide({ now: 0, replicas: 3, inflight: 0, lastRequestAt: undefined }).desired).toBe(3);
  });

  it('refuses a policy that cannot work', () => {
    expect(() => new Autoscaler({ ...policy, min: -1 })).toThrow('min');
    expect(() => new Autoscaler({ ...policy, min: 5, max: 4 })).toThrow('max');
    expect(() => new Autoscaler({ ...policy, targetInflightPerReplica: 0 })).toThrow('target');
  });

  it('formats durations the way the spec writes them', () => {
    expect([formatMs(1500), formatMs(60_000), formatMs(90_000), formatMs(Infinity)]).toEqual([
      '1.5s',
      '1m',
      '1m30s',
      'ever',
    ]);
  });
});
