/**
 * The gateway's gRPC front: its pure rules (how a status is taken, which calls may be resent,
 * what metadata crosses, the deadline), then the front itself over in-process grpc-js servers
 * standing in for replicas, so that each failure can be made on purpose: a draining answer, a
 * refused connection, a connection cut under a call, a replica that never answers.
 */
import { createServer as createHttp2Server, type Http2Server } from 'node:http2';
import type { AddressInfo } from 'node:net';
import {
  Client,
  credentials,
  Metadata,
  Server,
  ServerCredentials,
  status,
  type sendUnaryData,
  type ServerDuplexStream,
  type ServerUnaryCall,
  type ServiceError,
  type StatusObject,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import {
  encodeGrpcInferRequest,
  encodeGrpcInferResponse,
  healthMethods,
  inferenceMethods,
  type GrpcMethod,
} from '../protocol/index.js';
import { freePort } from '../../test/helpers/free-port.js';
import { startGatewayGrpc, type GatewayGrpcOptions, type RunningGatewayGrpc } from './gateway-grpc.js';
import { createGatewayMetrics } from './gateway-metrics.js';
import { GrpcChannels } from './grpc-channels.js';
import {
  classifyStatus,
  forwardedMetadata,
  isIdempotent,
  isUpstreamFault,
  remainingMs,
} from './grpc-forward.js';
import { httpStatusOfGrpc } from './grpc-status.js';
import { Tracks } from './tracks.js';
import { UpstreamPool } from './upstream-pool.js';

const METHODS = inferenceMethods();
const identity = (bytes: Buffer): Buffer => bytes;
const SHUTTING_DOWN = 'BERTH_ERR_SERVER_SHUTTING_DOWN';

describe('how a replica status is taken', () => {
  it('tells answers, drains, refused and lost connections and deadlines apart', () => {
    const cases: [number, string, string | undefined, string][] = [
      [status.OK, 'OK', undefined, 'answer'],
      [status.NOT_FOUND, 'unknown model "x"', 'BERTH_ERR_MODEL_NOT_FOUND', 'answer'],
      [status.UNAVAILABLE, 'model not ready', 'BERTH_ERR_MODEL_NOT_READY', 'answer'],
      [status.UNAVAILABLE, 'draining', SHUTTING_DOWN, 'draining'],
      [
        status.UNAVAILABLE,
        'No connection established. Last error: connect ECONNREFUSED',
        undefined,
        'refused',
      ],
      [status.UNAVAILABLE, 'Stream refused by server', undefined, 'refused'],
      [status.UNAVAILABLE, 'Connection dropped', undefined, 'lost'],
      [status.UNAVAILABLE, 'read ECONNRESET', undefined, 'lost'],
      // Not one of berth's codes: not trusted as the replica's answer.
      [status.UNAVAILABLE, 'draining', 'SOMEONE_ELSES_CODE', 'lost'],
      [status.DEADLINE_EXCEEDED, 'Deadline exceeded', undefined, 'timeout'],
      [status.DEADLINE_EXCEEDED, 'queued too long', 'BERTH_ERR_SCHEDULER_TIMEOUT', 'answer'],
      [status.INTERNAL, 'Received RST_STREAM with code 2', undefined, 'answer'],
      [status.RESOURCE_EXHAUSTED, 'Received message larger than max', undefined, 'answer'],
      // Cut by a replica that stopped (its forced shutdown resets the streams it holds).
      [status.CANCELLED, 'Call cancelled', undefined, 'lost'],
    ];
    for (const [code, details, errorCode, kind] of cases) {
      expect({ details, kind: classifyStatus({ code, details, errorCode }) }).toEqual({ details, kind });
    }
    // Cancelled by the gateway itself (its caller left): the replica did nothing wrong.
    expect(
      classifyStatus({
        code: status.CANCELLED,
        details: 'Cancelled on client',
        errorCode: undefined,
        cancelledHere: true,
      }),
    ).toBe('answer');
  });

  it("counts only the replica's faults against it", () => {
    const faults: number[] = [status.UNAVAILABLE, status.INTERNAL, status.UNKNOWN, status.DEADLINE_EXCEEDED];
    for (let code = 0; code <= 16; code++) expect(isUpstreamFault(code)).toBe(faults.includes(code));
  });

  it('resends after a lost connection only the calls without side effects, every RPC decided', () => {
    const expected: Record<string, boolean> = {
      ServerLive: true,
      ServerReady: true,
      ModelReady: true,
      ServerMetadata: true,
      ModelMetadata: true,
      ModelInfer: true,
      ModelStreamInfer: false,
      ModelConfig: true,
      ModelStatistics: true,
      RepositoryIndex: true,
      RepositoryModelLoad: false,
      RepositoryModelUnload: false,
    };
    // A new RPC in the schema fails here until someone decides whether it may be resent.
    expect(Object.keys(METHODS).sort()).toEqual(Object.keys(expected).sort());
    for (const name of Object.keys(METHODS))
      expect([name, isIdempotent(name)]).toEqual([name, expected[name]]);
  });
});

describe('metadata and deadlines', () => {
  it('passes the call metadata on, every value, without what belongs to one hop', () => {
    const given = new Metadata();
    given.add('x-api-key', 'k');
    given.add('x-tag', 'a');
    given.add('x-tag', 'b');
    given.set('trace-bin', Buffer.from([1, 2]));
    given.set('traceparent', '00-abc-def-01');
    for (const hop of ['user-agent', 'te', 'content-type', 'grpc-timeout', 'grpc-encoding', 'grpc-status']) {
      given.set(hop, 'x');
    }
    const out = forwardedMetadata(given);
    expect(out.get('x-tag')).toEqual(['a', 'b']);
    expect(out.get('trace-bin')).toEqual([Buffer.from([1, 2])]);
    expect(Object.keys(out.getMap()).sort()).toEqual(['trace-bin', 'traceparent', 'x-api-key', 'x-tag']);
    expect(given.get('user-agent')).toEqual(['x']); // the caller's is not changed
  });

  it("takes the caller's deadline, capped by the gateway's timeout", () => {
    expect(remainingMs(Infinity, 1000, 30_000)).toBe(30_000);
    expect(remainingMs(1500, 1000, 30_000)).toBe(500);
    expect(remainingMs(new Date(61_000), 1000, 30_000)).toBe(30_000);
    expect(remainingMs(900, 1000, 30_000)).toBe(0);
    expect(remainingMs(Infinity, 1000, Infinity)).toBe(Infinity);
  });
});

// ---- the front over in-process replicas -------------------------------------------------------

interface Seen {
  readonly method: string;
  readonly metadata: Metadata;
  /** ms left when the call arrived */
  readonly leftMs: number;
}

interface Fake {
  readonly address: string;
  readonly seen: Seen[];
  /** Streams cancelled (for held streams: ended by the peer, since the replica never ends them). */
  readonly cancelled: () => number;
  close(): void;
}

type UnaryHandler = (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => void;

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A stand-in replica answering every RPC: unary ones `<id>:<method>:<request>`, streams each message so. */
async function fake(id: string, unary?: UnaryHandler, holdStreams = false): Promise<Fake> {
  const seen: Seen[] = [];
  let cancelled = 0;
  const server = new Server();
  const definition: Record<string, GrpcMethod> = {};
  const handlers: UntypedServiceImplementation = {};
  for (const [name, method] of Object.entries(METHODS)) {
    definition[name] = {
      ...method,
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
    } as GrpcMethod;
    const note = (call: ServerUnaryCall<Buffer, Buffer> | ServerDuplexStream<Buffer, Buffer>) => {
      const deadline = call.getDeadline();
      const at = deadline instanceof Date ? deadline.getTime() : deadline;
      seen.push({ method: name, metadata: call.metadata, leftMs: at - Date.now() });
    };
    handlers[name] = method.requestStream
      ? (call: ServerDuplexStream<Buffer, Buffer>) => {
          note(call);
          call.on('data', (message: Buffer) => call.write(Buffer.concat([Buffer.from(`${id}:`), message])));
          // Held streams never end from here: a 'cancelled' one was ended by the peer.
          call.on('cancelled', () => cancelled++);
          if (!holdStreams) call.on('end', () => call.end());
        }
      : (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
          note(call);
          if (unary !== undefined) {
            unary(call, callback);
            return;
          }
          const headers = new Metadata();
          headers.set('x-answer', id);
          call.sendMetadata(headers);
          const trailers = new Metadata();
          trailers.set('x-trailer', id);
          callback(null, Buffer.concat([Buffer.from(`${id}:${name}:`), call.request]), trailers);
        };
  }
  server.addService(definition, handlers);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) =>
      error === null ? resolve(bound) : reject(error),
    );
  });
  const close = () => server.forceShutdown();
  cleanups.push(close);
  return { address: `127.0.0.1:${port}`, seen, cancelled: () => cancelled, close };
}

