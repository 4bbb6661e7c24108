/**
 * Server readiness (docs/adr/0004-readiness-after-ready.md) and how answered errors are logged,
 * on a real server with real onnxruntime sessions.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createClient } from '../client/index.js';
import { createLogger } from '../observability/index.js';
import { doubleModel } from '../../test/fixtures/models.js';
import { startTestServer, type TestServer } from '../../test/helpers/server.js';
import { until } from '../../test/helpers/until.js';

/** A logger whose JSON lines land in `lines`. */
function capturingLogger(lines: Record<string, unknown>[]) {
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const text of chunk.toString('utf8').split('\n'))
        if (text !== '') lines.push(JSON.parse(text) as Record<string, unknown>);
      done();
    },
  });
  return createLogger({ level: 'debug', format: 'json', destination });
}

const servers: TestServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

function brokenModel(repository: string, name: string): void {
  mkdirSync(join(repository, name, '1'), { recursive: true });
  writeFileSync(join(repository, name, '1', 'model.onnx'), 'this is not onnx');
}

describe('readiness once the server has been ready', () => {
  it('stays ready when a broken model appears in a polled repository; that model alone is not ready', async () => {
    const server = await startTestServer(
      { good: doubleModel() },
      { modelControl: { mode: 'poll', pollIntervalMs: 100 }, grpc: { port: 0, maxMessageBytes: 1 << 20 } },
    );
    servers.push(server);
    const rest = createClient({ url: server.url });
    const grpc = createClient({ url: `grpc://127.0.0.1:${server.grpcPort ?? 0}` });
    expect(await rest.ready()).toBe(true);
    brokenModel(server.repository, 'broken');
    await until(
      async () =>
        (await rest.repositoryIndex()).some(
          (e) => e.name === 'broken' && e.reason.includes('not an ONNX model'),
        ),
      'the broken model to fail its load',
    );
    expect(await rest.ready()).toBe(true);
    expect(await grpc.ready()).toBe(true);
    expect(await rest.modelReady('broken')).toBe(false);
    expect(await rest.modelReady('good')).toBe(true);
    grpc.close();
    // The drain still takes it out at once.
    const closing = server.close();
    expect(await rest.ready().catch(() => false)).toBe(false);
    await closing;
  });

  it('is not ready at start while a model given at start is broken (strict readiness)', async () => {
    const server = await startTestServer(
      { good: doubleModel() },
      { prepare: (repository) => brokenModel(repository, 'broken') },
    );
    servers.push(server);
    expect(await createClient({ url: server.url }).ready()).toBe(false);
  });
});

describe('logging of answered errors', () => {
  it('logs a request to a model that is not ready as a warning without a stack, and a bad file load too', async () => {
    const lines: Record<string, unknown>[] = [];
    const server = await startTestServer(
      { good: doubleModel() },
      { logger: capturingLogger(lines), prepare: (repository) => brokenModel(repository, 'broken') },
    );
    servers.push(server);
    const response = await fetch(`${server.url}/v2/models/broken/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"inputs":[]}',
    });
    expect(response.status).toBe(503);
    const isAnswer = (l: Record<string, unknown>) =>
      l.code === 'BERTH_ERR_MODEL_NOT_READY' && l.msg !== 'request completed';
    await until(() => Promise.resolve(lines.some(isAnswer)), 'the 503 log line');
    const answered = lines.find(isAnswer);
    // The request line of the seam says how the call ended, at debug.
    expect(lines.find((l) => l.msg === 'request completed')).toMatchObject({
      level: 20,
      operation: 'infer',
      transport: 'http',
      code: 'BERTH_ERR_MODEL_NOT_READY',
    });
    expect(answered).toMatchObject({ level: 40, status: 503 });
    expect(answered).not.toHaveProperty('err');
    const load = lines.find((l) => String(l.msg).startsWith('model version failed to load'));
    expect(load).toMatchObject({ level: 40, code: 'BERTH_ERR_RUNTIME_INVALID_MODEL', model: 'broken' });
    expect(load).not.toHaveProperty('err');
    // fastify's own "Server listening at" line is not written (berth's CLI logs its own).
    expect(lines.some((l) => String(l.msg).startsWith('Server listening'))).toBe(false);
    expect(lines.filter((l) => l.level === 50)).toEqual([]);
  });
});
