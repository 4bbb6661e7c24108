/**
 * The gateway's own HTTP/1.1 server (RFC 9112), in place of node:http: the REST front takes
 * requests from a `net.Server` through http1-request.ts and writes each answer's head and body
 * in one write (http1-fields.ts). node:http's server side (IncomingMessage, ServerResponse and their
 * stream machinery) was most of the gateway's CPU per request; docs/adr/0008 has the numbers.
 *
 * What a client of node:http relied on is kept:
 * - keep-alive (HTTP/1.1 by default, HTTP/1.0 with `Connection: keep-alive`), `Keep-Alive:
 *   timeout=N` on every answer, idle connections closed after `keepAliveTimeoutMs`;
 * - pipelined requests are answered one after another, in order; reading stops while one is
 *   handled, so a client cannot queue unbounded work or bytes;
 * - `Expect: 100-continue` is answered before the body is read;
 * - slow clients: a head not whole within `headersTimeoutMs` or a request within
 *   `requestTimeoutMs` is a 408 and the connection closes (checked once a second, as node does);
 * - a malformed or oversized request is answered with its status and a JSON error, and the
 *   connection closes: after a framing error nothing more on it can be trusted;
 * - a client that half-closes after its request still gets the answer, but its request's signal
 *   aborts, as node's server takes such a client to be gone;
 * - `close()` stops listening, closes idle connections, lets requests in flight finish (their
 *   answers close the connection), and resolves when the last connection is gone.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { socketCertificateSubject, TLS_CIPHERS, TLS_MIN_VERSION, type TlsFiles } from '../access/index.js';
import { STATUS_CODES, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { fieldKey, HOP_BY_HOP, writeMessage } from './http1-fields.js';
import { Http1RequestError, Http1RequestParser, type Http1Request } from './http1-request.js';

export interface FrontRequest extends Http1Request {
  /** The client's address, as the socket saw it. */
  readonly remoteAddress: string;
  /** Aborts when the client's connection is gone before the answer. */
  readonly signal: AbortSignal;
  /** Over mTLS: the common name of the client certificate the TLS layer verified. */
  readonly certificateSubject: string | undefined;
}

export interface FrontAnswer {
  readonly status: number;
  /** The answer's fields; those of one connection (HOP_BY_HOP: framing, keep-alive) are the front's. */
  readonly headers: OutgoingHttpHeaders;
  readonly body: Buffer | string;
}

/** Answers one request; it must not throw (a rejection is answered with a bare 500). */
export type FrontHandler = (request: FrontRequest) => Promise<FrontAnswer>;

export interface Http1FrontOptions {
  readonly host: string;
  readonly port: number;
  readonly maxBodyBytes: number;
  readonly maxHeadBytes?: number;
  /** Default 60 s, as node's headersTimeout. */
  readonly headersTimeoutMs?: number;
  /** Default 300 s, as node's requestTimeout. */
  readonly requestTimeoutMs?: number;
  /** Default 5 s, as node's keepAliveTimeout. */
  readonly keepAliveTimeoutMs?: number;
  /** A request refused before it reached the handler (malformed, too large, too slow). */
  readonly onRefused?: (error: Http1RequestError, remoteAddress: string) => void;
  /** Serve HTTPS (mTLS with a client CA) from these watched files; plain HTTP without. */
  readonly tls?: TlsFiles;
  /** Makes the refusal's JSON body and fields, so that they match the handler's errors. */
  readonly refusal: (error: Http1RequestError) => FrontAnswer;
}

export interface Http1Front {
  readonly port: number;
  /** Stops listening; resolves when the requests in flight are answered and connections closed. */
  close(): Promise<void>;
  /** Cuts every connection now. */
  closeAll(): void;
}

/** How long a connection that was answered with a refusal may linger while the client reads. */
const LINGER_MS = 2000;
const CONTINUE = 'HTTP/1.1 100 Continue\r\n\r\n';
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

type Phase = 'idle' | 'reading' | 'handling' | 'closing';

/**
 * @example
 * const front = await startHttp1Front({ host: '127.0.0.1', port: 8000, maxBodyBytes: 64 << 20, refusal }, async (request) => ({ status: 200, headers: {}, body: 'ok' }));
 */
