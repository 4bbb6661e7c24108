/** The objects `render` makes of a spec whose only section is `kubernetes`, for unit tests. */
import { render } from '../../src/kubernetes/render.js';
import type { KubeObject } from '../../src/kubernetes/objects.js';
import { parseSpec } from '../../src/spec/index.js';

/**
 * @example
 * renderKubernetes('{ traffic: gateway-api, gatewayApi: { gateway: public } }'); // the objects of deployment "fraud"
 */
export function renderKubernetes(kubernetes: string): readonly KubeObject[] {
  return render({
    name: 'fraud',
    image: `r/fraud@sha256:${'a'.repeat(64)}`,
    spec: parseSpec(`kubernetes: ${kubernetes}\n`, 'berth.yaml'),
    models: [],
    berthVersion: '0.1.0',
  }).objects;
}
