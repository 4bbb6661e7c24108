/**
 * A canary's share of traffic on a cluster: the rendered routes (Gateway API's HTTPRoute and
 * GRPCRoute, or Istio's VirtualService) rewritten to send `weight` percent to the candidate's
 * Service and the rest to the stable one, with a first rule that sends requests carrying
 * `x-berth-track: canary` to the candidate only (as the `berth up` gateway does). Pure.
 */
import type { IGRPCRoute, IHTTPRoute, IVirtualService, KubeObject } from './objects.js';

/** The header that pins a request to a track. */
export const TRACK_HEADER = 'x-berth-track';

export interface CanaryTraffic {
  /** The stable and candidate Services' names. */
  readonly stable: string;
  readonly candidate: string;
  /** The candidate's share, percent. */
  readonly weight: number;
  /** The candidate Service's host for Istio (its FQDN when the stable's is one). */
  readonly candidateHost: string;
}

/** The parts of a Gateway API rule the split touches; HTTPRoute's and GRPCRoute's rules have them. */
interface GatewayRule {
  readonly matches?: readonly object[];
  readonly backendRefs?: readonly { readonly name: string; readonly weight?: number }[];
}

/** Header rules to the candidate first, then the weighted rules. */
function splitRules<R extends GatewayRule>(rules: readonly R[], t: CanaryTraffic): R[] {
  return [
    ...rules.map((rule) => ({
      ...rule,
      matches: (rule.matches ?? [{}]).map((m) => ({
        ...m,
        headers: [{ type: 'Exact' as const, name: TRACK_HEADER, value: 'canary' }],
      })),
      backendRefs: (rule.backendRefs ?? []).map((b) => ({ ...b, name: t.candidate })),
    })),
    ...rules.map((rule) => ({
      ...rule,
      backendRefs: (rule.backendRefs ?? []).flatMap((b) => [
        { ...b, name: t.stable, weight: 100 - t.weight },
        { ...b, name: t.candidate, weight: t.weight },
      ]),
    })),
  ];
}

function httpRoute(route: IHTTPRoute, t: CanaryTraffic): IHTTPRoute {
  return { ...route, spec: { ...route.spec, rules: splitRules(route.spec.rules ?? [], t) } };
}

function grpcRoute(route: IGRPCRoute, t: CanaryTraffic): IGRPCRoute {
  return { ...route, spec: { ...route.spec, rules: splitRules(route.spec.rules ?? [], t) } };
}

function virtualService(vs: IVirtualService, t: CanaryTraffic): IVirtualService {
  const http = vs.spec?.http ?? [];
  return {
    ...vs,
    spec: {
      ...vs.spec,
      http: [
        ...http.map((route) => ({
          ...route,
          match: (route.match ?? [{}]).map((m) => ({
            ...m,
            headers: { [TRACK_HEADER]: { exact: 'canary' } },
          })),
          route: (route.route ?? []).map((r) => ({
            ...r,
            destination: { ...r.destination, host: t.candidateHost },
          })),
        })),
        ...http.map((route) => ({
          ...route,
          route: (route.route ?? []).flatMap((r) => [
            { ...r, weight: 100 - t.weight },
            { ...r, destination: { ...r.destination, host: t.candidateHost }, weight: t.weight },
          ]),
        })),
      ],
    },
  };
}

/** The routes among `objects`, split for the canary; undefined when there is none to split. */
export function canaryRoutes(objects: readonly KubeObject[], t: CanaryTraffic): KubeObject[] {
  const routes: KubeObject[] = [];
  for (const o of objects) {
    if (o.kind === 'HTTPRoute') routes.push(httpRoute(o, t));
    else if (o.kind === 'GRPCRoute') routes.push(grpcRoute(o, t));
    else if (o.kind === 'VirtualService') routes.push(virtualService(o, t));
  }
  return routes;
}
