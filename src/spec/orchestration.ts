/**
 * The sections of berth.yaml that `berth up` (and later Kubernetes) reads: `replicas`, `rollout`
 * and `resilience`. Strict: an unknown key is an error naming its path. Every field has a
 * default, so a section given as `{}` (or absent, read through `parse({})`) means berth's
 * defaults, which follow Kubernetes' HorizontalPodAutoscaler, Argo Rollouts and Envoy (docs/spec.md).
 * Durations are milliseconds or text with a unit (duration.ts) and read as milliseconds.
 */
import { z } from 'zod';
import { duration, optionalDuration } from './duration.js';

const share = (what: string) => z.number().min(0).max(1).describe(`${what}, from 0 to 1.`);
const count = (min: number, max: number) => z.number().int().min(min).max(max);

export const replicasSection = z
  .object({
    min: count(0, 256).default(1).describe('Fewest replicas; 0 lets an idle model scale to zero. Default 1.'),
    max: count(1, 256)
      .optional()
      .describe('Most replicas the autoscaler may run. Default: min (or 1): no autoscaling.'),
    target: z
      .object({
        inflightPerReplica: z
          .number()
          .positive()
          .max(1_000_000)
          .default(8)
          .describe(
            'Requests in flight (waiting in the gateway included) one replica should carry; the autoscaler aims at it. Default 8.',
          ),
      })
      .strict()
      .prefault({})
      .describe('What the autoscaler aims at.'),
    scaleDownAfter: duration('5m').describe(
      'Scale down only to the highest count recommended in this window. Default 5m.',
    ),
    idleToZero: duration('15m').describe('With min 0, no request for this long scales to zero. Default 15m.'),
  })
  .strict()
  .refine((r) => r.max === undefined || r.max >= r.min, {
    message: 'max must be at least min',
    path: ['max'],
  })
  .transform((r) => ({ ...r, max: r.max ?? Math.max(r.min, 1) }));

const stepsSchema = z
  .array(z.number().min(1).max(100))
  .min(1)
  .max(20)
  .refine((steps) => steps[steps.length - 1] === 100, 'the last step must be 100')
  .refine((steps) => steps.every((s, i) => i === 0 || s > (steps[i - 1] as number)), 'steps must rise')
  .default([10, 50, 100])
  .describe(
    'Shares of traffic (percent) the candidate takes, step by step, ending at 100. Default [10, 50, 100].',
  );

export const rolloutSection = z
  .object({
    strategy: z
      .enum(['rolling', 'canary', 'shadow'])
      .default('rolling')
      .describe(
        'rolling: one replica at a time; canary: the candidate answers a share of traffic; shadow: it gets a copy, and its answers are only compared. Default rolling.',
      ),
    steps: stepsSchema,
    interval: duration('30s').describe('How long each step runs before it is judged. Default 30s.'),
    analysis: z
      .object({
        errorRate: share('Highest error rate the candidate may have').default(0.01),
        p99Ms: z
          .number()
          .positive()
          .max(3_600_000)
          .default(1000)
          .describe('Highest p99 latency the candidate may have, ms. Default 1000.'),
        agreement: share(
          'Lowest share of compared answers that must agree with the stable version (not checked when absent)',
        ).optional(),
        compare: z
          .object({
            mode: z
              .enum(['argmax', 'tolerance'])
              .default('argmax')
              .describe(
                'argmax: the same class per row; tolerance: every value within absolute + relative of the stable one. Default argmax.',
              ),
            absolute: z
              .number()
              .nonnegative()
              .default(1e-5)
              .describe('Absolute tolerance, for mode tolerance. Default 0.00001.'),
            relative: z
              .number()
              .nonnegative()
              .default(1e-3)
              .describe('Relative tolerance (of the stable value), for mode tolerance. Default 0.001.'),
          })
          .strict()
          .prefault({})
          .describe(
            'How answers are compared: same argmax per row, or within absolute + relative tolerance.',
          ),
        minRequests: count(1, 1_000_000)
          .default(20)
          .describe(
            'Below this many requests (or comparisons) a check is inconclusive and the step is held. Default 20.',
          ),
      })
      .strict()
      .prefault({})
      .describe('The checks on the candidate at each interval: error rate, p99 and, if set, agreement.'),
    failAfter: count(1, 100)
      .default(2)
      .describe('Failed checks in a row that roll the candidate back. Default 2.'),
    watch: optionalDuration().describe(
      'berth up: look at the model repository this often, and roll out what changed in it (a new version folder, a replaced file) by this strategy once it has held still for one more look. Replicas then serve a snapshot of the repository per revision. Default: off (only `berth rollout start` starts a rollout).',
    ),
  })
  .strict();