export async function startHttp1Front(
  options: Http1FrontOptions,
  handler: FrontHandler,
): Promise<Http1Front> {
  const connections = new Set<Connection>();
  const timing = {
    headersMs: options.headersTimeoutMs ?? 60_000,
    requestMs: options.requestTimeoutMs ?? 300_000,
    keepAliveMs: options.keepAliveTimeoutMs ?? 5000,
  };
  const state = { draining: false };
  // Over TLS, browsers keep to HTTPS for this host for a year (as `berth serve` says too).
  const keepAliveField =
    `keep-alive: timeout=${Math.max(1, Math.floor(timing.keepAliveMs / 1000))}\r\n` +
    (options.tls === undefined ? '' : 'strict-transport-security: max-age=31536000\r\n');
  const onSocket = (socket: Socket) => {
    const connection = new Connection(socket, options, handler, {
      keepAliveField,
      draining: () => state.draining,
      gone: () => connections.delete(connection),
    });
    connections.add(connection);
  };
  const server = listener(options.tls, onSocket);
  const sweep = setInterval(
    () => {
      const now = performance.now();
      for (const connection of connections) connection.check(now, timing);
    },
    Math.min(1000, timing.headersMs, timing.keepAliveMs),
  );
  sweep.unref();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        state.draining = true;
        server.close(() => {
          clearInterval(sweep);
          resolve();
        });
        for (const connection of connections) connection.closeIfIdle();
      }),
    closeAll: () => {
      for (const connection of connections) connection.destroy();
    },
  };
}

/**
 * A plain TCP server, or a TLS one (TLS 1.2+, AEAD suites; client certificates required when a
 * client CA is set) whose certificate follows the watched files: new handshakes get the new
 * one, connections already made keep theirs.
 */
function listener(tls: TlsFiles | undefined, onSocket: (socket: Socket) => void): Server {
  if (tls === undefined) return createServer({ allowHalfOpen: true, noDelay: true }, onSocket);
  const settings = { minVersion: TLS_MIN_VERSION, ciphers: TLS_CIPHERS, honorCipherOrder: true } as const;
  const server = createTlsServer(
    {
      ...tls.current,
      ...settings,
      requestCert: tls.mutual,
      rejectUnauthorized: tls.mutual,
      allowHalfOpen: true,
      noDelay: true,
    },
    onSocket,
  );
  // A failed handshake (a plain-HTTP client, an unknown client certificate) ends that socket only.
  server.on('tlsClientError', (_error, socket) => socket.destroy());
  tls.onChange((material) => server.setSecureContext({ ...material, ...settings }));
  return server;
}

interface ConnectionContext {
  readonly keepAliveField: string;
  readonly draining: () => boolean;
  readonly gone: () => void;
}

/** One client connection: its parser, the request being handled, and its phase for timeouts. */
class Connection {
  private readonly parser: Http1RequestParser;
  private phase: Phase = 'idle';
  /** When the current phase began, on performance.now()'s clock. */
  private since = performance.now();
  /** The client sent its FIN: answer what was asked, then close. */
  private ended = false;
  private aborter: AbortController | undefined;
  private readonly remoteAddress: string;

  constructor(
    private readonly socket: Socket,
    private readonly options: Http1FrontOptions,
    private readonly handler: FrontHandler,
    private readonly context: ConnectionContext,
  ) {
    this.remoteAddress = socket.remoteAddress ?? '';
    this.parser = new Http1RequestParser({
      maxBodyBytes: options.maxBodyBytes,
      ...(options.maxHeadBytes === undefined ? {} : { maxHeadBytes: options.maxHeadBytes }),
    });
    socket.on('data', (chunk: Buffer) => this.read(chunk));
    socket.on('end', () => {
      // As node's server does: a client's FIN while a request is handled means it is gone (a
      // request waiting for a replica stops waiting), though the answer is still written.
      this.ended = true;
      this.aborter?.abort();
      if (this.phase !== 'handling') this.destroy();
    });
    socket.on('error', () => this.destroy());
    socket.on('close', () => {
      this.aborter?.abort();
      context.gone();
    });
  }

  /** Closes the connection on the spot. */
  destroy(): void {
    this.socket.destroy();
  }

  /** Shutting down: a connection between requests goes now, others after their answer. */
  closeIfIdle(): void {
    if (this.phase === 'idle' && !this.parser.started) this.destroy();
  }

  /** The once-a-second check of slow clients and idle connections. */
  check(now: number, timing: { headersMs: number; requestMs: number; keepAliveMs: number }): void {
    const age = now - this.since;
    if (this.phase === 'idle' && age > timing.keepAliveMs) this.destroy();
    else if (this.phase === 'closing' && age > LINGER_MS) this.destroy();
    else if (this.phase === 'reading') {
      const limit = this.parser.readingBody ? timing.requestMs : Math.min(timing.headersMs, timing.requestMs);
      if (age > limit) this.refuse(new Http1RequestError(408, 'the request was not received in time'));
    }
  }

