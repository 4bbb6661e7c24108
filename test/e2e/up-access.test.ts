/**
 * Access control on the gateway of `berth up`, through the real CLI: keys made by `berth keys
 * create`, roles and model patterns enforced on the gateway's REST and gRPC fronts (health open
 * for probes, /metrics behind its role, a stream behind `infer` on every model), a per-model rate
 * limit answered with 429 and its headers, and no key in the gateway's logs.
 */
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { Client, credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { beforeAll, describe, expect, it } from 'vitest';
import { inferenceMethods, type GrpcMethod } from '../../src/protocol/index.js';
import { doubleModel, writeModel } from '../fixtures/models.js';
import { makeCa, makeCert, pem } from '../helpers/certs.js';
import { runCli } from '../helpers/cli.js';
import { grpcCode, grpcEnd } from '../helpers/grpc-call.js';
import { tempDirsForFile } from '../helpers/temp-dir.js';
import { upsForFile, type Up } from '../helpers/up.js';
import { until } from '../helpers/until.js';

const tempDir = tempDirsForFile('berth-up-access-');
const startUp = upsForFile();

const BODY = JSON.stringify({
  inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }],
});
let keys: { double: string; all: string; read: string; metrics: string };
let repository: string;
let keyFile: string;

function create(...args: string[]): string {
  const result = runCli(['keys', 'create', '--file', keyFile, '--json', ...args]);
  expect(result.status).toBe(0);
  return (JSON.parse(result.stdout) as { key: string }).key;
}

async function rest(up: Up, method: 'GET' | 'POST', path: string, key?: string) {
  const response = await fetch(`${up.gateway}${path}`, {
    method,
    headers: key === undefined ? {} : { authorization: `Bearer ${key}` },
    ...(method === 'POST' ? { body: path.endsWith('/infer') ? BODY : '{}' } : {}),
  });
  return {
    status: response.status,
    code: response.headers.get('berth-error-code'),
    headers: response.headers,
    body: await response.text(),
  };
}

function grpcUnary(
  up: Up,
  method: string,
  request: unknown,
  key?: string,
  channel = credentials.createInsecure(),
): Promise<number> {
  return grpcCode(up.grpc, method, request, key === undefined ? {} : { 'x-api-key': key }, channel);
}

function grpcStream(up: Up, key: string): Promise<number> {
  const spec = inferenceMethods().ModelStreamInfer as GrpcMethod;
  const client = new Client(up.grpc, credentials.createInsecure());
  const metadata = new Metadata();
  metadata.set('authorization', `Bearer ${key}`);
  return new Promise((resolve) => {
    const stream = client.makeBidiStreamRequest(
      spec.path,
      spec.requestSerialize,
      spec.responseDeserialize,
      metadata,
    );
    stream.on('data', () => stream.end());
    stream.on('error', (error: ServiceError) => {
      client.close();
      resolve(error.code);
    });
    stream.on('end', () => {
      client.close();
      resolve(status.OK);
    });
    stream.write({
      model_name: 'double',
      inputs: [
        { name: 'INPUT0', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [1, 2, 3, 4] } },
      ],
    });
  });
}

beforeAll(() => {
  const dir = tempDir();
  repository = join(dir, 'models');
  keyFile = join(dir, 'keys.json');
  writeModel(repository, 'double', doubleModel());
  writeModel(repository, 'other', doubleModel());
  keys = {
    double: create('--role', 'infer', '--models', 'double', '--name', 'app'),
    all: create('--role', 'infer', '--name', 'batch'),
    read: create('--role', 'read', '--name', 'dash'),
    metrics: create('--role', 'metrics', '--name', 'prom'),
  };
});

