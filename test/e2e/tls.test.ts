/**
 * TLS and mTLS end to end through the real CLI, with certificates made by openssl: HTTPS and
 * gRPC over TLS with an API key, plain clients refused, a certificate rotated under load without a
 * failed request or a dropped connection, and client certificates required, accepted and refused.
 */
import { X509Certificate } from 'node:crypto';
import { copyFileSync, readFileSync, renameSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { Agent, request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { connect, type TLSSocket } from 'node:tls';
import {
  Client,
  credentials,
  Metadata,
  status,
  type ChannelCredentials,
  type ServiceError,
} from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inferenceMethods, type GrpcMethod } from '../../src/protocol/index.js';
import { doubleModel, writeModel } from '../fixtures/models.js';
import { makeCa, makeCert, pem, type Pem } from '../helpers/certs.js';
import { createKey, runCli, startServeLoaded, type ServeProcess } from '../helpers/cli.js';
import { tempDirsForFile } from '../helpers/temp-dir.js';
import { until } from '../helpers/until.js';

const tempDir = tempDirsForFile('berth-tls-');

let dir: string;
let ca: Pem;
let first: Pem;
let second: Pem;
let client: Pem;
let strangerClient: Pem;
let key: string;
let models: string;

const INFER = JSON.stringify({
  inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }],
});

interface Answer {
  readonly status: number;
  readonly body: string;
  readonly fingerprint: string | undefined;
  readonly hsts: string | undefined;
}

/** One HTTPS request; `agent` false for a connection of its own. */
function get(
  url: string,
  path: string,
  options: { cert?: Pem; agent?: Agent | false; method?: string; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const outgoing = httpsRequest(
      `${url}${path}`,
      {
        method: options.method ?? 'GET',
        ca: pem(ca.cert),
        agent: options.agent ?? false,
        headers: { authorization: `Bearer ${key}` },
        ...(options.cert === undefined ? {} : { cert: pem(options.cert.cert), key: pem(options.cert.key) }),
      },
      (response) => {
        const socket: unknown = response.socket;
        const fingerprint = (socket as Pick<TLSSocket, 'getPeerCertificate'>).getPeerCertificate()
          .fingerprint256;
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        const hsts = response.headers['strict-transport-security'];
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body, fingerprint, hsts }));
      },
    );
    outgoing.on('error', reject);
    outgoing.end(options.body);
  });
}

function fingerprintOf(path: string): string {
  return new X509Certificate(readFileSync(path)).fingerprint256;
}

function grpcInfer(address: string, channel: ChannelCredentials): Promise<number> {
  const method = inferenceMethods().ModelInfer as GrpcMethod;
  const grpcClient = new Client(address, channel);
  const metadata = new Metadata();
  metadata.set('authorization', `Bearer ${key}`);
  const request = {
    model_name: 'double',
    inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [1, 2, 3, 4] } }],
  };
  return new Promise((resolve) => {
    grpcClient.makeUnaryRequest(
      method.path,
      method.requestSerialize,
      method.responseDeserialize,
      request,
      metadata,
      { deadline: Date.now() + 5000 },
      (error: ServiceError | null) => {
        grpcClient.close();
        resolve(error?.code ?? status.OK);
      },
    );
  });
}

beforeAll(() => {
  dir = tempDir();
  ca = makeCa(dir);
  first = makeCert(dir, ca, 'first', 'server');
  second = makeCert(dir, ca, 'second', 'server');
  client = makeCert(dir, ca, 'app', 'client');
  const stranger = makeCa(dir, 'stranger');
  strangerClient = makeCert(dir, stranger, 'intruder', 'client');
  models = join(dir, 'models');
  writeModel(models, 'double', doubleModel());
  key = createKey(join(dir, 'keys.json'), 'infer', 'read');
});

