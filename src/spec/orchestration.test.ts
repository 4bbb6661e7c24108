import { describe, expect, it } from 'vitest';
import { parseSpec, specJsonSchema } from './berth-spec.js';
import { parseDuration } from './duration.js';
import { replicasSection, resilienceSection, rolloutSection } from './orchestration.js';

describe('durations', () => {
  it('read units and combinations as milliseconds', () => {
    expect(['250ms', '30s', '1.5s', '5m', '1h', '1m30s'].map(parseDuration)).toEqual([
      250, 30_000, 1500, 300_000, 3_600_000, 90_000,
    ]);
    expect(['', '30', '5 m', '1d', '-1s'].map(parseDuration)).toEqual(Array(5).fill(undefined));
  });
});

describe('the orchestration sections', () => {
  it('mean the documented defaults when empty', () => {
    expect(replicasSection.parse({})).toEqual({
      min: 1,
      max: 1,
      target: { inflightPerReplica: 8 },
      scaleDownAfter: 300_000,
      idleToZero: 900_000,
    });
    expect(rolloutSection.parse({})).toEqual({
      strategy: 'rolling',
      steps: [10, 50, 100],
      interval: 30_000,
      analysis: {
        errorRate: 0.01,
        p99Ms: 1000,
        compare: { mode: 'argmax', absolute: 1e-5, relative: 1e-3 },
        minRequests: 20,
      },
      failAfter: 2,
    });
    expect(resilienceSection.parse({})).toEqual({
      timeoutMs: 30_000,
      retries: 2,
      retryBudget: 0.2,
      outlier: { consecutive5xx: 5, ejectFor: 30_000, maxEjectFor: 300_000, maxEjectionPercent: 10 },
      breaker: { failures: 10, coolDown: 5000, maxCoolDown: 60_000 },
      healthCheck: { interval: 1000, timeout: 1000, unhealthyAfter: 2 },
      buffer: { maxRequests: 256, maxWait: 30_000 },
    });
    expect(resilienceSection.parse({ perTryTimeout: '250ms' }).perTryTimeout).toBe(250);
    expect(resilienceSection.safeParse({ perTryTimeout: 0 }).success).toBe(false);
  });

  it("read the issue's example", () => {
    const spec = parseSpec(
      [
        'replicas: { min: 1, max: 4, target: { inflightPerReplica: 8 }, scaleDownAfter: 5m, idleToZero: 15m }',
        'rollout: { strategy: canary, steps: [10, 50, 100], interval: 30s, analysis: { errorRate: 0.01, p99Ms: 250, agreement: 0.99 }, failAfter: 2 }',
        'resilience: { timeoutMs: 2000, retries: 2, retryBudget: 0.2, outlier: { consecutive5xx: 5, ejectFor: 30s } }',
      ].join('\n'),
      'berth.yaml',
    );
    expect(spec.replicas).toMatchObject({ min: 1, max: 4, scaleDownAfter: 300_000 });
    expect(spec.rollout).toMatchObject({
      strategy: 'canary',
      interval: 30_000,
      analysis: { agreement: 0.99, p99Ms: 250 },
    });
    expect(spec.resilience).toMatchObject({ timeoutMs: 2000, outlier: { ejectFor: 30_000 } });
  });

  it('take max from min when only min is given', () => {
    expect(replicasSection.parse({ min: 3 })).toMatchObject({ min: 3, max: 3 });
    expect(replicasSection.parse({ min: 0 })).toMatchObject({ min: 0, max: 1 });
  });

  it('name the path of what is wrong', () => {
    const cases: [string, RegExp][] = [
      ['replicas: { min: 3, max: 2 }', /replicas\.max: max must be at least min/],
      ['replicas: { mni: 1 }', /replicas: Unrecognized key: "mni"/],
      ['replicas: { scaleDownAfter: soon }', /replicas\.scaleDownAfter: expected a duration such as 250ms/],
      ['rollout: { strategy: blue-green }', /rollout\.strategy: /],
      ['rollout: { steps: [10, 50] }', /rollout\.steps: the last step must be 100/],
      ['rollout: { steps: [50, 10, 100] }', /rollout\.steps: steps must rise/],
      ['rollout: { analysis: { errorRate: 2 } }', /rollout\.analysis\.errorRate: /],
      ['resilience: { outlier: { consecutive5xx: 0 } }', /resilience\.outlier\.consecutive5xx: /],
      ['resilience: { retries: 1.5 }', /resilience\.retries: /],
    ];
    for (const [text, message] of cases) expect(() => parseSpec(text, 'berth.yaml')).toThrow(message);
  });
});

describe('specJsonSchema', () => {
  it('describes every section, with defaults and no extra keys allowed', () => {
    const schema = specJsonSchema() as {
      $schema: string;
      additionalProperties: boolean;
      properties: Record<
        string,
        { properties?: Record<string, { default?: unknown }>; additionalProperties?: boolean }
      >;
    };
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.additionalProperties).toBe(false);
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining(['name', 'repository', 'image', 'replicas', 'rollout', 'resilience']),
    );
    expect(schema.properties.replicas?.additionalProperties).toBe(false);
    expect(schema.properties.rollout?.properties?.interval?.default).toBe('30s');
    expect(schema.properties.resilience?.properties?.retries?.default).toBe(2);
  });
});
