/**
 * API keys end to end through the real CLI: `berth keys create` makes keys, `berth serve
 * --api-keys` enforces them on REST (the inference fast path and fastify routes), gRPC (with
 * metadata) and /metrics; `berth keys revoke` takes effect on the running server; and no key ever
 * appears in the server's logs, errors or metrics.
 */
import { request as httpRequest } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Client, credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inferenceMethods, type GrpcMethod } from '../../src/protocol/index.js';
import { doubleModel, writeModel } from '../fixtures/models.js';
import { runCli, startServeLoaded, type ServeProcess } from '../helpers/cli.js';
import { tempDirsForFile } from '../helpers/temp-dir.js';
import { until } from '../helpers/until.js';

const tempDir = tempDirsForFile('berth-access-');

let server: ServeProcess;
let keyFile: string;
let auditFile: string;
const keys: Record<string, string> = {};

function create(...args: string[]): { key: string; id: string } {
  const result = runCli(['keys', 'create', '--file', keyFile, '--json', ...args]);
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  return JSON.parse(result.stdout) as { key: string; id: string };
}

const INFER_BODY = JSON.stringify({
  inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }],
});

async function rest(path: string, key?: string, header: 'bearer' | 'x-api-key' = 'bearer') {
  const headers: Record<string, string> = {};
  if (key !== undefined) {
    if (header === 'bearer') headers.authorization = `Bearer ${key}`;
    else headers['x-api-key'] = key;
  }
  const post = path.endsWith('/infer') || path.endsWith('/index');
  const response = await fetch(`${server.url}${path}`, {
    method: post ? 'POST' : 'GET',
    headers,
    ...(post ? { body: path.endsWith('/infer') ? INFER_BODY : '{}' } : {}),
  });
  return {
    status: response.status,
    code: response.headers.get('berth-error-code'),
    challenge: response.headers.get('www-authenticate'),
    body: await response.text(),
  };
}

function grpc(method: string, request: unknown, key?: string): Promise<{ code: number; details: string }> {
  const spec = inferenceMethods()[method] as GrpcMethod;
  const client = new Client(server.grpcAddress ?? '', credentials.createInsecure());
  const metadata = new Metadata();
  if (key !== undefined) metadata.set('authorization', `Bearer ${key}`);
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      spec.path,
      spec.requestSerialize,
      spec.responseDeserialize,
      request,
      metadata,
      (error: ServiceError | null) => {
        client.close();
        resolve({ code: error?.code ?? status.OK, details: error?.details ?? '' });
      },
    );
  });
}

beforeAll(async () => {
  const dir = tempDir();
  keyFile = join(dir, 'keys.json');
  writeModel(join(dir, 'models'), 'double', doubleModel());
  keys.infer = create('--role', 'infer', '--name', 'app').key;
  keys.read = create('--role', 'read', '--role', 'metrics').key;
  keys.other = create('--role', 'infer', '--role', 'read', '--models', 'fraud-*').key;
  keys.admin = create('--role', 'admin').key;
  auditFile = join(dir, 'audit.jsonl');
  server = await startServeLoaded([
    join(dir, 'models'),
    '--api-keys',
    keyFile,
    '--log-level',
    'debug',
    '--audit-log',
    auditFile,
  ]);
});
afterAll(() => server.stop());