describe('berth serve --tls-cert --tls-key', () => {
  let server: ServeProcess;
  beforeAll(async () => {
    copyFileSync(first.cert, join(dir, 'tls.crt'));
    copyFileSync(first.key, join(dir, 'tls.key'));
    server = await startServeLoaded([
      models,
      '--tls-cert',
      join(dir, 'tls.crt'),
      '--tls-key',
      join(dir, 'tls.key'),
      '--api-keys',
      join(dir, 'keys.json'),
    ]);
  });
  afterAll(() => server.stop());

  it('serves HTTPS, with the key, and refuses plain HTTP', async () => {
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const answer = await get(server.url, '/v2/models/double/infer', { method: 'POST', body: INFER });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ outputs: [{ data: [2, 4, 6, 8] }] });
    expect(answer.fingerprint).toBe(fingerprintOf(first.cert));
    expect(answer.hsts).toBe('max-age=31536000');
    expect((await get(server.url, '/v2/models/double')).hsts).toBe('max-age=31536000');
    const plain = new Promise((resolve, reject) => {
      const outgoing = httpRequest(server.url.replace('https:', 'http:') + '/v2/health/ready', (r) =>
        resolve(r.statusCode),
      );
      outgoing.on('error', reject);
      outgoing.end();
    });
    await expect(plain).rejects.toThrow();
  });

  it('refuses TLS older than 1.2', async () => {
    const port = Number(new URL(server.url).port);
    const old = new Promise<void>((resolve, reject) => {
      const socket = connect(
        {
          host: '127.0.0.1',
          port,
          ca: pem(ca.cert),
          maxVersion: 'TLSv1.1',
          minVersion: 'TLSv1',
          ciphers: 'DEFAULT@SECLEVEL=0',
        },
        () => {
          socket.destroy();
          resolve();
        },
      );
      socket.on('error', reject);
    });
    await expect(old).rejects.toThrow();
  });

  it('serves gRPC over TLS, and refuses a plain channel', async () => {
    const address = server.grpcAddress ?? '';
    expect(await grpcInfer(address, credentials.createSsl(readFileSync(ca.cert)))).toBe(status.OK);
    expect(await grpcInfer(address, credentials.createInsecure())).toBe(status.UNAVAILABLE);
  });

  it('takes a new certificate under load, without a failed request or a dropped connection', async () => {
    const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
    expect((await get(server.url, '/v2/health/ready', { agent: keepAlive })).fingerprint).toBe(
      fingerprintOf(first.cert),
    );
    let failures = 0;
    let requests = 0;
    const state = { running: true };
    const load = (async () => {
      while (state.running) {
        requests++;
        const answer = await get(server.url, '/v2/models/double/infer', {
          method: 'POST',
          body: INFER,
        }).catch(() => undefined);
        if (answer?.status !== 200) failures++;
      }
    })();
    // Certificate first, key a moment later: between the two the files do not match.
    copyFileSync(second.cert, join(dir, 'tls.crt.new'));
    renameSync(join(dir, 'tls.crt.new'), join(dir, 'tls.crt'));
    await new Promise((resolve) => setTimeout(resolve, 300));
    copyFileSync(second.key, join(dir, 'tls.key.new'));
    renameSync(join(dir, 'tls.key.new'), join(dir, 'tls.key'));
    const rotated = fingerprintOf(second.cert);
    await until(
      async () => (await get(server.url, '/v2/health/ready')).fingerprint === rotated,
      'the new certificate',
      15_000,
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    state.running = false;
    await load;
    expect(failures).toBe(0);
    expect(requests).toBeGreaterThan(10);
    // The connection made before the rotation still answers, with the certificate it began with.
    const kept = await get(server.url, '/v2/health/ready', { agent: keepAlive });
    expect(kept).toMatchObject({ status: 200, fingerprint: fingerprintOf(first.cert) });
    keepAlive.destroy();
    expect(await grpcInfer(server.grpcAddress ?? '', credentials.createSsl(readFileSync(ca.cert)))).toBe(
      status.OK,
    );
    await server.waitForLog((l) => l.msg === 'TLS certificate reloaded');
  });
});

describe('berth serve --tls-client-ca (mTLS)', () => {
  let server: ServeProcess;
  beforeAll(async () => {
    server = await startServeLoaded([
      models,
      '--tls-cert',
      first.cert,
      '--tls-key',
      first.key,
      '--tls-client-ca',
      ca.cert,
      '--api-keys',
      join(dir, 'keys.json'),
    ]);
  });
  afterAll(() => server.stop());

  it('requires a client certificate signed by the CA', async () => {
    expect((await get(server.url, '/v2/health/live', { cert: client })).status).toBe(200);
    await expect(get(server.url, '/v2/health/live')).rejects.toThrow();
    await expect(get(server.url, '/v2/health/live', { cert: strangerClient })).rejects.toThrow();
  });

  it('does the same over gRPC', async () => {
    const address = server.grpcAddress ?? '';
    const cacert = readFileSync(ca.cert);
    expect(
      await grpcInfer(
        address,
        credentials.createSsl(cacert, readFileSync(client.key), readFileSync(client.cert)),
      ),
    ).toBe(status.OK);
    expect(await grpcInfer(address, credentials.createSsl(cacert))).toBe(status.UNAVAILABLE);
  });
});

describe('TLS options', () => {
  it('refuses half a pair, a key that does not match, and a file that is not PEM, naming them', () => {
    const half = runCli(['serve', models, '--tls-cert', first.cert]);
    expect(half.status).toBe(2);
    expect(half.stderr).toMatch(/--tls-cert and --tls-key go together/);
    const mismatched = runCli([
      'serve',
      models,
      '--tls-cert',
      first.cert,
      '--tls-key',
      second.key,
      '--port',
      '0',
      '--no-grpc',
    ]);
    expect(mismatched.status).toBe(2);
    expect(mismatched.stderr).toMatch(/not a usable certificate and key .*\(BERTH_ERR_TLS_INVALID\)/);
    expect(mismatched.stderr).not.toContain('PRIVATE KEY');
    const notPem = runCli([
      'serve',
      models,
      '--tls-cert',
      join(dir, 'keys.json'),
      '--tls-key',
      first.key,
      '--port',
      '0',
      '--no-grpc',
    ]);
    expect(notPem.stderr).toMatch(/BERTH_ERR_TLS_INVALID/);
  });
});