/** A replica that takes each call's stream, then cuts its connection before any answer. */
async function cutting(): Promise<{ address: string; streams: () => number }> {
  let streams = 0;
  const server: Http2Server = createHttp2Server();
  server.on('stream', (stream) => {
    streams++;
    // As a replica killed mid-call: the connection closes, no answer, no GOAWAY. (Node 22 forbids
    // touching an HTTP/2 session's socket directly; destroying the session closes it.)
    stream.session?.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return { address: `127.0.0.1:${(server.address() as AddressInfo).port}`, streams: () => streams };
}

function poolOf(...replicas: (readonly [string, string])[]): UpstreamPool {
  // random() = 0 draws the first two: with equal load, the first added takes the call.
  const pool = new UpstreamPool({ random: () => 0 });
  // No REST endpoint behind these: a replica taken out stays out.
  for (const [id, address] of replicas) pool.add(id, 'http://127.0.0.1:9', address);
  cleanups.push(() => {
    for (const [id] of replicas) pool.remove(id);
  });
  return pool;
}

async function gatewayOver(
  pool: UpstreamPool,
  options: Partial<GatewayGrpcOptions> = {},
): Promise<RunningGatewayGrpc> {
  const gateway = await startGatewayGrpc({
    pool,
    host: '127.0.0.1',
    port: 0,
    timeoutMs: 10_000,
    retries: 2,
    retryBudget: { share: 0.2, minConcurrent: 3 },
    maxMessageBytes: 1 << 20,
    ...options,
  });
  cleanups.push(() => gateway.close());
  return gateway;
}

interface Answer {
  readonly error: ServiceError | null;
  readonly message: Buffer | undefined;
  readonly headers: Metadata | undefined;
  readonly status: StatusObject;
}

function callUnary(
  address: string,
  method: string,
  message: Buffer,
  options: { metadata?: Metadata; deadlineMs?: number } = {},
): Promise<Answer> {
  const client = new Client(address, credentials.createInsecure());
  return new Promise((resolve) => {
    let error: ServiceError | null = null;
    let answer: Buffer | undefined;
    let headers: Metadata | undefined;
    const call = client.makeUnaryRequest(
      (METHODS[method] as GrpcMethod).path,
      identity,
      identity,
      message,
      options.metadata ?? new Metadata(),
      options.deadlineMs === undefined ? {} : { deadline: Date.now() + options.deadlineMs },
      (e, value) => {
        error = e;
        answer = value;
      },
    );
    call.on('metadata', (m: Metadata) => (headers = m));
    call.on('status', (s: StatusObject) => {
      client.close();
      resolve({ error, message: answer, headers, status: s });
    });
  });
}

const codeOf = (answer: Answer) => answer.status.metadata.get('berth-error-code')[0];

describe('the gRPC gateway', () => {
  it('forwards every RPC of inference.GRPCInferenceService, unary and streaming, bytes unchanged', async () => {
    const replica = await fake('r1');
    const gateway = await gatewayOver(poolOf(['r1', replica.address]));
    for (const [name, method] of Object.entries(METHODS)) {
      const bytes = Buffer.from([0, 255, 7, name.length]);
      if (!method.requestStream) {
        const answer = await callUnary(gateway.address, name, bytes);
        expect([name, answer.status.code]).toEqual([name, status.OK]);
        expect(answer.message).toEqual(Buffer.concat([Buffer.from(`r1:${name}:`), bytes]));
        continue;
      }
      const client = new Client(gateway.address, credentials.createInsecure());
      const stream = client.makeBidiStreamRequest(method.path, identity, identity);
      const replies: Buffer[] = [];
      const ended = new Promise<void>((resolve, reject) => {
        stream.on('data', (reply: Buffer) => replies.push(reply));
        stream.on('end', resolve);
        stream.on('error', reject);
      });
      stream.write(bytes);
      stream.write(Buffer.from('two'));
      stream.end();
      await ended;
      client.close();
      expect(replies).toEqual([Buffer.concat([Buffer.from('r1:'), bytes]), Buffer.from('r1:two')]);
    }
    expect(replica.seen.map((s) => s.method)).toEqual(Object.keys(METHODS));
  });

  it("passes metadata both ways, and the replica's status, details and trailers", async () => {
    const replica = await fake('r1', (call, callback) => {
      const trailers = new Metadata();
      trailers.set('berth-error-code', 'BERTH_ERR_MODEL_NOT_FOUND');
      trailers.set('x-detail', 'why');
      callback({ code: status.NOT_FOUND, details: 'unknown model "nope"', metadata: trailers });
    });
    const errors: string[] = [];
    const gateway = await gatewayOver(poolOf(['r1', replica.address]), {
      onError: (e) => errors.push(e.code),
    });
    const metadata = new Metadata();
    metadata.set('x-api-key', 'secret');
    metadata.set('x-request-id', 'trace-1');
    const answer = await callUnary(gateway.address, 'ModelInfer', Buffer.from('x'), { metadata });
    expect(answer.status.code).toBe(status.NOT_FOUND);
    expect(answer.status.details).toBe('unknown model "nope"');
    expect(codeOf(answer)).toBe('BERTH_ERR_MODEL_NOT_FOUND');
    expect(answer.status.metadata.get('x-detail')).toEqual(['why']);
    const seen = replica.seen[0]?.metadata;
    expect(seen?.get('x-api-key')).toEqual(['secret']);
    expect(seen?.get('x-request-id')).toEqual(['trace-1']);
    expect(errors).toEqual([]); // the replica's answer, not a refusal of the gateway's

    const ok = await fake('r2');
    const other = await gatewayOver(poolOf(['r2', ok.address]));
    const good = await callUnary(other.address, 'ModelMetadata', Buffer.from('m'));
    expect(good.headers?.get('x-answer')).toEqual(['r2']);
    expect(good.status.metadata.get('x-trailer')).toEqual(['r2']);
    expect(ok.seen[0]?.metadata.get('x-request-id')[0]).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('moves a call off a draining replica and off one that refuses connections, a load too', async () => {
    const draining = await fake('d', (_call, callback) => {
      const trailers = new Metadata();
      trailers.set('berth-error-code', SHUTTING_DOWN);
      callback({ code: status.UNAVAILABLE, details: 'draining', metadata: trailers });
    });
    const good = await fake('g');
    const pool = poolOf(
      ['d', draining.address],
      ['gone', `127.0.0.1:${await freePort()}`],
      ['g', good.address],
    );
    const gateway = await gatewayOver(pool);
    const answer = await callUnary(gateway.address, 'RepositoryModelLoad', Buffer.from('m'));
    expect(answer.message?.toString()).toBe('g:RepositoryModelLoad:m');
    expect(draining.seen).toHaveLength(1);
    // Both are out of the balancer now, until a health check passes.
    expect(pool.view().map((u) => [u.id, u.healthy])).toEqual([
      ['d', false],
      ['gone', false],
      ['g', true],
    ]);
  });

  it('sends an inference again after a lost connection, never a repository load', async () => {
    const cut = await cutting();
    const good = await fake('g');
    const infer = await callUnary(
      (await gatewayOver(poolOf(['cut', cut.address], ['g', good.address]))).address,
      'ModelInfer',
      Buffer.from('i'),
    );
    expect(infer.message?.toString()).toBe('g:ModelInfer:i');
    expect(cut.streams()).toBe(1);

    const errors: string[] = [];
    const gateway = await gatewayOver(poolOf(['cut', cut.address], ['g', good.address]), {
      onError: (e) => errors.push(e.code),
    });
    const load = await callUnary(gateway.address, 'RepositoryModelLoad', Buffer.from('m'));
    expect(load.status.code).toBe(status.UNAVAILABLE);
    expect(codeOf(load)).toBe('BERTH_ERR_GATEWAY_UPSTREAM_FAILED');
    expect(cut.streams()).toBe(2);
    expect(good.seen.map((s) => s.method)).toEqual(['ModelInfer']);
    expect(errors).toEqual(['BERTH_ERR_GATEWAY_UPSTREAM_FAILED']);
  });

  it('holds a call in the buffer until a replica comes; past it UNAVAILABLE, and health follows', async () => {
    const pool = poolOf();
    const gateway = await gatewayOver(pool, { buffer: { maxRequests: 4, maxWaitMs: 100 } });
    const none = await callUnary(gateway.address, 'ModelInfer', Buffer.from('x'));
    expect(none.status.code).toBe(status.UNAVAILABLE);
    expect(codeOf(none)).toBe('BERTH_ERR_GATEWAY_NO_UPSTREAM');
    expect(await check(gateway.address, '')).toBe(2); // NOT_SERVING

    const replica = await fake('late');
    const waiting = callUnary(gateway.address, 'ModelInfer', Buffer.from('x'));
    await until(() => pool.waiting === 1);
    pool.add('late', 'http://127.0.0.1:9', replica.address);
    cleanups.push(() => pool.remove('late'));
    expect((await waiting).message?.toString()).toBe('late:ModelInfer:x');
    expect(await check(gateway.address, 'inference.GRPCInferenceService')).toBe(1); // SERVING
    await expect(check(gateway.address, 'no.such.Service')).rejects.toMatchObject({ code: status.NOT_FOUND });
  });

  it('propagates the deadline, capped, and answers DEADLINE_EXCEEDED with the gateway code past it', async () => {
    const silent = await fake('s', () => undefined);
    const gateway = await gatewayOver(poolOf(['s', silent.address]), { timeoutMs: 150 });
    const capped = await callUnary(gateway.address, 'ModelInfer', Buffer.from('x'), { deadlineMs: 60_000 });
    expect(capped.status.code).toBe(status.DEADLINE_EXCEEDED);
    expect(codeOf(capped)).toBe('BERTH_ERR_GATEWAY_TIMEOUT');
    expect(silent.seen[0]?.leftMs).toBeLessThanOrEqual(150);

    const mine = await callUnary(gateway.address, 'ModelInfer', Buffer.from('x'), { deadlineMs: 80 });
    expect(mine.status.code).toBe(status.DEADLINE_EXCEEDED);
    expect(silent.seen[1]?.leftMs).toBeLessThanOrEqual(80);
  });

  it('tries a call without side effects elsewhere past the per-try timeout, on the retry budget', async () => {
    const silent = await fake('s', () => undefined);
    const good = await fake('g');
    const gateway = await gatewayOver(poolOf(['s', silent.address], ['g', good.address]), {
      perTryTimeoutMs: 100,
    });
    const infer = await callUnary(gateway.address, 'ModelInfer', Buffer.from('i'));
    expect(infer.message?.toString()).toBe('g:ModelInfer:i');
    const load = await callUnary(gateway.address, 'RepositoryModelLoad', Buffer.from('m'));
    expect(load.status.code).toBe(status.DEADLINE_EXCEEDED);
    expect(codeOf(load)).toBe('BERTH_ERR_GATEWAY_TIMEOUT');
    expect(load.status.details).toMatch(/per-try timeout of 100 ms/);
    expect(silent.seen.map((s) => s.method)).toEqual(['ModelInfer', 'RepositoryModelLoad']);
    expect(good.seen.map((s) => s.method)).toEqual(['ModelInfer']);

    // No budget left (none in flight may retry): the first replica's failure is the answer.
    const strict = await gatewayOver(poolOf(['s', silent.address], ['g', good.address]), {
      perTryTimeoutMs: 100,
      retryBudget: { share: 0, minConcurrent: 0 },
    });
    const refused = await callUnary(strict.address, 'ModelInfer', Buffer.from('i'));
    expect(codeOf(refused)).toBe('BERTH_ERR_GATEWAY_TIMEOUT');
    expect(good.seen).toHaveLength(1);
  });

  it('limits messages to maxMessageBytes both ways', async () => {
    const large = await fake('l', (_call, callback) => callback(null, Buffer.alloc(4096)));
    const gateway = await gatewayOver(poolOf(['l', large.address]), { maxMessageBytes: 2048 });
    const request = await callUnary(gateway.address, 'ModelInfer', Buffer.alloc(4096));
    expect(request.status.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(large.seen).toHaveLength(0);
    const answer = await callUnary(gateway.address, 'ModelInfer', Buffer.alloc(16));
    expect(answer.status.code).toBe(status.RESOURCE_EXHAUSTED);
  });

  it("ties a stream to its replica: a caller's cancel reaches it, and its end reaches the caller", async () => {
    const path = (METHODS.ModelStreamInfer as GrpcMethod).path;
    const replica = await fake('r1', undefined, true);
    const pool = poolOf(['r1', replica.address]);
    const gateway = await gatewayOver(pool);
    const client = new Client(gateway.address, credentials.createInsecure());
    cleanups.push(() => client.close());

    const stream = client.makeBidiStreamRequest(path, identity, identity);
    stream.on('error', () => undefined);
    const first = new Promise<Buffer>((resolve) => stream.once('data', resolve));
    stream.write(Buffer.from('a'));
    expect((await first).toString()).toBe('r1:a');
    expect(pool.view()[0]?.outstanding).toBe(1);
    stream.cancel();
    await until(() => replica.cancelled() === 1);
    await until(() => pool.view()[0]?.outstanding === 0);

    // The replica's end of a stream: its server cuts it (a forced shutdown), or its connection is
    // cut. Either way the caller did not cancel: UNAVAILABLE, which a caller may retry.
    const openStream = async (address: string): Promise<StatusObject> => {
      const gateway = await gatewayOver(poolOf(['r', address]));
      const c = new Client(gateway.address, credentials.createInsecure());
      cleanups.push(() => c.close());
      const s = c.makeBidiStreamRequest(path, identity, identity);
      s.on('error', () => undefined);
      s.on('data', () => undefined);
      const ended = new Promise<StatusObject>((resolve) => s.on('status', resolve));
      s.write(Buffer.from('b'));
      return ended;
    };
    const doomed = await fake('r2', undefined, true);
    const cancelled = openStream(doomed.address);
    await until(() => doomed.seen.length === 1);
    doomed.close();
    const shut = await cancelled;
    expect(shut.code).toBe(status.UNAVAILABLE);
    expect(shut.metadata.get('berth-error-code')).toEqual(['BERTH_ERR_GATEWAY_UPSTREAM_FAILED']);
    const cut = await cutting();
    const lost = await openStream(cut.address);
    expect(lost.code).toBe(status.UNAVAILABLE);
    expect(lost.metadata.get('berth-error-code')).toEqual(['BERTH_ERR_GATEWAY_UPSTREAM_FAILED']);
  });
});

/** A ModelInfer answer with one FP32 output `y` holding `values`, as a replica encodes it. */
function inferAnswer(values: number[]): UnaryHandler {
  const bytes = (METHODS.ModelInfer as GrpcMethod).responseSerialize(
    encodeGrpcInferResponse({
      modelName: 'm',
      modelVersion: '1',
      outputs: [{ name: 'y', datatype: 'FP32', shape: [1, values.length], data: Float32Array.from(values) }],
    }),
  );
  return (_call, callback) => callback(null, bytes);
}

const failing: UnaryHandler = (_call, callback) => {
  const trailers = new Metadata();
  trailers.set('berth-error-code', 'BERTH_ERR_MODEL_EXECUTION_FAILED');
  callback({ code: status.INTERNAL, details: 'model execution failed', metadata: trailers });
};

function pinned(track: string): Metadata {
  const metadata = new Metadata();
  metadata.set('x-berth-track', track);
  return metadata;
}

describe('the gRPC traffic split during a rollout', () => {
  it('gives the candidate its share of ModelInfer calls, pins by metadata, and sends other RPCs to stable', async () => {
    const stable = await fake('s1');
    const candidate = await fake('c1');
    const tracks = new Tracks(poolOf(['s1', stable.address]));
    const gateway = await gatewayOver(tracks.stable, { tracks, random: () => 0.5 });
    const infer = (metadata?: Metadata) =>
      callUnary(gateway.address, 'ModelInfer', Buffer.from('x'), metadata === undefined ? {} : { metadata });
    const from = (answer: Answer) => answer.message?.toString().split(':')[0];

    expect(from(await infer())).toBe('s1'); // no rollout: stable
    tracks.candidate = poolOf(['c1', candidate.address]);
    tracks.weight = 60; // random() * 100 = 50 < 60: canary
    expect(from(await infer())).toBe('c1');
    expect(from(await infer(pinned('stable')))).toBe('s1');
    tracks.weight = 40;
    expect(from(await infer())).toBe('s1');
    expect(from(await infer(pinned('canary')))).toBe('c1');
    tracks.weight = 100;
    const metadata = await callUnary(gateway.address, 'ModelMetadata', Buffer.from('x'));
    expect(from(metadata)).toBe('s1');
    const windows = tracks.takeWindows();
    expect([windows.candidate.requests, windows.candidate.errors]).toEqual([2, 0]);
    expect([windows.stable.requests, windows.stable.errors]).toEqual([2, 0]);
  });

  it('answers a canaried call that fails from stable, and counts the failure against the candidate', async () => {
    const stable = await fake('s1');
    const candidate = await fake('c1', failing);
    const tracks = new Tracks(poolOf(['s1', stable.address]));
    tracks.candidate = poolOf(['c1', candidate.address]);
    tracks.weight = 100;
    const gateway = await gatewayOver(tracks.stable, { tracks });
    for (let i = 0; i < 3; i++) {
      const answer = await callUnary(gateway.address, 'ModelInfer', Buffer.from('x'));
      expect(answer.status.code).toBe(status.OK);
      expect(answer.message?.toString()).toBe('s1:ModelInfer:x');
    }
    const windows = tracks.takeWindows();
    expect([windows.candidate.requests, windows.candidate.errors]).toEqual([3, 3]);
    expect(windows.stable.requests).toBe(3);
    // The caller's own error from a candidate is its answer: not a fault, not answered again.
    const refusing = await fake('c2', (_call, callback) => {
      const trailers = new Metadata();
      trailers.set('berth-error-code', 'BERTH_ERR_PROTOCOL_INVALID_REQUEST');
      callback({ code: status.INVALID_ARGUMENT, details: 'bad input', metadata: trailers });
    });
    tracks.candidate = poolOf(['c2', refusing.address]);
    const refused = await callUnary(gateway.address, 'ModelInfer', Buffer.from('x'));
    expect(refused.status.code).toBe(status.INVALID_ARGUMENT);
    expect(tracks.takeWindows().candidate).toMatchObject({ requests: 1, errors: 0 });
  });

  it("copies calls to a shadow candidate and compares the decoded answers, callers getting stable's", async () => {
    const stable = await fake('s1', inferAnswer([1, 5, 2]));
    const candidate = await fake('c1', inferAnswer([9, 0, 0]));
    const tracks = new Tracks(poolOf(['s1', stable.address]));
    tracks.candidate = poolOf(['c1', candidate.address]);
    tracks.mirror = 100;
    tracks.compare = { mode: 'argmax', absolute: 1e-5, relative: 1e-3 };
    const gateway = await gatewayOver(tracks.stable, { tracks });
    const expected = await callUnary(stable.address, 'ModelInfer', Buffer.from('x'));
    for (let i = 0; i < 4; i++) {
      const answer = await callUnary(gateway.address, 'ModelInfer', Buffer.from('x'));
      expect(answer.message).toEqual(expected.message);
    }
    // The copies are answered off the callers' path: sum the windows until all four are compared.
    let compared = 0;
    let agreed = 0;
    let copies = 0;
    await until(() => {
      const windows = tracks.takeWindows();
      compared += windows.agreement.compared;
      agreed += windows.agreement.agreed;
      copies += windows.candidate.requests;
      return compared >= 4;
    });
    expect({ compared, agreed, copies }).toEqual({ compared: 4, agreed: 0, copies: 4 });
    expect(candidate.seen.map((s) => s.method)).toEqual([
      'ModelInfer',
      'ModelInfer',
      'ModelInfer',
      'ModelInfer',
    ]);
    expect(tracks.lastDisagreement).toMatch(/^output "y": row 0 chooses index 0, th/);
  });
});

describe("the gRPC front's request metrics", () => {
  it('counts each call by the model it names, its track and its status as HTTP would say it', async () => {
    const stable = await fake('s1', (call, callback) => {
      if (call.metadata.get('x-fail').length > 0) {
        const trailers = new Metadata();
        trailers.set('berth-error-code', 'BERTH_ERR_MODEL_NOT_FOUND');
        callback({ code: status.NOT_FOUND, details: 'unknown model', metadata: trailers });
      } else callback(null, Buffer.from('ok'));
    });
    const candidate = await fake('c1');
    const tracks = new Tracks(poolOf(['s1', stable.address]));
    const metrics = createGatewayMetrics();
    const gateway = await gatewayOver(tracks.stable, { tracks, metrics });
    const infer = (METHODS.ModelInfer as GrpcMethod).requestSerialize(
      encodeGrpcInferRequest('iris', '', {
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 1], data: new Float32Array([1]) }],
      }),
    );
    await callUnary(gateway.address, 'ModelInfer', infer);
    const failing = new Metadata();
    failing.set('x-fail', '1');
    await callUnary(gateway.address, 'ModelInfer', infer, { metadata: failing });
    await callUnary(gateway.address, 'ServerLive', Buffer.alloc(0));
    tracks.candidate = poolOf(['c1', candidate.address]);
    tracks.mirror = 100;
    await callUnary(gateway.address, 'ModelInfer', infer);
    // The shadow copy is answered off the caller's path: read the metrics until it is counted.
    let text = '';
    for (let i = 0; i < 400 && !text.includes('track="shadow"'); i++) {
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, 5));
      text = await metrics.metrics();
    }
    const count = (labels: string) =>
      new RegExp(`^berth_gateway_requests_total\\{${labels}\\} (\\d+)$`, 'm').exec(text)?.[1];
    expect(count('model="iris",track="stable",code="200"')).toBe('2');
    expect(count('model="iris",track="stable",code="404"')).toBe('1');
    expect(count('model="",track="stable",code="200"')).toBe('1');
    expect(count('model="iris",track="shadow",code="200"')).toBe('1');
    expect(text).toMatch(/^berth_gateway_request_duration_seconds_count\{model="iris",track="stable"\} 3$/m);
  });
});

