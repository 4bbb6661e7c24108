import { describe, expect, it } from 'vitest';
import { formatReference, parseImageReference, referenceTarget, registryApiHost } from './image-reference.js';

describe('parseImageReference', () => {
  it('reads Docker Hub short names the way docker does', () => {
    expect(parseImageReference('node:20')).toEqual({
      registry: 'docker.io',
      repository: 'library/node',
      tag: '20',
    });
    expect(parseImageReference('bitnami/redis')).toEqual({
      registry: 'docker.io',
      repository: 'bitnami/redis',
      tag: 'latest',
    });
    expect(parseImageReference('index.docker.io/library/node:20').registry).toBe('docker.io');
    expect(registryApiHost('docker.io')).toBe('registry-1.docker.io');
  });

  it('takes the first part as a registry only with a dot, a port or localhost', () => {
    expect(parseImageReference('gcr.io/distroless/nodejs20-debian12:nonroot')).toEqual({
      registry: 'gcr.io',
      repository: 'distroless/nodejs20-debian12',
      tag: 'nonroot',
    });
    expect(parseImageReference('127.0.0.1:5000/team/app:1.0')).toMatchObject({
      registry: '127.0.0.1:5000',
      repository: 'team/app',
      tag: '1.0',
    });
    expect(parseImageReference('localhost/app').registry).toBe('localhost');
    expect(parseImageReference('docker://localhost:5000/app:2')).toMatchObject({
      registry: 'localhost:5000',
      tag: '2',
    });
  });

  it('keeps a digest, which wins over the tag', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    const ref = parseImageReference(`ghcr.io/acme/app:1.0@${digest}`);
    expect(ref).toEqual({ registry: 'ghcr.io', repository: 'acme/app', tag: '1.0', digest });
    expect(referenceTarget(ref)).toBe(digest);
    expect(formatReference(ref)).toBe(`ghcr.io/acme/app:1.0@${digest}`);
    expect(parseImageReference(`app@${digest}`).tag).toBeUndefined();
  });

  it('names what is wrong', () => {
    expect(() => parseImageReference('Acme/App')).toThrow(/repository part "Acme" must be lower-case/);
    expect(() => parseImageReference('app:bad tag')).toThrow(/tag "bad tag" must match/);
    expect(() => parseImageReference('app@sha256:xyz')).toThrow(/"sha256:xyz" is not a sha256 digest/);
    expect(() => parseImageReference('')).toThrow(/empty/);
    expect(() => parseImageReference('registry.example/a//b')).toThrow(/repository part ""/);
  });
});
