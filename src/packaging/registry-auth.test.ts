import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { basicHeader, findCredentials, parseChallenge } from './registry-auth.js';
import { tempDirsForFile } from '../../test/helpers/temp-dir.js';

const tempDir = tempDirsForFile('berth-docker-config-');

function configDir(config: unknown): string {
  const dir = tempDir();
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  return dir;
}

const b64 = (text: string) => Buffer.from(text).toString('base64');

describe('parseChallenge', () => {
  it('reads Bearer parameters with commas inside quotes', () => {
    expect(
      parseChallenge(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push"',
      ),
    ).toEqual({
      scheme: 'bearer',
      params: {
        realm: 'https://auth.docker.io/token',
        service: 'registry.docker.io',
        scope: 'repository:samalba/my-app:pull,push',
      },
    });
    expect(parseChallenge('Bearer realm="r",error="insufficient_scope"')?.params.error).toBe(
      'insufficient_scope',
    );
  });

  it('reads Basic and ignores schemes it does not speak', () => {
    expect(parseChallenge('Basic realm="Registry Realm"')).toEqual({
      scheme: 'basic',
      params: { realm: 'Registry Realm' },
    });
    expect(parseChallenge('Negotiate abc')).toBeUndefined();
    expect(parseChallenge(undefined)).toBeUndefined();
  });
});

describe('findCredentials', () => {
  it('reads auth, username/password and identity tokens from the Docker config', async () => {
    const dir = configDir({
      auths: {
        'registry.example:5000': { auth: b64('alice:pa:ss') },
        'https://ghcr.io': { username: 'bob', password: 'secret' },
        'quay.io': { identitytoken: 'refresh-me' },
        'https://index.docker.io/v1/': { auth: b64('hubuser:hubpass') },
      },
    });
    const env = { DOCKER_CONFIG: dir };
    expect(await findCredentials('registry.example:5000', { env })).toMatchObject({
      kind: 'password',
      username: 'alice',
      password: 'pa:ss',
    });
    expect(await findCredentials('ghcr.io', { env })).toMatchObject({ username: 'bob', password: 'secret' });
    expect(await findCredentials('quay.io', { env })).toMatchObject({
      kind: 'identity-token',
      token: 'refresh-me',
    });
    expect(await findCredentials('docker.io', { env })).toMatchObject({ username: 'hubuser' });
    expect(await findCredentials('other.example', { env })).toBeUndefined();
  });

  it('prefers BERTH_REGISTRY_* for their registry only', async () => {
    const dir = configDir({ auths: { 'a.example': { auth: b64('file:pw') } } });
    const env = { DOCKER_CONFIG: dir, BERTH_REGISTRY_USERNAME: 'ci', BERTH_REGISTRY_PASSWORD: 'token' };
    expect(await findCredentials('a.example', { env, defaultRegistry: 'a.example' })).toMatchObject({
      username: 'ci',
    });
    // Not sent to a registry they were not meant for.
    expect(await findCredentials('a.example', { env, defaultRegistry: 'b.example' })).toMatchObject({
      username: 'file',
    });
    expect(
      await findCredentials('c.example', { env: { ...env, BERTH_REGISTRY_HOST: 'c.example' } }),
    ).toMatchObject({ username: 'ci', from: 'BERTH_REGISTRY_USERNAME' });
    await expect(
      findCredentials('c.example', {
        env: { BERTH_REGISTRY_USERNAME: 'ci', BERTH_REGISTRY_HOST: 'c.example' },
      }),
    ).rejects.toThrow(/BERTH_REGISTRY_PASSWORD is not/);
  });

  it('asks a credential helper, and says so when it fails', async () => {
    const bin = tempDir('berth-helper-');
    const helper = join(bin, 'docker-credential-test');
    writeFileSync(
      helper,
      '#!/bin/sh\nread server\nif [ "$server" = "helped.example" ]; then echo \'{"ServerURL":"helped.example","Username":"h","Secret":"s3"}\'; else echo "credentials not found in native keychain"; exit 1; fi\n',
    );
    chmodSync(helper, 0o755);
    const dir = configDir({
      credHelpers: { 'helped.example': 'test', 'other.example': 'test' },
      credsStore: 'missing',
    });
    const env = { DOCKER_CONFIG: dir, PATH: `${bin}:${process.env.PATH ?? ''}` };
    const saved = process.env.PATH;
    process.env.PATH = env.PATH;
    try {
      expect(await findCredentials('helped.example', { env })).toMatchObject({
        username: 'h',
        password: 's3',
      });
      expect(await findCredentials('other.example', { env })).toBeUndefined();
      await expect(findCredentials('third.example', { env })).rejects.toThrow(
        /kept by docker-credential-missing, which failed \(ENOENT\)/,
      );
    } finally {
      process.env.PATH = saved;
    }
  });

  it('refuses a config file that is not JSON', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'config.json'), '{nope');
    await expect(findCredentials('x.example', { env: { DOCKER_CONFIG: dir } })).rejects.toThrow(
      /not valid JSON/,
    );
  });

  it('writes Basic headers only for passwords', () => {
    expect(basicHeader({ kind: 'password', username: 'a', password: 'b', from: 't' })).toBe(
      `Basic ${b64('a:b')}`,
    );
    expect(basicHeader({ kind: 'identity-token', token: 'x', from: 't' })).toBeUndefined();
  });
});
