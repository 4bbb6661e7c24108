import { describe, expect, it } from 'vitest';
import { installBase, modulePathInImage } from './install-layout.js';

describe('install layout', () => {
  it('is the checkout itself, or the project that installed berth (scoped names too)', () => {
    expect(installBase('/home/me/berth')).toBe('/home/me/berth');
    expect(installBase('/srv/app/node_modules/berth-ml')).toBe('/srv/app');
    expect(installBase('/srv/app/node_modules/@acme/berth')).toBe('/srv/app');
  });

  it("places berth's own, nested and hoisted dependencies under the image's node_modules", () => {
    expect(modulePathInImage('/home/me/berth', '/home/me/berth/node_modules/fastify')).toBe('fastify');
    const root = '/srv/app/node_modules/berth-ml';
    expect(modulePathInImage(root, '/srv/app/node_modules/fastify')).toBe('fastify');
    expect(modulePathInImage(root, '/srv/app/node_modules/@grpc/grpc-js')).toBe('@grpc/grpc-js');
    expect(modulePathInImage(root, `${root}/node_modules/semver`)).toBe('semver');
    expect(modulePathInImage(root, '/srv/app/node_modules/a/node_modules/b')).toBe('a/node_modules/b');
  });

  it('refuses a dependency outside both (npm link)', () => {
    expect(() => modulePathInImage('/home/me/berth', '/elsewhere/fastify')).toThrow(/outside.*npm link/);
  });
});