export const resilienceSection = z
  .object({
    timeoutMs: count(1, 3_600_000)
      .default(30_000)
      .describe('Deadline of a request through the gateway, ms. Default 30000.'),
    retries: count(0, 10)
      .default(2)
      .describe('Retries of a request that failed where a retry is safe. Default 2.'),
    perTryTimeout: optionalDuration().describe(
      'Longest one attempt at a replica may take; past it, a request without side effects (inference, metadata) is retried on another replica, within timeoutMs and the retry budget. Absent: an attempt may take the whole timeoutMs.',
    ),
    retryBudget: share('Retries in flight allowed, as a share of requests in flight').default(0.2),
    outlier: z
      .object({
        consecutive5xx: count(1, 1000)
          .default(5)
          .describe('Failures in a row that eject a replica from the balancer. Default 5.'),
        ejectFor: duration('30s').describe(
          'The first ejection; each one in a row lasts one more ejectFor. Default 30s.',
        ),
        maxEjectFor: duration('5m').describe('The longest ejection. Default 5m.'),
        maxEjectionPercent: count(0, 100)
          .default(10)
          .describe(
            'Most replicas ejected at once, in percent (one of two or more always may be). Default 10.',
          ),
      })
      .strict()
      .prefault({})
      .describe(
        "Passive health, as Envoy's outlier detection: failures in a row eject a replica for a while.",
      ),
    breaker: z
      .object({
        failures: count(1, 10_000)
          .default(10)
          .describe("Failures in a row that open a replica's circuit breaker. Default 10."),
        coolDown: duration('5s').describe(
          'How long an open breaker sends nothing; doubled after a failed probe. Default 5s.',
        ),
        maxCoolDown: duration('1m').describe('The longest cool-down. Default 1m.'),
      })
      .strict()
      .prefault({})
      .describe('A circuit breaker per replica: open after failures in a row, probe after the cool-down.'),
    healthCheck: z
      .object({
        interval: duration('1s').describe(
          "How often the gateway asks each replica's readiness endpoint. Default 1s.",
        ),
        timeout: duration('1s').describe(
          'Longest wait for a readiness answer; no answer in time is a failed check. Default 1s.',
        ),
        unhealthyAfter: count(1, 100)
          .default(2)
          .describe(
            'Failed checks in a row that take a replica out of the balancer, until one passes. Default 2.',
          ),
      })
      .strict()
      .prefault({})
      .describe(
        "Active health: the gateway asks every replica's readiness endpoint, so that a replica that hangs (SIGSTOP, a deadlock) leaves the balancer without a request failing first.",
      ),
    buffer: z
      .object({
        maxRequests: count(0, 100_000).default(256).describe('Requests that may wait at once. Default 256.'),
        maxWait: duration('30s').describe(
          'How long one request may wait; past either bound, 503 with Retry-After. Default 30s.',
        ),
      })
      .strict()
      .prefault({})
      .describe(
        'Requests that wait when no replica is ready (cold start, scale from zero); past it, 503 with Retry-After.',
      ),
  })
  .strict();

export type ReplicasSpec = z.output<typeof replicasSection>;
export type RolloutSpec = z.output<typeof rolloutSection>;
export type ResilienceSpec = z.output<typeof resilienceSection>;
