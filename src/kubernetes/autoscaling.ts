/**
 * Autoscaling on a cluster, with `berth up`'s semantics (docs/spec.md, `replicas`): scale on
 * requests in flight per pod toward `replicas.target.inflightPerReplica`, up fast, down only after
 * `replicas.scaleDownAfter`.
 *
 * - `hpa`: autoscaling/v2 on CPU and on berth's in-flight requests per pod, a Pods metric that
 *   prometheus-adapter serves with the rule `adapterRules` renders.
 * - `keda`: a ScaledObject whose Prometheus query is the same in-flight sum. It can scale to zero
 *   where something counts requests while no pod runs: with `traffic: istio`, the sidecars' count
 *   of requests to the service wakes it (those requests are refused until a pod is ready).
 */
import { stringify } from 'yaml';
import type { IHorizontalPodAutoscaler, IScaledObject } from './objects.js';
import type { RenderContext } from './render-context.js';

/** The custom metric prometheus-adapter serves, per pod. */
export const INFLIGHT_METRIC = 'berth_inflight_requests';
/** The series berth serve exports: requests accepted and not yet answered, per model. */
const PENDING_SERIES = 'berth_inference_pending_requests';

/** Which autoscaler runs: the spec's, else KEDA at min 0, the HPA when max > min, else none. */
export function chooseAutoscaler(
  asked: 'hpa' | 'keda' | 'none' | undefined,
  min: number,
  max: number,
): 'hpa' | 'keda' | 'none' {
  if (asked !== undefined) return asked;
  if (min === 0) return 'keda';
  return max > min ? 'hpa' : 'none';
}

const scaleTarget = (ctx: RenderContext) => ({
  apiVersion: 'apps/v1',
  kind: ctx.workloadKind,
  name: ctx.name,
});
const seconds = (ms: number) => Math.ceil(ms / 1000);

export function horizontalPodAutoscaler(ctx: RenderContext): IHorizontalPodAutoscaler {
  const { hpa } = ctx.kube;
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: ctx.meta(),
    spec: {
      scaleTargetRef: scaleTarget(ctx),
      // The HPA cannot scale to zero (that is KEDA's): min 0 is read as 1 here.
      minReplicas: Math.max(1, ctx.replicas.min),
      maxReplicas: Math.max(1, ctx.replicas.max),
      metrics: [
        {
          type: 'Resource',
          resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: hpa.cpuUtilization } },
        },
        ...(hpa.inflightMetric
          ? [
              {
                type: 'Pods',
                pods: {
                  metric: { name: INFLIGHT_METRIC },
                  target: {
                    type: 'AverageValue',
                    averageValue: String(ctx.replicas.target.inflightPerReplica),
                  },
                },
              },
            ]
          : []),
      ],
      behavior: {
        // berth up's policy: at once, by at most 4 pods or 100 % per 15 s.
        scaleUp: {
          stabilizationWindowSeconds: 0,
          selectPolicy: 'Max',
          policies: [
            { type: 'Pods', value: 4, periodSeconds: 15 },
            { type: 'Percent', value: 100, periodSeconds: 15 },
          ],
        },
        scaleDown: { stabilizationWindowSeconds: Math.min(3600, seconds(ctx.replicas.scaleDownAfter)) },
      },
    },
  };
}

/**
 * The rule prometheus-adapter needs for the HPA's in-flight metric, to merge into its config
 * (`rules:` of its ConfigMap, or the Helm chart's `rules.custom`).
 */
export function adapterRules(): string {
  return stringify(
    {
      rules: [
        {
          seriesQuery: `${PENDING_SERIES}{namespace!="",pod!=""}`,
          resources: { overrides: { namespace: { resource: 'namespace' }, pod: { resource: 'pod' } } },
          name: { matches: `^${PENDING_SERIES}$`, as: INFLIGHT_METRIC },
          metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)',
        },
      ],
    },
    { lineWidth: 0 },
  );
}

/** In flight over every pod of this deployment (Prometheus' kubernetes_sd adds namespace and pod). */
export function inflightQuery(ctx: RenderContext): string {
  const namespace = ctx.namespace === undefined ? '' : `namespace="${ctx.namespace}",`;
  return `sum(${PENDING_SERIES}{${namespace}pod=~"${ctx.name}-[a-z0-9]+-[a-z0-9]+"}) or vector(0)`;
}

/** Requests the mesh's sidecars sent to the service in the last minute (Istio's standard metric). */
export function wakeQuery(ctx: RenderContext): string {
  const namespace = ctx.namespace === undefined ? '' : `,destination_service_namespace="${ctx.namespace}"`;
  return `sum(rate(istio_requests_total{destination_service_name="${ctx.name}"${namespace}}[1m])) or vector(0)`;
}

export function scaledObject(ctx: RenderContext): IScaledObject {
  return {
    apiVersion: 'keda.sh/v1alpha1',
    kind: 'ScaledObject',
    metadata: ctx.meta(),
    spec: {
      scaleTargetRef: scaleTarget(ctx),
      minReplicaCount: ctx.replicas.min,
      maxReplicaCount: Math.max(1, ctx.replicas.max),
      pollingInterval: 15,
      // With min 0: this long without a request in flight scales to zero (replicas.idleToZero).
      cooldownPeriod: seconds(ctx.replicas.idleToZero),
      advanced: {
        horizontalPodAutoscalerConfig: {
          behavior: {
            scaleDown: { stabilizationWindowSeconds: Math.min(3600, seconds(ctx.replicas.scaleDownAfter)) },
          },
        },
      },
      triggers: [
        {
          type: 'prometheus',
          metadata: {
            serverAddress: ctx.kube.keda.prometheus,
            query: inflightQuery(ctx),
            threshold: String(ctx.replicas.target.inflightPerReplica),
            activationThreshold: '0',
          },
        },
        // At zero no pod counts anything: the mesh's count of requests to the service wakes it.
        ...(ctx.replicas.min === 0
          ? [
              {
                type: 'prometheus',
                metadata: {
                  serverAddress: ctx.kube.keda.prometheus,
                  query: wakeQuery(ctx),
                  threshold: '1000000',
                  activationThreshold: '0',
                },
              },
            ]
          : []),
      ],
    },
  };
}