describe('berth serve --api-keys', () => {
  it('answers 401 with a challenge to a request without a valid key, on the fast path and the routes', async () => {
    for (const path of ['/v2/models/double/infer', '/v2/models/double', '/v2/repository/index']) {
      const none = await rest(path);
      expect(none).toMatchObject({
        status: 401,
        code: 'BERTH_ERR_AUTH_UNAUTHENTICATED',
        challenge: 'Bearer realm="berth"',
      });
      expect((await rest(path, 'berth_000000000000_' + 'A'.repeat(43))).status).toBe(401);
      expect((await rest(path, 'garbage')).status).toBe(401);
    }
  });

  it('lets a key do what its roles allow, sent as a bearer token or x-api-key', async () => {
    const ok = await rest('/v2/models/double/infer', keys.infer);
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toMatchObject({ outputs: [{ name: 'OUTPUT0', data: [2, 4, 6, 8] }] });
    expect((await rest('/v2/models/double/infer', keys.infer, 'x-api-key')).status).toBe(200);
    expect((await rest('/v2/models/double', keys.read)).status).toBe(200);
    expect((await rest('/metrics', keys.read)).status).toBe(200);
  });

  it('answers 403 to a key without the role, or limited to other models', async () => {
    const noRole = await rest('/v2/models/double', keys.infer);
    expect(noRole).toMatchObject({ status: 403, code: 'BERTH_ERR_AUTH_FORBIDDEN' });
    expect(JSON.parse(noRole.body).error).toMatch(/needs the read role \(it has infer\)/);
    expect((await rest('/v2/models/double/infer', keys.read)).status).toBe(403);
    expect((await rest('/metrics', keys.infer)).status).toBe(403);
    expect((await rest('/metrics')).status).toBe(401);
    const other = await rest('/v2/models/double/infer', keys.other);
    expect(other.status).toBe(403);
    expect(JSON.parse(other.body).error).toMatch(/limited to fraud-\*/);
    expect((await rest('/v2/repository/index', keys.other)).status).toBe(403);
  });

  it('refuses an anonymous inference before reading its body', async () => {
    // Headers that announce 10 MB, and no body: the answer must not wait for it.
    const answer = await new Promise<{ status: number; connection: string | undefined }>(
      (resolve, reject) => {
        const outgoing = httpRequest(`${server.url}/v2/models/double/infer`, {
          method: 'POST',
          headers: { 'content-type': 'application/octet-stream', 'content-length': String(10 << 20) },
        });
        outgoing.on('response', (response) => {
          response.resume();
          resolve({ status: response.statusCode ?? 0, connection: response.headers.connection });
          outgoing.destroy();
        });
        outgoing.on('error', reject);
        outgoing.flushHeaders();
      },
    );
    expect(answer).toEqual({ status: 401, connection: 'close' });
  });

  it('leaves health open for probes', async () => {
    expect((await rest('/v2/health/ready')).status).toBe(200);
    expect((await rest('/v2/health/live')).status).toBe(200);
  });

  it('enforces the same over gRPC, with the key in metadata', async () => {
    const request = {
      model_name: 'double',
      inputs: [
        { name: 'INPUT0', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [1, 2, 3, 4] } },
      ],
    };
    expect((await grpc('ModelInfer', request)).code).toBe(status.UNAUTHENTICATED);
    // Refused before decoding: a malformed message gets the same answer, not INVALID_ARGUMENT.
    expect((await grpc('ModelInfer', { inputs: [] })).code).toBe(status.UNAUTHENTICATED);
    expect((await grpc('ModelInfer', request, keys.infer)).code).toBe(status.OK);
    expect((await grpc('ModelMetadata', { name: 'double' }, keys.infer)).code).toBe(status.PERMISSION_DENIED);
    expect((await grpc('ModelMetadata', { name: 'double' }, keys.read)).code).toBe(status.OK);
    expect((await grpc('ServerLive', {})).code).toBe(status.OK);
  });

  it('refuses a key revoked while it runs, within a few seconds, without a restart', async () => {
    const made = create('--role', 'infer');
    await until(
      async () => (await rest('/v2/models/double/infer', made.key)).status === 200,
      'the new key to be taken',
      10_000,
    );
    const revoked = runCli(['keys', 'revoke', made.id, '--file', keyFile]);
    expect(revoked.status).toBe(0);
    await until(
      async () => (await rest('/v2/models/double/infer', made.key)).status === 401,
      'the revocation',
      10_000,
    );
    expect((await rest('/v2/models/double/infer', keys.infer)).status).toBe(200);
  });

  it('never writes a key into its logs or metrics', async () => {
    const metrics = await rest('/metrics', keys.read);
    const logged = JSON.stringify(server.logs);
    for (const key of Object.values(keys)) {
      const secret = key.slice(-43);
      expect(logged).not.toContain(secret);
      expect(metrics.body).not.toContain(secret);
    }
    // Refusals are counted by their code (request metrics are outermost).
    const refusals = metrics.body.split('\n').filter((line) => line.startsWith('berth_requests_total{'));
    expect(refusals.some((line) => line.includes('code="UNAUTHENTICATED"'))).toBe(true);
    expect(refusals.some((line) => line.includes('code="PERMISSION_DENIED"'))).toBe(true);
    // The debug request log names who called, by key id.
    expect(
      server.logs.some((l) => l.msg === 'request completed' && String(l.principal).startsWith('key:')),
    ).toBe(true);
  });
});