  private read(chunk: Buffer): void {
    if (this.phase === 'closing') return;
    if (this.phase === 'handling') {
      // A pipelined request: kept for after this answer, and no more read until then.
      this.socket.pause();
      this.pipelined = this.pipelined === undefined ? chunk : Buffer.concat([this.pipelined, chunk]);
      return;
    }
    this.parse(chunk);
  }

  /** Bytes read while a request was handled. */
  private pipelined: Buffer | undefined;

  private parse(chunk: Buffer | undefined): void {
    if (this.phase === 'idle') {
      this.phase = 'reading';
      this.since = performance.now();
    }
    let request: Http1Request | undefined;
    try {
      request = this.parser.push(chunk);
    } catch (error) {
      if (error instanceof Http1RequestError) this.refuse(error);
      else this.destroy();
      return;
    }
    if (request === undefined) {
      if (this.parser.takeContinue()) {
        if (this.context.draining()) {
          this.refuse(new Http1RequestError(503, 'the gateway is shutting down'));
          return;
        }
        this.socket.write(CONTINUE, 'latin1');
      }
      if (!this.parser.started) this.becomeIdle();
      return;
    }
    this.handle(request);
  }

  private handle(request: Http1Request): void {
    this.phase = 'handling';
    this.aborter ??= new AbortController();
    const front: FrontRequest = Object.assign(request, {
      remoteAddress: this.remoteAddress,
      signal: this.aborter.signal,
      certificateSubject: socketCertificateSubject(this.socket),
    });
    this.handler(front).then(
      (answer) => this.answer(request, answer),
      () => this.answer(request, { status: 500, headers: {}, body: '' }, true),
    );
  }

  private answer(request: Http1Request, answer: FrontAnswer, broken = false): void {
    if (this.socket.destroyed) return;
    const keepAlive = request.keepAlive && !broken && !this.ended && !this.context.draining();
    let head: string;
    try {
      head = headOf(answer, request, keepAlive, this.context.keepAliveField);
    } catch {
      this.answer(request, { status: 500, headers: {}, body: '' }, true);
      return;
    }
    const body = request.method === 'HEAD' ? '' : answer.body;
    const socket = this.socket;
    writeMessage(socket, head, body);
    if (!keepAlive) {
      this.phase = 'closing';
      this.since = performance.now();
      socket.end();
      return;
    }
    const rest = this.pipelined;
    this.pipelined = undefined;
    this.becomeIdle();
    if (rest !== undefined) socket.resume();
    // What followed the request in the same reads, and what came while it was handled.
    this.parse(rest);
  }

  private becomeIdle(): void {
    this.phase = 'idle';
    this.since = performance.now();
  }

  /** Answers a request the front refuses, then closes the connection. */
  private refuse(error: Http1RequestError): void {
    this.options.onRefused?.(error, this.remoteAddress);
    const answer = this.options.refusal(error);
    const head = headOf(answer, undefined, false, '');
    this.phase = 'closing';
    this.since = performance.now();
    writeMessage(this.socket, head, answer.body);
    this.socket.end();
  }
}

/** The status line and fields of an answer, ready to write; throws on a field node would refuse. */
function headOf(
  answer: FrontAnswer,
  request: Http1Request | undefined,
  keepAlive: boolean,
  keepAliveField: string,
): string {
  const status = answer.status;
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Unknown'}\r\n`;
  let dated = false;
  for (const name in answer.headers) {
    const value = answer.headers[name];
    if (value === undefined) continue;
    const key = name.toLowerCase();
    if (HOP_BY_HOP.has(key)) continue;
    if (key === 'date') dated = true;
    if (fieldKey(name) === undefined) throw new Error(`invalid field name "${name}"`);
    if (Array.isArray(value)) {
      for (const item of value) head += fieldLine(name, item);
    } else head += fieldLine(name, value);
  }
  if (!dated) head += `date: ${httpDate()}\r\n`;
  if (status !== 204 && status !== 304 && !(status < 200)) {
    head += `content-length: ${Buffer.byteLength(answer.body)}\r\n`;
  }
  if (!keepAlive) head += 'connection: close\r\n';
  else {
    if (request?.minorVersion === 0) head += 'connection: keep-alive\r\n';
    head += keepAliveField;
  }
  return `${head}\r\n`;
}

function fieldLine(name: string, value: string | number): string {
  const text = String(value);
  if (BAD_VALUE.test(text)) throw new Error(`invalid value for field "${name}"`);
  return `${name}: ${text}\r\n`;
}

const clock = { second: 0, text: '' };

/** The Date field's value, made once a second. */
function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== clock.second) {
    clock.second = second;
    clock.text = new Date(now).toUTCString();
  }
  return clock.text;
}

export type { IncomingHttpHeaders };
