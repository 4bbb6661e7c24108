/**
 * JWT bearer tokens end to end through the real CLI: `berth serve --jwt-jwks` with a JWKS file
 * (and API keys beside it), tokens signed by the test with `jose`; roles from the token's claim on
 * REST and gRPC, refusals for expired tokens and other issuers, and no token in the logs.
 */
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { doubleModel, writeModel } from '../fixtures/models.js';
import { runCli, startServeLoaded, type ServeProcess } from '../helpers/cli.js';
import { grpcCode, inferMessage } from '../helpers/grpc-call.js';
import { tempDirsForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirsForFile('berth-jwt-');
const ISSUER = 'https://idp.test/';
let server: ServeProcess;
let privateKey: CryptoKey;
let apiKey: string;
let jwksFile: string;

const BODY = JSON.stringify({
  inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }],
});

function token(roles: string[], options: { exp?: number; iss?: string } = {}): Promise<string> {
  return new SignJWT({ roles })
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
    .setSubject('svc-fraud')
    .setIssuer(options.iss ?? ISSUER)
    .setAudience('berth')
    .setExpirationTime(options.exp ?? '5m')
    .sign(privateKey);
}

async function infer(bearer?: string) {
  const response = await fetch(`${server.url}/v2/models/double/infer`, {
    method: 'POST',
    headers: bearer === undefined ? {} : { authorization: `Bearer ${bearer}` },
    body: BODY,
  });
  return {
    status: response.status,
    code: response.headers.get('berth-error-code'),
    body: await response.text(),
  };
}

beforeAll(async () => {
  const dir = tempDir();
  writeModel(join(dir, 'models'), 'double', doubleModel());
  const pair = await generateKeyPair('ES256');
  privateKey = pair.privateKey;
  jwksFile = join(dir, 'jwks.json');
  writeFileSync(
    jwksFile,
    JSON.stringify({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256' }] }),
  );
  const keyFile = join(dir, 'keys.json');
  const made = runCli(['keys', 'create', '--file', keyFile, '--role', 'infer', '--json']);
  apiKey = (JSON.parse(made.stdout) as { key: string }).key;
  server = await startServeLoaded([
    join(dir, 'models'),
    '--jwt-jwks',
    jwksFile,
    '--jwt-issuer',
    ISSUER,
    '--jwt-audience',
    'berth',
    '--api-keys',
    keyFile,
    '--log-level',
    'debug',
  ]);
});
afterAll(() => server.stop());

describe('berth serve --jwt-jwks', () => {
  it('takes roles from the token on REST, beside API keys, and refuses bad tokens with 401', async () => {
    const good = await token(['infer']);
    const answered = await infer(good);
    expect(answered.status).toBe(200);
    expect(JSON.parse(answered.body)).toMatchObject({ outputs: [{ data: [2, 4, 6, 8] }] });
    expect((await infer(apiKey)).status).toBe(200);
    expect(await infer(await token(['read']))).toMatchObject({
      status: 403,
      code: 'BERTH_ERR_AUTH_FORBIDDEN',
    });
    const expired = await infer(await token(['infer'], { exp: Math.floor(Date.now() / 1000) - 3600 }));
    expect(expired).toMatchObject({ status: 401, code: 'BERTH_ERR_AUTH_UNAUTHENTICATED' });
    expect(JSON.parse(expired.body)).toEqual({ error: 'the token expired' });
    expect((await infer(await token(['infer'], { iss: 'https://evil.test/' }))).status).toBe(401);
    expect((await infer()).status).toBe(401);

    const grpcWith = (bearer: string) =>
      grpcCode(server.grpcAddress ?? '', 'ModelInfer', inferMessage(), { authorization: `Bearer ${bearer}` });
    expect(await grpcWith(good)).toBe(status.OK);
    expect(await grpcWith(await token(['metrics']))).toBe(status.PERMISSION_DENIED);

    const logs = JSON.stringify(server.logs);
    expect(logs).not.toContain(good);
    expect(logs).not.toContain(good.split('.')[2]);
  });

  it('takes the JWT settings and the repository from a spec with -f', async () => {
    const dir = tempDir();
    writeModel(join(dir, 'models'), 'double', doubleModel());
    copyFileSync(jwksFile, join(dir, 'jwks.json'));
    writeFileSync(
      join(dir, 'berth.yaml'),
      [
        'repository: models',
        'serve:',
        '  auth:',
        `    jwt: { jwks: jwks.json, issuer: "${ISSUER}", audience: berth }`,
      ].join('\n'),
    );
    const fromSpec = await startServeLoaded(['-f', join(dir, 'berth.yaml')]);
    try {
      const call = async (bearer?: string) =>
        (
          await fetch(`${fromSpec.url}/v2/models/double/infer`, {
            method: 'POST',
            headers: bearer === undefined ? {} : { authorization: `Bearer ${bearer}` },
            body: BODY,
          })
        ).status;
      expect(await call(await token(['infer']))).toBe(200);
      expect(await call()).toBe(401);
    } finally {
      await fromSpec.stop();
    }
  });

  it('refuses to start with a JWKS but no issuer, or a shared-secret algorithm', () => {
    const noIssuer = runCli(['serve', '--port', '0', '--jwt-jwks', 'jwks.json', '--jwt-audience', 'berth']);
    expect(noIssuer.status).toBe(2);
    expect(noIssuer.stderr).toContain('--jwt-jwks needs --jwt-issuer and --jwt-audience');
    const secret = runCli([
      'serve',
      '--port',
      '0',
      '--jwt-jwks',
      'jwks.json',
      '--jwt-issuer',
      ISSUER,
      '--jwt-audience',
      'berth',
      '--jwt-algorithms',
      'ES256,HS256',
    ]);
    expect(secret.status).toBe(2);
    expect(secret.stderr).toContain('JWT algorithm "HS256" is never accepted');
    const stray = runCli(['serve', '--port', '0', '--jwt-issuer', ISSUER]);
    expect(stray.stderr).toContain('--jwt-issuer needs --jwt-jwks');
  });
});