describe('berth up --api-keys', () => {
  it('enforces keys and roles on both fronts of the gateway, and limits per model', async () => {
    const up = await startUp([
      repository,
      '--api-keys',
      keyFile,
      '--model-rate-limit',
      'other=1/m',
      '--rate-limit',
      '600/m',
      '--rate-burst',
      '600',
    ]);
    await until(
      async () => (await rest(up, 'GET', '/v2/health/ready')).status === 200,
      'a ready replica',
      20_000,
    );

    // REST: who may call what.
    const none = await rest(up, 'POST', '/v2/models/double/infer');
    expect([none.status, none.code, none.headers.get('www-authenticate')]).toEqual([
      401,
      'BERTH_ERR_AUTH_UNAUTHENTICATED',
      'Bearer realm="berth"',
    ]);
    expect((await rest(up, 'POST', '/v2/models/double/infer', 'berth_nope_nope')).status).toBe(401);
    const answered = await rest(up, 'POST', '/v2/models/double/infer', keys.double);
    expect(answered.status).toBe(200);
    expect(JSON.parse(answered.body)).toMatchObject({ outputs: [{ data: [2, 4, 6, 8] }] });
    const otherModel = await rest(up, 'POST', '/v2/models/other/infer', keys.double);
    expect([otherModel.status, otherModel.code]).toEqual([403, 'BERTH_ERR_AUTH_FORBIDDEN']);
    expect((await rest(up, 'GET', '/v2/models/double', keys.double)).status).toBe(403);
    expect((await rest(up, 'GET', '/v2/models/double', keys.read)).status).toBe(200);
    expect((await rest(up, 'POST', '/v2/repository/models/double/unload', keys.all)).status).toBe(403);
    expect((await rest(up, 'GET', '/v2/health/live')).status).toBe(200);
    expect((await rest(up, 'GET', '/v2/models/double/ready')).status).toBe(200);
    expect((await rest(up, 'GET', '/metrics')).status).toBe(401);
    expect((await rest(up, 'GET', '/metrics', keys.read)).status).toBe(403);
    expect((await rest(up, 'GET', '/metrics', keys.metrics)).status).toBe(200);
    expect((await rest(up, 'GET', '/no/such/route')).status).toBe(401);
    expect((await rest(up, 'GET', '/no/such/route', keys.read)).status).toBe(404);

    // A per-model limit, over all callers: the second request within the minute is refused; the
    // admitted one says so in its RateLimit fields.
    const admitted = await rest(up, 'POST', '/v2/models/other/infer', keys.all);
    expect(admitted.status).toBe(200);
    expect(admitted.headers.get('ratelimit-policy')).toBe('"caller";q=600;w=60, "model";q=1;w=60');
    expect(admitted.headers.get('ratelimit')).toMatch(/^"caller";r=\d+;t=\d+, "model";r=0;t=\d+$/);
    const limited = await rest(up, 'POST', '/v2/models/other/infer', keys.all);
    expect([limited.status, limited.code]).toEqual([429, 'BERTH_ERR_RATE_LIMITED']);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.headers.get('ratelimit-policy')).toBe('"model";q=1;w=60');

    // gRPC: the same roles, from metadata.
    const infer = {
      model_name: 'double',
      inputs: [
        { name: 'INPUT0', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [1, 2, 3, 4] } },
      ],
    };
    expect(await grpcUnary(up, 'ModelInfer', infer)).toBe(status.UNAUTHENTICATED);
    const inferred = await grpcEnd(up.grpc, 'ModelInfer', infer, { 'x-api-key': keys.double });
    expect(inferred.code).toBe(status.OK);
    expect(inferred.trailers['ratelimit-policy']).toBe('"caller";q=600;w=60');
    expect(inferred.trailers.ratelimit).toMatch(/^"caller";r=\d+;t=\d+$/);
    expect(await grpcUnary(up, 'ModelInfer', { ...infer, model_name: 'other' }, keys.double)).toBe(
      status.PERMISSION_DENIED,
    );
    // The model's limit is spent: RESOURCE_EXHAUSTED, its RateLimit fields in the trailers.
    const exhausted = await grpcEnd(
      up.grpc,
      'ModelInfer',
      { ...infer, model_name: 'other' },
      { 'x-api-key': keys.all },
    );
    expect(exhausted.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(exhausted.trailers['ratelimit-policy']).toBe('"model";q=1;w=60');
    expect(Number(exhausted.trailers['retry-after'])).toBeGreaterThan(0);
    expect(await grpcUnary(up, 'ModelMetadata', { name: 'double' }, keys.double)).toBe(
      status.PERMISSION_DENIED,
    );
    expect(await grpcUnary(up, 'ModelMetadata', { name: 'double' }, keys.read)).toBe(status.OK);
    expect(await grpcUnary(up, 'RepositoryModelUnload', { model_name: 'double' }, keys.all)).toBe(
      status.PERMISSION_DENIED,
    );
    expect(await grpcUnary(up, 'ServerLive', {})).toBe(status.OK);
    // A stream names its models message by message: only a key for every model may open one.
    expect(await grpcStream(up, keys.double)).toBe(status.PERMISSION_DENIED);
    expect(await grpcStream(up, keys.all)).toBe(status.OK);

    // No key in anything the gateway wrote.
    for (const key of Object.values(keys)) {
      expect(up.stderr()).not.toContain(key);
      expect(up.stdout()).not.toContain(key);
    }
  });

  it('serves HTTPS and gRPC over TLS at the gateway with --tls-cert, and refuses plaintext', async () => {
    const dir = tempDir();
    const ca = makeCa(dir);
    const cert = makeCert(dir, ca, 'gateway', 'server');
    const up = await startUp([
      repository,
      '--api-keys',
      keyFile,
      '--tls-cert',
      cert.cert,
      '--tls-key',
      cert.key,
    ]);
    expect(up.gateway).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const secure = (path: string, key?: string) =>
      new Promise<{ status: number; hsts: string | undefined; body: string }>((resolve, reject) => {
        const outgoing = httpsRequest(
          `${up.gateway}${path}`,
          {
            method: 'POST',
            ca: pem(ca.cert),
            headers: key === undefined ? {} : { authorization: `Bearer ${key}` },
          },
          (response) => {
            let body = '';
            response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
            response.once('end', () =>
              resolve({
                status: response.statusCode ?? 0,
                hsts: response.headers['strict-transport-security'],
                body,
              }),
            );
          },
        );
        outgoing.once('error', reject);
        outgoing.end(BODY);
      });
    await until(
      async () => (await secure('/v2/models/double/infer', keys.double)).status === 200,
      'a ready replica',
      20_000,
    );
    const answered = await secure('/v2/models/double/infer', keys.double);
    expect(JSON.parse(answered.body)).toMatchObject({ outputs: [{ data: [2, 4, 6, 8] }] });
    expect(answered.hsts).toBe('max-age=31536000');
    expect((await secure('/v2/models/double/infer')).status).toBe(401);
    // A plaintext client gets no answer from the TLS port.
    const plain = await new Promise<string>((resolve) => {
      const outgoing = httpRequest(`${up.gateway.replace('https:', 'http:')}/v2/health/live`, (response) =>
        resolve(`status ${response.statusCode ?? 0}`),
      );
      outgoing.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
      outgoing.end();
    });
    expect(plain).not.toMatch(/^status 200/);
    const tlsChannel = credentials.createSsl(readFileSync(ca.cert));
    const infer = {
      model_name: 'double',
      inputs: [
        { name: 'INPUT0', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [1, 2, 3, 4] } },
      ],
    };
    expect(await grpcUnary(up, 'ModelInfer', infer, keys.double, tlsChannel)).toBe(status.OK);
    expect(await grpcUnary(up, 'ModelInfer', infer, keys.double)).toBe(status.UNAVAILABLE);
  });

  it("reads keys and limits from the spec's serve section, paths relative to it, the command line winning", async () => {
    const dir = tempDir();
    const spec = join(dir, 'berth.yaml');
    copyFileSync(keyFile, join(dir, 'keys.json'));
    writeFileSync(
      spec,
      [
        `repository: ${repository}`,
        'serve:',
        '  auth: { apiKeys: keys.json }',
        '  limits: { perModel: { other: 1/m }, maxConcurrent: 8 }',
      ].join('\n'),
    );
    const up = await startUp(['-f', spec, '--model-rate-limit', 'other=100/s']);
    await until(
      async () => (await rest(up, 'GET', '/v2/health/ready')).status === 200,
      'a ready replica',
      20_000,
    );
    expect((await rest(up, 'POST', '/v2/models/double/infer')).status).toBe(401);
    expect((await rest(up, 'POST', '/v2/models/double/infer', keys.double)).status).toBe(200);
    // The command line's per-model limit replaced the spec's 1/m.
    expect((await rest(up, 'POST', '/v2/models/other/infer', keys.all)).status).toBe(200);
    expect((await rest(up, 'POST', '/v2/models/other/infer', keys.all)).status).toBe(200);
  });

  it('refuses an audit log without keys, at start', () => {
    const result = runCli(['up', repository, '--port', '0', '--audit-log', join(tempDir(), 'audit.jsonl')]);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('--audit-log needs --api-keys');
  });
});
