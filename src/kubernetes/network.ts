/**
 * The NetworkPolicy: the pods take connections only on berth's ports, from the peers the spec
 * names (default: pods of their own namespace; with berth's gateway, the gateway's pods only) and
 * from the monitoring scraper (its /metrics);
 * they reach out only to DNS, to the addresses the spec lists (a Redis, an identity provider),
 * and, in an Istio mesh, to istiod.
 */
import type { IIoK8sApiNetworkingV1NetworkPolicyPeer } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicyPeer';
import { berthLabels, type INetworkPolicy } from './objects.js';
import { GRPC_PORT, HTTP_PORT, type RenderContext } from './render-context.js';

/** Namespaces are selected by the label Kubernetes sets on each (1.22+). */
const NAMESPACE_NAME = 'kubernetes.io/metadata.name';

function peer(
  ctx: RenderContext,
  p: { namespace?: string | undefined; pods?: Record<string, string> | undefined },
): IIoK8sApiNetworkingV1NetworkPolicyPeer {
  const pods = { podSelector: { ...(p.pods === undefined ? {} : { matchLabels: { ...p.pods } }) } };
  // No namespace (or the deployment's own): a podSelector alone means this namespace.
  if (p.namespace === undefined || p.namespace === ctx.namespace) return pods;
  return { namespaceSelector: { matchLabels: { [NAMESPACE_NAME]: p.namespace } }, ...pods };
}

const tcp = (port: number) => ({ protocol: 'TCP' as const, port });

/**
 * The pods' policy. Behind berth's gateway, only the gateway's pods (and the scraper) may call
 * them: the access control is the gateway's, so nothing else may reach past it.
 */
export function networkPolicy(ctx: RenderContext): INetworkPolicy {
  const callers = ctx.gateway
    ? [{ podSelector: { matchLabels: { ...berthLabels(ctx.gatewayOf, 'gateway').selector } } }]
    : (ctx.kube.network.from ?? [{}]).map((c) => peer(ctx, c));
  return policy(ctx, ctx.meta(), ctx.labels.selector, callers, []);
}

/** The gateway pods' policy: the spec's callers and the scraper in; out, the pods of both tracks. */
export function gatewayNetworkPolicy(
  ctx: RenderContext,
  meta: NonNullable<INetworkPolicy['metadata']>,
): INetworkPolicy {
  const callers = (ctx.kube.network.from ?? [{}]).map((c) => peer(ctx, c));
  const servers = {
    to: [
      {
        podSelector: {
          matchLabels: { 'app.kubernetes.io/name': 'berth', 'app.kubernetes.io/component': 'server' },
          matchExpressions: [
            {
              key: 'app.kubernetes.io/instance',
              operator: 'In' as const,
              values: [ctx.name, `${ctx.name}-canary`],
            },
          ],
        },
      },
    ],
    ports: [tcp(HTTP_PORT), tcp(GRPC_PORT)],
  };
  return policy(ctx, meta, berthLabels(ctx.name, 'gateway').selector, callers, [servers]);
}

function policy(
  ctx: RenderContext,
  metadata: NonNullable<INetworkPolicy['metadata']>,
  selector: Readonly<Record<string, string>>,
  callers: IIoK8sApiNetworkingV1NetworkPolicyPeer[],
  moreEgress: NonNullable<NonNullable<INetworkPolicy['spec']>['egress']>,
): INetworkPolicy {
  const { network } = ctx.kube;
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata,
    spec: {
      podSelector: { matchLabels: { ...selector } },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [
        { from: callers, ports: [tcp(HTTP_PORT), tcp(GRPC_PORT)] },
        { from: [peer(ctx, network.monitoring)], ports: [tcp(HTTP_PORT)] },
        // A canary reads /metrics through the API server's proxy, which connects from the control plane.
        ...(network.apiServer.length === 0
          ? []
          : [{ from: network.apiServer.map((cidr) => ({ ipBlock: { cidr } })), ports: [tcp(HTTP_PORT)] }]),
      ],
      egress: [
        ...moreEgress,
        {
          to: [
            {
              namespaceSelector: { matchLabels: { [NAMESPACE_NAME]: 'kube-system' } },
              podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
            },
          ],
          ports: [{ protocol: 'UDP' as const, port: 53 }, tcp(53)],
        },
        ...network.egress.map((e) => ({ to: [{ ipBlock: { cidr: e.cidr } }], ports: e.ports.map(tcp) })),
        ...(ctx.kube.traffic === 'istio'
          ? [
              {
                // The sidecar's configuration and certificates come from istiod.
                to: [{ namespaceSelector: { matchLabels: { [NAMESPACE_NAME]: 'istio-system' } } }],
                ports: [tcp(15012)],
              },
            ]
          : []),
      ],
    },
  };
}
