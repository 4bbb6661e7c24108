/** Every fuzz target, by name. Each one's module loads berth's built code (dist/) when imported. */
import type { FuzzTarget } from '../target.ts';

const LOADERS: Readonly<Record<string, () => Promise<{ target: FuzzTarget }>>> = {
  'rest-infer': () => import('./rest-infer.ts'),
  'grpc-infer': () => import('./grpc-infer.ts'),
  'http1-request': () => import('./http1-request.ts'),
  'http1-response': () => import('./http1-response.ts'),
  pbtxt: () => import('./pbtxt.ts'),
  'model-config': () => import('./model-config.ts'),
  'berth-spec': () => import('./berth-spec.ts'),
  'onnx-model': () => import('./onnx-model.ts'),
  'oci-layout': () => import('./oci-layout.ts'),
  'oci-archive': () => import('./oci-archive.ts'),
  'docker-archive': () => import('./docker-archive.ts'),
  'registry-manifest': () => import('./registry-manifest.ts'),
  // A parser with a bug planted behind a 4-byte magic: proves the fuzzer finds one (test only).
  planted: () => import('./planted.ts'),
};

/** The targets `npm run fuzz` runs by default: all but the planted one. */
export const TARGETS: readonly string[] = Object.keys(LOADERS).filter((name) => name !== 'planted');

export async function loadTarget(name: string): Promise<FuzzTarget> {
  const load = LOADERS[name];
  if (load === undefined) throw new Error(`no fuzz target "${name}"; the targets are ${TARGETS.join(', ')}`);
  return (await load()).target;
}
