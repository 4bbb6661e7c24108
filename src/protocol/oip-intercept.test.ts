import { describe, expect, it } from 'vitest';
import { BerthError, type InferResponse } from '../ground/index.js';
import { compose, inferEach, intercept, type Call, type Interceptor } from './oip-intercept.js';
import type { CallContext, InferCall, OipService, StreamOutcome } from './oip-service.js';

const context: CallContext = { requestId: 'r1', transport: 'local' };

const responseOf = (call: InferCall): InferResponse => ({
  modelName: call.name,
  modelVersion: '1',
  outputs: [],
});

/** A service whose infer settles when the test says, and whose other operations answer at once. */
function fakeService(): { service: OipService; settle: Map<string, (fail?: boolean) => void> } {
  const settle = new Map<string, (fail?: boolean) => void>();
  const service: OipService = {
    serverLive: () => Promise.resolve({ live: true }),
    serverReady: () => Promise.resolve({ ready: true }),
    serverMetadata: () => Promise.resolve({ name: 'fake', version: '0', extensions: [] }),
    modelReady: (ref) => Promise.resolve({ name: ref.name, ready: true }),
    modelMetadata: () => Promise.reject(new Error('unused')),
    modelConfig: () => Promise.resolve({}),
    modelStatistics: () => Promise.resolve([]),
    repositoryIndex: () => Promise.resolve([]),
    repositoryLoad: () => Promise.resolve(),
    repositoryUnload: () => Promise.resolve(),
    infer: (call) =>
      new Promise((resolve, reject) =>
        settle.set(call.name, (fail) =>
          fail === true
            ? reject(new BerthError('BERTH_ERR_MODEL_NOT_FOUND', `no model "${call.name}"`))
            : resolve(responseOf(call)),
        ),
      ),
    inferStream: (calls, c) => inferEach((call, cc) => service.infer(call, cc), calls, c),
  };
  return { service, settle };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

/** The calls as a stream that yields to the event loop between them, as a socket does. */
async function* streamOf(calls: readonly InferCall[], failAtEnd?: Error): AsyncGenerator<InferCall> {
  for (const call of calls) {
    await Promise.resolve();
    yield call;
  }
  if (failAtEnd !== undefined) throw failAtEnd;
}

describe('compose', () => {
  it('runs interceptors outermost first, around the terminal', async () => {
    const order: string[] = [];
    const tag =
      (name: string): Interceptor =>
      (next) =>
      async (call) => {
        order.push(`${name}>`);
        const result = await next(call);
        order.push(`<${name}`);
        return result;
      };
    const chain = compose([tag('a'), tag('b')], (call) => {
      order.push(call.operation);
      return Promise.resolve('done');
    });
    await expect(chain({ operation: 'serverLive', input: {}, context })).resolves.toBe('done');
    expect(order).toEqual(['a>', 'b>', 'serverLive', '<b', '<a']);
  });
});

describe('intercept', () => {
  it('is the service itself when there is nothing to add', () => {
    const { service } = fakeService();
    expect(intercept(service, [])).toBe(service);
  });

  it('passes every operation through the chain with its input and context', async () => {
    const { service } = fakeService();
    const calls: Call[] = [];
    const served = intercept(service, [
      (next) => (call) => {
        calls.push(call);
        return next(call);
      },
    ]);
    await served.serverReady({}, context);
    expect(await served.modelReady({ name: 'iris' }, context)).toEqual({ name: 'iris', ready: true });
    await served.repositoryLoad({ name: 'iris', parameters: {} }, context);
    expect(calls.map((c) => c.operation)).toEqual(['serverReady', 'modelReady', 'repositoryLoad']);
    expect(calls[1]).toMatchObject({ input: { name: 'iris' }, context });
  });

  it('lets an interceptor refuse a call before the service sees it', async () => {
    const { service } = fakeService();
    const served = intercept(service, [
      () => () => Promise.reject(new BerthError('BERTH_ERR_SERVER_SHUTTING_DOWN', 'refused')),
    ]);
    await expect(served.serverMetadata({}, context)).rejects.toMatchObject({
      code: 'BERTH_ERR_SERVER_SHUTTING_DOWN',
    });
  });

  it('passes each request of a stream through the chain as an infer call', async () => {
    const { service, settle } = fakeService();
    const seen: string[] = [];
    const served = intercept(service, [
      (next) => (call) => {
        if (call.operation === 'infer') seen.push(call.input.name);
        return next(call);
      },
    ]);
    const calls = streamOf([
      { name: 'a', request: { inputs: [] } },
      { name: 'b', request: { inputs: [] } },
    ]);
    const outcomes = collect(served.inferStream(calls, context));
    await tick();
    settle.get('b')?.();
    settle.get('a')?.();
    expect((await outcomes).map((o) => o.response?.modelName)).toEqual(['b', 'a']);
    expect(seen).toEqual(['a', 'b']);
  });
});

async function collect(stream: AsyncIterable<StreamOutcome>): Promise<StreamOutcome[]> {
  const out: StreamOutcome[] = [];
  for await (const outcome of stream) out.push(outcome);
  return out;
}

describe('inferEach', () => {
  it('answers in completion order, a failed request as an outcome with its call', async () => {
    const { service, settle } = fakeService();
    const sent: InferCall[] = [
      { name: 'slow', request: { inputs: [] } },
      { name: 'bad', request: { inputs: [] } },
      { name: 'fast', request: { inputs: [] } },
    ];
    const outcomes = collect(inferEach((c, cc) => service.infer(c, cc), streamOf(sent), context));
    await tick();
    settle.get('fast')?.();
    await tick();
    settle.get('bad')?.(true);
    await tick();
    settle.get('slow')?.();
    const result = await outcomes;
    expect(result.map((o) => o.response?.modelName ?? `error:${o.error?.code ?? ''}`)).toEqual([
      'fast',
      'error:BERTH_ERR_MODEL_NOT_FOUND',
      'slow',
    ]);
    expect(result[1]?.error === undefined ? undefined : result[1].call).toBe(sent[1]);
  });

  it('ends after the last answer when the requests end, and at once for an empty stream', async () => {
    const { service } = fakeService();
    expect(await collect(inferEach((c, cc) => service.infer(c, cc), streamOf([]), context))).toEqual([]);
  });

  it('fails once every answer is given when the requests cannot be read', async () => {
    const { service, settle } = fakeService();
    const broken = streamOf([{ name: 'a', request: { inputs: [] } }], new Error('stream reset'));
    const out: StreamOutcome[] = [];
    const reading = (async () => {
      for await (const outcome of inferEach((c, cc) => service.infer(c, cc), broken, context))
        out.push(outcome);
    })();
    await tick();
    settle.get('a')?.();
    await expect(reading).rejects.toMatchObject({ code: 'BERTH_ERR_INTERNAL' });
    expect(out.map((o) => o.response?.modelName)).toEqual(['a']);
  });
});