describe('httpStatusOfGrpc', () => {
  it("counts the server's faults as 5xx and the caller's errors as 4xx, as google.rpc.Code maps them", () => {
    const expected: Record<number, number> = {
      [status.OK]: 200,
      [status.CANCELLED]: 499,
      [status.UNKNOWN]: 500,
      [status.INVALID_ARGUMENT]: 400,
      [status.DEADLINE_EXCEEDED]: 504,
      [status.NOT_FOUND]: 404,
      [status.ALREADY_EXISTS]: 409,
      [status.PERMISSION_DENIED]: 403,
      [status.RESOURCE_EXHAUSTED]: 429,
      [status.FAILED_PRECONDITION]: 400,
      [status.ABORTED]: 409,
      [status.OUT_OF_RANGE]: 400,
      [status.UNIMPLEMENTED]: 501,
      [status.INTERNAL]: 500,
      [status.UNAVAILABLE]: 503,
      [status.DATA_LOSS]: 500,
      [status.UNAUTHENTICATED]: 401,
    };
    for (let code = 0; code <= 16; code++)
      expect([code, httpStatusOfGrpc(code)]).toEqual([code, expected[code]]);
    expect(httpStatusOfGrpc(99)).toBe(500);
  });
});

describe('the gateway channels', () => {
  it('reuse one channel per replica address and close it once the replica left the pool', () => {
    const pool = poolOf(['r1', '127.0.0.1:1'], ['r2', '127.0.0.1:2']);
    const channels = new GrpcChannels(pool, { maxMessageBytes: 1024, sweepMs: 60_000 });
    cleanups.push(() => channels.close());
    const r1 = pool.acquire();
    const r2 = pool.acquire(new Set([r1!]));
    expect([r1?.id, r2?.id]).toEqual(['r1', 'r2']);
    const a = channels.lease(r1!, r1!.grpc!);
    const b = channels.lease(r1!, r1!.grpc!);
    expect(a.client).toBe(b.client);
    const c = channels.lease(r2!, r2!.grpc!);
    expect(channels.size).toBe(2);
    pool.remove(r1!.id);
    a.done();
    channels.sweep();
    expect(channels.size).toBe(2); // one call still on it
    b.done();
    channels.sweep();
    expect(channels.size).toBe(1);
    expect(a.client.getChannel().getConnectivityState(false)).toBe(4); // SHUTDOWN
    c.done();
  });
});

async function check(address: string, service: string): Promise<number> {
  const method = healthMethods().Check as GrpcMethod;
  const client = new Client(address, credentials.createInsecure());
  try {
    return await new Promise<number>((resolve, reject) => {
      client.makeUnaryRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        { service },
        (error, response) => {
          if (error !== null) reject(error);
          else resolve((response as { status: number }).status);
        },
      );
    });
  } finally {
    client.close();
  }
}

async function until(condition: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
