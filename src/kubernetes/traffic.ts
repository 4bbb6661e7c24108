/**
 * How requests reach the pods: a ClusterIP Service with named REST and gRPC ports (and
 * `appProtocol`, so meshes and gateways speak HTTP/2 to gRPC); then, as the spec asks, Gateway
 * API routes, or Istio's VirtualService and DestinationRule carrying `resilience` (timeout, safe
 * retries, Envoy outlier detection as in the `berth up` gateway) and a STRICT PeerAuthentication;
 * and a ServiceMonitor for prometheus-operator.
 */
import type {
  IDestinationRule,
  IGRPCRoute,
  IHTTPRoute,
  IPeerAuthentication,
  IService,
  IServiceMonitor,
  IVirtualService,
} from './objects.js';
import { GRPC_PORT, HTTP_PORT, type RenderContext } from './render-context.js';

/** The name of the headless Service of the pods behind berth's gateway (one address per ready pod). */
export const podsService = (name: string): string => `${name}-pods`;

/**
 * The pods' Service: `<name>`, or, behind berth's gateway, the headless `<name>-pods` the gateway
 * looks up (the gateway's own Service is then `<name>`).
 */
export function service(ctx: RenderContext): IService {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: ctx.meta(ctx.gateway ? podsService(ctx.name) : ctx.name),
    spec: {
      type: 'ClusterIP',
      ...(ctx.gateway ? { clusterIP: 'None' } : {}),
      selector: { ...ctx.labels.selector },
      ports: [
        {
          name: 'http',
          port: HTTP_PORT,
          targetPort: 'http',
          protocol: 'TCP',
          appProtocol: ctx.tls ? 'https' : 'http',
        },
        {
          name: 'grpc',
          port: GRPC_PORT,
          targetPort: 'grpc',
          protocol: 'TCP',
          appProtocol: ctx.tls ? 'https' : 'kubernetes.io/h2c',
        },
      ],
    },
  };
}

const seconds = (ms: number) => `${Math.max(1, Math.ceil(ms / 1000))}s`;
/** A Gateway API duration: whole seconds, or milliseconds below one. */
const gatewayDuration = (ms: number) => (ms % 1000 === 0 ? `${ms / 1000}s` : `${Math.ceil(ms)}ms`);

function parentRefs(ctx: RenderContext) {
  const api = ctx.kube.gatewayApi;
  if (api === undefined) return [];
  return [
    { name: api.gateway, ...(api.gatewayNamespace === undefined ? {} : { namespace: api.gatewayNamespace }) },
  ];
}

export function httpRoute(ctx: RenderContext): IHTTPRoute {
  const hostnames = ctx.kube.gatewayApi?.hostnames;
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: ctx.meta(),
    spec: {
      parentRefs: parentRefs(ctx),
      ...(hostnames === undefined ? {} : { hostnames: [...hostnames] }),
      rules: [
        {
          matches: [{ path: { type: 'PathPrefix', value: '/v2' } }],
          backendRefs: [{ name: ctx.name, port: HTTP_PORT }],
          timeouts: { request: gatewayDuration(ctx.resilience.timeoutMs) },
        },
      ],
    },
  };
}

export function grpcRoute(ctx: RenderContext): IGRPCRoute {
  const hostnames = ctx.kube.gatewayApi?.hostnames;
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'GRPCRoute',
    metadata: ctx.meta(),
    spec: {
      parentRefs: parentRefs(ctx),
      ...(hostnames === undefined ? {} : { hostnames: [...hostnames] }),
      rules: [
        {
          matches: [{ method: { service: 'inference.GRPCInferenceService' } }],
          backendRefs: [{ name: ctx.name, port: GRPC_PORT }],
        },
      ],
    },
  };
}

/** The service's name as the mesh knows it. */
function host(ctx: RenderContext): string {
  return ctx.namespace === undefined ? ctx.name : `${ctx.name}.${ctx.namespace}.svc.cluster.local`;
}

export function virtualService(ctx: RenderContext): IVirtualService {
  const { resilience } = ctx;
  // berth's rule: retry only what never reached a pod, or a pod that was draining.
  const retries = {
    attempts: resilience.retries,
    retryOn: 'connect-failure,refused-stream,reset-before-request,unavailable',
    ...(resilience.perTryTimeout === undefined ? {} : { perTryTimeout: seconds(resilience.perTryTimeout) }),
  };
  const route = (port: number) => ({
    match: [{ port }],
    route: [{ destination: { host: host(ctx), port: { number: port } } }],
    timeout: seconds(resilience.timeoutMs),
    retries,
  });
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: ctx.meta(),
    spec: { hosts: [host(ctx)], http: [route(HTTP_PORT), route(GRPC_PORT)] },
  };
}

export function destinationRule(ctx: RenderContext): IDestinationRule {
  const { outlier } = ctx.resilience;
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'DestinationRule',
    metadata: ctx.meta(),
    spec: {
      host: host(ctx),
      trafficPolicy: {
        // Fewest outstanding requests, as the berth up gateway balances.
        loadBalancer: { simple: 'LEAST_REQUEST' },
        outlierDetection: {
          consecutive5xxErrors: outlier.consecutive5xx,
          interval: '10s',
          baseEjectionTime: seconds(outlier.ejectFor),
          maxEjectionPercent: outlier.maxEjectionPercent,
        },
        ...(ctx.kube.mtls ? { tls: { mode: 'ISTIO_MUTUAL' } } : {}),
      },
    },
  };
}

export function peerAuthentication(ctx: RenderContext): IPeerAuthentication {
  return {
    apiVersion: 'security.istio.io/v1',
    kind: 'PeerAuthentication',
    metadata: ctx.meta(),
    spec: { selector: { matchLabels: { ...ctx.labels.selector } }, mtls: { mode: 'STRICT' } },
  };
}

export function serviceMonitor(ctx: RenderContext, metricsKey: string | undefined): IServiceMonitor {
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    metadata: ctx.meta(),
    spec: {
      selector: { matchLabels: { ...ctx.labels.selector } },
      endpoints: [
        {
          port: 'http',
          path: '/metrics',
          interval: '15s',
          ...(ctx.tls ? { scheme: 'https', tlsConfig: { serverName: host(ctx) } } : {}),
          // With access control on, /metrics needs a key with the metrics role.
          ...(metricsKey === undefined
            ? {}
            : { authorization: { type: 'Bearer', credentials: { name: ctx.secretName, key: metricsKey } } }),
        },
      ],
    },
  };
}
