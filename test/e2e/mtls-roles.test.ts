/**
 * Client certificates as principals (mTLS), through the real CLI: with `--tls-client-role`, a
 * certificate the client CA signed speaks for its caller when no bearer credential comes with
 * it, with the roles and model patterns its common name is given; a name without roles may do
 * nothing. At `berth serve` and at the `berth up` gateway, over HTTPS and gRPC over TLS.
 */
import { readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { credentials, status } from '@grpc/grpc-js';
import { beforeAll, describe, expect, it } from 'vitest';
import { doubleModel, writeModel } from '../fixtures/models.js';
import { makeCa, makeCert, pem, type Pem } from '../helpers/certs.js';
import { startServeLoaded } from '../helpers/cli.js';
import { grpcCode, inferMessage } from '../helpers/grpc-call.js';
import { tempDirsForFile } from '../helpers/temp-dir.js';
import { upsForFile } from '../helpers/up.js';
import { until } from '../helpers/until.js';
import { join } from 'node:path';

const tempDir = tempDirsForFile('berth-mtls-roles-');
const startUp = upsForFile();
const BODY = JSON.stringify({
  inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }],
});

let ca: Pem;
let server: Pem;
let app: Pem;
let stranger: Pem;
let repository: string;
let tlsArgs: string[];

function call(
  base: string,
  path: string,
  client: Pem,
  method = 'POST',
): Promise<{ status: number; code: string }> {
  return new Promise((resolve, reject) => {
    const outgoing = httpsRequest(
      `${base}${path}`,
      { method, ca: pem(ca.cert), cert: pem(client.cert), key: pem(client.key) },
      (response) => {
        response.resume();
        response.once('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            code: String(response.headers['berth-error-code'] ?? ''),
          }),
        );
      },
    );
    outgoing.once('error', reject);
    outgoing.end(method === 'POST' ? BODY : undefined);
  });
}

function grpcInfer(address: string, client: Pem): Promise<number> {
  const channel = credentials.createSsl(
    readFileSync(ca.cert),
    readFileSync(client.key),
    readFileSync(client.cert),
  );
  return grpcCode(address, 'ModelInfer', inferMessage(), {}, channel);
}

beforeAll(() => {
  const dir = tempDir();
  ca = makeCa(dir);
  server = makeCert(dir, ca, 'server', 'server');
  app = makeCert(dir, ca, 'fraud-app', 'client');
  stranger = makeCert(dir, ca, 'stranger', 'client');
  repository = join(dir, 'models');
  writeModel(repository, 'double', doubleModel());
  tlsArgs = [
    '--tls-cert',
    server.cert,
    '--tls-key',
    server.key,
    '--tls-client-ca',
    ca.cert,
    '--tls-client-role',
    'fraud-app=infer@double',
  ];
});

async function expectRoles(base: string, grpcAddress: string): Promise<void> {
  expect(await call(base, '/v2/models/double/infer', app)).toEqual({ status: 200, code: '' });
  expect(await call(base, '/v2/models/double', app, 'GET')).toEqual({
    status: 403,
    code: 'BERTH_ERR_AUTH_FORBIDDEN',
  });
  expect(await call(base, '/v2/models/double/infer', stranger)).toEqual({
    status: 403,
    code: 'BERTH_ERR_AUTH_FORBIDDEN',
  });
  expect(await grpcInfer(grpcAddress, app)).toBe(status.OK);
  expect(await grpcInfer(grpcAddress, stranger)).toBe(status.PERMISSION_DENIED);
}

describe('--tls-client-role', () => {
  it('gives a client certificate its roles at berth serve, on HTTPS and gRPC', async () => {
    const served = await startServeLoaded([repository, ...tlsArgs]);
    try {
      await expectRoles(served.url, served.grpcAddress ?? '');
    } finally {
      await served.stop();
    }
  });

  it('and at the berth up gateway', async () => {
    const up = await startUp([repository, ...tlsArgs]);
    await until(
      async () => (await call(up.gateway, '/v2/health/ready', app, 'GET')).status === 200,
      'a ready replica',
      20_000,
    );
    await expectRoles(up.gateway, up.grpc);
  });
});
