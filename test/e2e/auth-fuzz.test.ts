/**
 * Fuzzes what callers send to authenticate, at `berth serve` and at the `berth up` gateway, with
 * API keys and JWTs both accepted: random and mutated `Authorization` and `x-api-key` headers
 * (sent as raw bytes, so nothing a client library would refuse is kept out), JWT-shaped garbage,
 * `alg: none`, and the same as gRPC metadata. Every answer must be a refusal or success the
 * protocol defines (never a 5xx, never gRPC INTERNAL or UNKNOWN), a 401 must name its scheme,
 * and the server must still serve a good key afterwards. Seeded: a failure prints the request.
 */
import { writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Client, credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { inferenceMethods, type GrpcMethod } from '../../src/protocol/index.js';
import { seededRandom } from '../../src/loadgen/input-data.js';
import { doubleModel, writeModel } from '../fixtures/models.js';
import { runCli, startServeLoaded } from '../helpers/cli.js';
import { tempDirsForFile } from '../helpers/temp-dir.js';
import { upsForFile } from '../helpers/up.js';
import { until } from '../helpers/until.js';

const tempDir = tempDirsForFile('berth-auth-fuzz-');
const startUp = upsForFile();
const SEED = Number(process.env.BERTH_FUZZ_SEED ?? 20261206);
const ROUNDS = Number(process.env.BERTH_AUTH_FUZZ_ROUNDS ?? 400);

const random = seededRandom(SEED);
const int = (n: number) => Math.floor(random() * n);
const pick = <T>(list: readonly T[]): T => list[int(list.length)] as T;

const b64 = (text: string) => Buffer.from(text).toString('base64url');
const randomText = (length: number, alphabet: string) =>
  Array.from({ length }, () => alphabet[int(alphabet.length)] ?? 'a').join('');
const PRINTABLE = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join('');
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

let goodKey = '';
let goodJwt = '';
let repository = '';
let authArgs: string[] = [];

/** One credential a caller might send: header lines as raw latin1 text. */
function credentialLines(): string[] {
  const mutate = (text: string) => {
    // The texts are ASCII: one character is one code unit.
    const chars = Array.from({ length: text.length }, (_, i) => text.charAt(i));
    for (let i = 0; i < 1 + int(3); i++) chars[int(chars.length)] = PRINTABLE.charAt(int(PRINTABLE.length));
    return chars.join('');
  };
  const jwtShaped = () =>
    [
      b64(
        pick([
          '{"alg":"none"}',
          '{"alg":"ES256","kid":"../../etc/passwd"}',
          '{"alg":"HS256","kid":"k1"}',
          '{"crit":["x"],"alg":"ES256","kid":"k1"}',
          randomText(int(40), PRINTABLE),
        ]),
      ),
      b64(
        pick([
          '{"sub":"x","roles":["admin"],"exp":99999999999}',
          '{"exp":1e400}',
          '[]',
          'null',
          randomText(int(60), PRINTABLE),
        ]),
      ),
      randomText(int(90), BASE64URL),
    ].join('.');
  const token = () =>
    pick([
      goodKey,
      mutate(goodKey),
      goodJwt,
      mutate(goodJwt),
      jwtShaped(),
      `berth_${randomText(12, '0123456789abcdef')}_${randomText(43, BASE64URL)}`,
      randomText(int(200), PRINTABLE).trim(),
      randomText(9000, BASE64URL),
      '',
    ]);
  const value = () =>
    pick([
      `Bearer ${token()}`,
      `bearer  ${token()}`,
      `Basic ${b64('u:p')}`,
      token(),
      'Bearer',
      `Bearer ${token()} extra`,
    ]);
  const lines: string[] = [];
  for (let i = 0; i < int(3); i++) lines.push(`Authorization: ${value()}`);
  for (let i = 0; i < int(2); i++) lines.push(`x-api-key: ${token()}`);
  if (int(10) === 0) lines.push(`Authorization: Bearer ${String.fromCharCode(0x80 + int(127))}${token()}`);
  return lines;
}

const ROUTES = [
  [
    'POST',
    '/v2/models/double/infer',
    JSON.stringify({ inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] }),
  ],
  ['GET', '/v2/models/double', ''],
  ['GET', '/metrics', ''],
  ['POST', '/v2/repository/index', '{}'],
  ['POST', '/v2/repository/models/double/unload', '{}'],
] as const;

/** A raw HTTP/1.1 exchange: the status and head of the answer, whatever bytes the request held. */
function rawRequest(
  url: string,
  head: string,
  body: string,
): Promise<{ status: number; head: string; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let data = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (data += chunk));
    socket.once('error', reject);
    socket.once('close', () => {
      const end = data.indexOf('\r\n\r\n');
      resolve({
        status: Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0),
        head: data.slice(0, end),
        body: data.slice(end + 4),
      });
    });
    // Written, not ended: like a real client, it waits for the answer (Connection: close ends it).
    socket.write(Buffer.concat([Buffer.from(head, 'latin1'), Buffer.from(body)]));
  });
}

