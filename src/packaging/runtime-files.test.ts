import { describe, expect, it } from 'vitest';
import { NOT_IN_IMAGE, PACKAGE_ROOT, productionPackages } from './runtime-files.js';

describe('productionPackages', () => {
  it("leaves out the workstation-only dependencies and what only they need, keeps the server's", async () => {
    const packages = (await productionPackages(PACKAGE_ROOT)).map((dir) => dir.slice(PACKAGE_ROOT.length));
    expect(NOT_IN_IMAGE.has('@kubernetes/client-node')).toBe(true);
    expect(
      packages.filter((p) => /@kubernetes\/client-node|openid-client|jsonpath-plus|hpagent/.test(p)),
    ).toEqual([]);
    expect(packages).toEqual(
      expect.arrayContaining([
        'node_modules/onnxruntime-node',
        'node_modules/@grpc/grpc-js',
        'node_modules/yaml',
      ]),
    );
  });
});