describe('berth serve --audit-log', () => {
  it('records refused keys and admin operations, with who, from where and how it ended, never a key', async () => {
    await rest('/v2/models/double/infer'); // 401, refused before its body is read
    await rest('/v2/models/double', keys.infer); // 403
    const load = await fetch(`${server.url}/v2/repository/models/double/load`, {
      method: 'POST',
      headers: { authorization: `Bearer ${keys.admin ?? ''}` },
      body: '{}',
    });
    await load.text();
    await until(
      async () => (await readFile(auditFile, 'utf8')).includes('repositoryLoad'),
      'the audit line',
      5000,
    );
    const text = await readFile(auditFile, 'utf8');
    const lines = text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toContainEqual(
      expect.objectContaining({
        event: 'auth',
        outcome: 'BERTH_ERR_AUTH_UNAUTHENTICATED',
        operation: 'infer',
        model: 'double',
        principal: null,
        transport: 'http',
        peer: expect.any(String),
      }),
    );
    expect(lines).toContainEqual(
      expect.objectContaining({
        event: 'auth',
        outcome: 'BERTH_ERR_AUTH_FORBIDDEN',
        operation: 'modelMetadata',
        principal: expect.stringMatching(/^key:/),
      }),
    );
    expect(lines).toContainEqual(
      expect.objectContaining({
        event: 'admin',
        operation: 'repositoryLoad',
        model: 'double',
        principal: expect.stringMatching(/^key:/),
      }),
    );
    for (const key of Object.values(keys)) expect(text).not.toContain(key.slice(-43));
    expect((await stat(auditFile)).mode & 0o777).toBe(0o600);
  });
});

describe('berth keys', () => {
  it('lists keys without their hashes, and explains bad input', () => {
    const listed = runCli(['keys', 'list', '--file', keyFile, '--json']);
    expect(listed.status).toBe(0);
    expect(listed.stdout).not.toContain('scrypt$');
    const parsed = JSON.parse(listed.stdout) as { keys: { roles: string[]; name?: string }[] };
    expect(parsed.keys.some((k) => k.name === 'app')).toBe(true);
    expect(runCli(['keys', 'list', '--file', keyFile]).stdout).toMatch(/ID\s+NAME\s+ROLES\s+MODELS/);
    const bad = runCli(['keys', 'create', '--role', 'root', '--file', keyFile]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(
      /--role: expected one of infer, read, admin, metrics; got "root" \(BERTH_ERR_CLI_INVALID_OPTION\)/,
    );
    expect(
      runCli(['keys', 'create', '--role', 'infer', '--expires', 'soon', '--file', keyFile]).stderr,
    ).toMatch(/--expires: expected/);
    const missing = runCli(['keys', 'revoke', 'ffffffffffff', '--file', keyFile]);
    expect(missing.stderr).toMatch(/BERTH_ERR_AUTH_KEY_NOT_FOUND/);
    expect(runCli(['serve', '--api-keys', join(keyFile, 'nope')]).stderr).toMatch(
      /BERTH_ERR_SECRET_UNRESOLVED/,
    );
  });
});