async function fuzzRest(url: string): Promise<void> {
  const seen = new Map<number, number>();
  for (let round = 0; round < ROUNDS; round++) {
    const [method, path, body] = pick(ROUTES);
    const lines = credentialLines();
    const head = [
      `${method} ${path} HTTP/1.1`,
      'Host: localhost',
      'Connection: close',
      ...(body === ''
        ? []
        : ['Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`]),
      ...lines,
      '',
      '',
    ].join('\r\n');
    const answer = await rawRequest(url, head, body);
    const what = `seed ${SEED} round ${round}: ${method} ${path} with ${JSON.stringify(lines).slice(0, 400)}`;
    seen.set(answer.status, (seen.get(answer.status) ?? 0) + 1);
    expect([200, 400, 401, 403, 404, 431], `${what} got ${answer.status}`).toContain(answer.status);
    if (answer.status === 401) expect(answer.head.toLowerCase(), what).toContain('www-authenticate: bearer');
    if (answer.status >= 400) expect(() => JSON.parse(answer.body) as unknown, what).not.toThrow();
  }
  // The fuzzing reached every outcome that matters, not only one kind of refusal.
  expect([...seen.keys()]).toEqual(expect.arrayContaining([200, 401, 403]));
}

async function fuzzGrpc(address: string, tls = credentials.createInsecure()): Promise<void> {
  const spec = inferenceMethods().ModelMetadata as GrpcMethod;
  const client = new Client(address, tls);
  try {
    for (let round = 0; round < ROUNDS / 4; round++) {
      const metadata = new Metadata();
      for (const line of credentialLines()) {
        const colon = line.indexOf(':');
        const value = line.slice(colon + 1).trim();
        // Metadata values are printable ASCII on the wire, and node's HTTP/2 sends one authorization
        // at most: a client cannot send anything else.
        const key = line.slice(0, colon).toLowerCase();
        if (/^[\x20-\x7e]*$/.test(value) && metadata.get(key).length === 0) metadata.add(key, value);
      }
      const code = await new Promise<number>((resolve) => {
        client.makeUnaryRequest(
          spec.path,
          spec.requestSerialize,
          spec.responseDeserialize,
          { name: 'double' },
          metadata,
          (error: ServiceError | null) => resolve(error?.code ?? status.OK),
        );
      });
      expect(
        [status.OK, status.UNAUTHENTICATED, status.PERMISSION_DENIED],
        `seed ${SEED} grpc round ${round}: ${JSON.stringify(metadata.toJSON()).slice(0, 300)} (${JSON.stringify(metadata.toJSON()).length} bytes)`,
      ).toContain(code);
    }
  } finally {
    client.close();
  }
}

beforeAll(async () => {
  const dir = tempDir();
  repository = join(dir, 'models');
  writeModel(repository, 'double', doubleModel());
  const keyFile = join(dir, 'keys.json');
  const made = runCli(['keys', 'create', '--file', keyFile, '--role', 'infer', '--role', 'read', '--json']);
  goodKey = (JSON.parse(made.stdout) as { key: string }).key;
  const pair = await generateKeyPair('ES256');
  const jwks = join(dir, 'jwks.json');
  writeFileSync(
    jwks,
    JSON.stringify({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256' }] }),
  );
  goodJwt = await new SignJWT({ roles: ['read'] })
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
    .setSubject('fuzz')
    .setIssuer('https://idp.test/')
    .setAudience('berth')
    .setExpirationTime('10m')
    .sign(pair.privateKey);
  authArgs = [
    '--api-keys',
    keyFile,
    '--jwt-jwks',
    jwks,
    '--jwt-issuer',
    'https://idp.test/',
    '--jwt-audience',
    'berth',
  ];
});

async function stillServes(url: string): Promise<void> {
  const response = await fetch(`${url}/v2/models/double/infer`, {
    method: 'POST',
    headers: { authorization: `Bearer ${goodKey}` },
    body: JSON.stringify({
      inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }],
    }),
  });
  expect(response.status).toBe(200);
}

describe('fuzzed credentials', () => {
  it('berth serve answers every one with a defined refusal or success, on REST and gRPC', async () => {
    const server = await startServeLoaded([repository, ...authArgs]);
    try {
      await fuzzRest(server.url);
      await fuzzGrpc(server.grpcAddress ?? '');
      await stillServes(server.url);
      expect(JSON.stringify(server.logs)).not.toContain(goodKey);
    } finally {
      await server.stop();
    }
  });

  it('the berth up gateway does the same on both fronts', async () => {
    const up = await startUp([repository, ...authArgs]);
    await until(
      async () => (await fetch(`${up.gateway}/v2/health/ready`)).status === 200,
      'a ready replica',
      20_000,
    );
    await fuzzRest(up.gateway);
    await fuzzGrpc(up.grpc);
    await stillServes(up.gateway);
    expect(up.stderr()).not.toContain(goodKey);
  });
});
