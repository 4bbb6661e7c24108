/**
 * Rate limits and the concurrency cap end to end through the real CLI: a caller over its limit
 * gets 429 with Retry-After and the RateLimit fields (gRPC: RESOURCE_EXHAUSTED with retry-after),
 * an admitted one the RateLimit fields of what is left (gRPC: in the trailers),
 * another caller and the health endpoints are not affected, and a caller past --max-concurrent is
 * refused while its first request runs.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client, credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inferenceMethods, type GrpcMethod } from '../../src/protocol/index.js';
import { doubleModel, slowBatchModel, writeModel } from '../fixtures/models.js';
import { runCli, startServeLoaded, type ServeProcess } from '../helpers/cli.js';
import { grpcEnd, inferMessage } from '../helpers/grpc-call.js';
import { tempDirsForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirsForFile('berth-rate-');
const INFER = JSON.stringify({
  inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }],
});

let dir: string;
const keys: string[] = [];

async function infer(url: string, key: string, model = 'double') {
  const body =
    model === 'double'
      ? INFER
      : // The slow model: 32 rows through 2000 layers, seconds on this machine.
        JSON.stringify({
          inputs: [
            { name: 'INPUT0', datatype: 'FP32', shape: [32, 256], data: new Array(32 * 256).fill(0.5) },
          ],
        });
  const response = await fetch(`${url}/v2/models/${model}/infer`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}` },
    body,
  });
  return {
    status: response.status,
    code: response.headers.get('berth-error-code'),
    retryAfter: response.headers.get('retry-after'),
    rateLimit: response.headers.get('ratelimit'),
    policy: response.headers.get('ratelimit-policy'),
    body: await response.text(),
  };
}

beforeAll(() => {
  dir = tempDir();
  writeModel(join(dir, 'models'), 'double', doubleModel());
  writeModel(join(dir, 'models'), 'slow', slowBatchModel(2000));
  writeFileSync(join(dir, 'models', 'slow', 'config.yaml'), 'maxBatchSize: 64\ninstances: 1\n');
  for (let i = 0; i < 2; i++) {
    const made = runCli(['keys', 'create', '--role', 'infer', '--file', join(dir, 'keys.json')]);
    expect(made.status).toBe(0);
    keys.push(made.stdout.trim());
  }
});

describe('berth serve --rate-limit', () => {
  let server: ServeProcess;
  beforeAll(async () => {
    server = await startServeLoaded([
      join(dir, 'models'),
      '--api-keys',
      join(dir, 'keys.json'),
      '--rate-limit',
      '1/m',
      '--rate-burst',
      '3',
    ]);
  });
  afterAll(() => server.stop());

  it('lets a burst through, then answers 429 with Retry-After and the RateLimit fields', async () => {
    const [a = '', b = ''] = keys;
    // Each admitted answer tells what is left of the burst.
    for (let left = 2; left >= 0; left--) {
      expect(await infer(server.url, a)).toMatchObject({
        status: 200,
        policy: '"caller";q=3;w=180',
        rateLimit: expect.stringMatching(new RegExp(`^"caller";r=${left};t=\\d+$`)) as string,
      });
    }
    const refused = await infer(server.url, a);
    expect(refused).toMatchObject({
      status: 429,
      code: 'BERTH_ERR_RATE_LIMITED',
      policy: '"caller";q=3;w=180',
    });
    expect(Number(refused.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(refused.retryAfter)).toBeLessThanOrEqual(60);
    expect(refused.rateLimit).toMatch(/^"caller";r=0;t=\d+$/);
    expect(JSON.parse(refused.body).error).toMatch(/^key:[0-9a-f]{12} is over its rate limit/);
    // Another key has a bucket of its own; health is never limited.
    expect((await infer(server.url, b)).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await fetch(`${server.url}/v2/health/ready`)).status).toBe(200);
  });

  it('answers RESOURCE_EXHAUSTED over gRPC, with retry-after in the trailers', async () => {
    // An admitted call carries the RateLimit fields in its trailers (the second key has 1 left).
    const admitted = await grpcEnd(server.grpcAddress ?? '', 'ModelInfer', inferMessage(), {
      authorization: `Bearer ${keys[1] ?? ''}`,
    });
    expect(admitted.code).toBe(status.OK);
    expect(admitted.trailers['ratelimit-policy']).toBe('"caller";q=3;w=180');
    expect(admitted.trailers.ratelimit).toMatch(/^"caller";r=1;t=\d+$/);
    const method = inferenceMethods().ModelInfer as GrpcMethod;
    const client = new Client(server.grpcAddress ?? '', credentials.createInsecure());
    const metadata = new Metadata();
    metadata.set('authorization', `Bearer ${keys[0] ?? ''}`);
    const request = {
      model_name: 'double',
      inputs: [
        { name: 'INPUT0', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [1, 2, 3, 4] } },
      ],
    };
    const error = await new Promise<ServiceError | null>((resolve) =>
      client.makeUnaryRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        request,
        metadata,
        (e: ServiceError | null) => resolve(e),
      ),
    );
    client.close();
    expect(error?.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(Number(error?.metadata.get('retry-after')[0])).toBeGreaterThanOrEqual(1);
  });
});

describe('berth serve --max-concurrent', () => {
  let server: ServeProcess;
  beforeAll(async () => {
    server = await startServeLoaded([
      join(dir, 'models'),
      '--api-keys',
      join(dir, 'keys.json'),
      '--max-concurrent',
      '1',
    ]);
  });
  afterAll(() => server.stop());

  it('refuses a second request of one caller while its first runs, and not another caller', async () => {
    const [a = '', b = ''] = keys;
    const state = { finished: false };
    const first = infer(server.url, a, 'slow').finally(() => (state.finished = true));
    // Until the first is taken and running: a second request of the same caller is refused.
    let second = await infer(server.url, a);
    for (let i = 0; i < 40 && second.status === 200 && !state.finished; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      second = await infer(server.url, a);
    }
    expect(state.finished).toBe(false);
    expect(second).toMatchObject({ status: 429, code: 'BERTH_ERR_CONCURRENCY_LIMITED', retryAfter: '1' });
    expect((await infer(server.url, b)).status).toBe(200);
    expect((await first).status).toBe(200);
    expect((await infer(server.url, a)).status).toBe(200);
  });

  it('explains bad limits', () => {
    const bad = runCli(['serve', '--rate-limit', '100']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--rate-limit: expected a rate such as 100\/s, 600\/m or 1000\/h; got "100"/);
    expect(runCli(['serve', '--model-rate-limit', 'fraud']).stderr).toMatch(/expected MODEL=RATE/);
    expect(runCli(['serve', '--rate-burst', '5']).stderr).toMatch(/--rate-burst needs --rate-limit/);
  });
});
