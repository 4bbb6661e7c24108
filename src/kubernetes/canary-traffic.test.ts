import { describe, expect, it } from 'vitest';
import { validateKubeObject } from '../../test/helpers/kube-validate.js';
import { renderKubernetes } from '../../test/helpers/kube-render.js';
import { canaryRoutes } from './canary-traffic.js';

const objects = renderKubernetes;

describe('canaryRoutes', () => {
  it('splits Gateway API routes by weight, after a rule for the canary header', () => {
    const routes = canaryRoutes(objects('{ traffic: gateway-api, gatewayApi: { gateway: public } }'), {
      stable: 'fraud',
      candidate: 'fraud-canary',
      candidateHost: 'fraud-canary',
      weight: 10,
    });
    expect(routes.map((r) => r.kind)).toEqual(['HTTPRoute', 'GRPCRoute']);
    for (const route of routes) validateKubeObject(route);
    const http = routes[0] as {
      spec: { rules: { matches: { headers?: unknown[] }[]; backendRefs: unknown[] }[] };
    };
    expect(http.spec.rules[0]?.matches[0]?.headers).toEqual([
      { type: 'Exact', name: 'x-berth-track', value: 'canary' },
    ]);
    expect(http.spec.rules[0]?.backendRefs).toEqual([{ name: 'fraud-canary', port: 8000 }]);
    expect(http.spec.rules[1]?.backendRefs).toEqual([
      { name: 'fraud', port: 8000, weight: 90 },
      { name: 'fraud-canary', port: 8000, weight: 10 },
    ]);
  });

  it("splits Istio's VirtualService by weight on both ports", () => {
    const [vs] = canaryRoutes(objects('{ namespace: ml, traffic: istio }'), {
      stable: 'fraud',
      candidate: 'fraud-canary',
      candidateHost: 'fraud-canary.ml.svc.cluster.local',
      weight: 50,
    });
    validateKubeObject(vs as object);
    const http = (
      vs as {
        spec: { http: { match: unknown[]; route: { destination: { host: string }; weight?: number }[] }[] };
      }
    ).spec.http;
    expect(http).toHaveLength(4);
    expect(http[0]?.match).toEqual([{ port: 8000, headers: { 'x-berth-track': { exact: 'canary' } } }]);
    expect(http[2]?.route.map((r) => [r.destination.host, r.weight])).toEqual([
      ['fraud.ml.svc.cluster.local', 50],
      ['fraud-canary.ml.svc.cluster.local', 50],
    ]);
  });

  it('has nothing to split without routes', () => {
    expect(
      canaryRoutes(objects('{}'), { stable: 'a', candidate: 'b', candidateHost: 'b', weight: 50 }),
    ).toEqual([]);
  });
});
