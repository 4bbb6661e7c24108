/**
 * The NetworkPolicy: the pods take connections only on berth's ports, from the peers the spec
 * names (default: pods of their own namespace) and from the monitoring scraper (its /metrics);
 * they reach out only to DNS, to the addresses the spec lists (a Redis, an identity provider),
 * and, in an Istio mesh, to istiod.
 */
import type { IIoK8sApiNetworkingV1NetworkPolicyPeer } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicyPeer';
import type { INetworkPolicy } from './objects.js';
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

export function networkPolicy(ctx: RenderContext): INetworkPolicy {
  const { network } = ctx.kube;
  const tcp = (port: number) => ({ protocol: 'TCP' as const, port });
  const callers = network.from ?? [{}];
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: ctx.meta(),
    spec: {
      podSelector: { matchLabels: { ...ctx.labels.selector } },
      policyTypes: ['Ingress', 'Egress'],
      ingress: [
        { from: callers.map((c) => peer(ctx, c)), ports: [tcp(HTTP_PORT), tcp(GRPC_PORT)] },
        { from: [peer(ctx, network.monitoring)], ports: [tcp(HTTP_PORT)] },
      ],
      egress: [
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
