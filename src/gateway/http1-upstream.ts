/**
 * Keep-alive HTTP/1.1 connections to the gateway's upstreams (unix sockets or TCP), one request at
 * a time on each, written with one write (http1-fields.ts) and read with the
 * gateway's own parser (http1-response.ts). It replaces node's `http.request` and Agent on the
 * proxied path, where they cost most of the gateway's CPU per request (docs/adr/0007).
 *
 * Reuse follows what node's Agent does right and avoids what makes a proxy fail requests: an idle
 * connection leaves the pool the moment its server closes it, and one idle longer than the
 * server's `Keep-Alive: timeout` hint (less a margin) is closed rather than reused, since a
 * request written just as the server closes would be lost.
 */
import { connect, type Socket } from 'node:net';
import type { OutgoingHttpHeaders } from 'node:http';
import { HOP_BY_HOP, writeMessage } from './http1-fields.js';
import { Http1ResponseError, Http1ResponseParser, type Http1Response } from './http1-response.js';
import { upstreamTarget, type UpstreamTarget } from './upstream-address.js';

export interface Http1Request {
  readonly method: string;
  /** Path and query, as the client sent them (node's parser has already refused CR and LF). */
  readonly path: string;
  /** Lower-case names; sent as they are, except those of one connection (HOP_BY_HOP): `host` and `content-length` are this side's. */
  readonly headers: OutgoingHttpHeaders;
  readonly body: Buffer;
}

/** How an exchange ended without a response. */
export interface Http1Failure {
  /** The connection was never made: the upstream did not take the request. */
  readonly refused: boolean;
  readonly error: Error;
}

export type Http1Callback = (failure: Http1Failure | undefined, response?: Http1Response) => void;

export interface Http1UpstreamsOptions {
  /** Largest answer accepted. */
  readonly maxResponseBytes: number;
  /** Connections per upstream at most; more requests wait for one (default 256). */
  readonly maxSocketsPerUpstream?: number;
  /** How long an idle connection is reused when the server sent no hint (default 4 s). */
  readonly idleMs?: number;
  /** The clock idle times are read on (default performance.now). */
  readonly now?: () => number;
}

/** Where every upstream connection reads: the parser copies out what it keeps before the next read. */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

/** Kept below the server's own keep-alive timeout, so that the server is never the one to close. */
const IDLE_MARGIN_MS = 1000;

class Connection {
  readonly socket: Socket;
  connected = false;
  /** When it went back to the pool, on the pool's clock. */
  idleSince = 0;
  /** How long it may stay idle and still be reused. */
  idleMs: number;
  parser: Http1ResponseParser | undefined;
  callback: Http1Callback | undefined;

  constructor(
    readonly origin: Origin,
    target: UpstreamTarget,
  ) {
    this.idleMs = origin.owner.idleMs;
    // Answers are read into one buffer shared by every connection, straight to the parser (which
    // copies what it keeps): no buffer made per read, and none of a stream's machinery.
    const onread = {
      buffer: READ_BUFFER,
      callback: (bytes: number): boolean => {
        this.onData(READ_BUFFER.subarray(0, bytes));
        return true;
      },
    };
    this.socket =
      target.socketPath === undefined
        ? connect({ host: target.host, port: target.port ?? 80, noDelay: true, onread })
        : connect({ path: target.socketPath, onread });
    this.socket.on('connect', () => {
      this.connected = true;
    });
    this.socket.on('end', () => this.onEnd());
    this.socket.on('error', (error: Error) => this.fail(error));
    this.socket.on('close', () => this.fail(new Error('the connection closed')));
  }

  send(request: Http1Request, hostHeader: string, callback: Http1Callback): void {
    this.callback = callback;
    this.parser = new Http1ResponseParser({
      maxBodyBytes: this.origin.owner.maxResponseBytes,
      head: request.method === 'HEAD',
      transient: true,
    });
    let head = `${request.method} ${request.path} HTTP/1.1\r\nhost: ${hostHeader}\r\n`;
    for (const name in request.headers) {
      const value = request.headers[name];
      if (value === undefined || HOP_BY_HOP.has(name)) continue;
      if (Array.isArray(value)) for (const one of value) head += `${name}: ${one}\r\n`;
      else head += `${name}: ${value}\r\n`;
    }
    head += `content-length: ${request.body.byteLength}\r\n\r\n`;
    writeMessage(this.socket, head, request.body);
  }

  /** Stops an exchange whose caller stopped waiting: the connection cannot be reused. */
  abort(): void {
    this.callback = undefined;
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    const parser = this.parser;
    if (parser === undefined) {
      // Bytes nobody asked for: the connection is out of step; never reuse it.
      this.socket.destroy();
      return;
    }
    let response: Http1Response | undefined;
    try {
      response = parser.push(chunk);
    } catch (error) {
      this.fail(error as Error);
      this.socket.destroy();
      return;
    }
    if (response !== undefined) this.settle(response);
  }

  private onEnd(): void {
    const parser = this.parser;
    if (parser === undefined) return;
    try {
      this.settle(parser.end());
    } catch (error) {
      this.fail(error as Error);
    }
  }

  private settle(response: Http1Response): void {
    const callback = this.callback;
    this.parser = undefined;
    this.callback = undefined;
    if (response.keepAlive && !this.socket.destroyed) {
      if (response.keepAliveMs !== undefined) {
        this.idleMs = Math.max(0, Math.min(this.origin.owner.idleMs, response.keepAliveMs - IDLE_MARGIN_MS));
      }
      this.origin.release(this);
    } else {
      this.origin.forget(this);
      this.socket.destroy();
    }
    callback?.(undefined, response);
  }

  private fail(error: Error): void {
    this.origin.forget(this);
    const callback = this.callback;
    this.parser = undefined;
    this.callback = undefined;
    callback?.({ refused: !this.connected && !(error instanceof Http1ResponseError), error });
  }
}

interface Waiter {
  readonly request: Http1Request;
  readonly callback: Http1Callback;
  cancelled: boolean;
}

/** The connections to one upstream address. */
class Origin {
  readonly idle: Connection[] = [];
  readonly all = new Set<Connection>();
  readonly waiting: Waiter[] = [];
  readonly target: UpstreamTarget;
  readonly hostHeader: string;

  constructor(
    readonly owner: Http1Upstreams,
    readonly url: string,
  ) {
    this.target = upstreamTarget(url);
    this.hostHeader =
      this.target.socketPath === undefined
        ? `${this.target.host?.includes(':') ? `[${this.target.host}]` : this.target.host}:${this.target.port}`
        : 'localhost';
  }

  /** A warm idle connection (the most recently used), a new one, or undefined at the limit. */
  take(): Connection | undefined {
    const now = this.owner.now();
    for (let connection = this.idle.pop(); connection !== undefined; connection = this.idle.pop()) {
      if (now - connection.idleSince < connection.idleMs && !connection.socket.destroyed) return connection;
      this.all.delete(connection);
      connection.socket.destroy();
    }
    if (this.all.size >= this.owner.maxSockets) return undefined;
    const connection = new Connection(this, this.target);
    this.all.add(connection);
    return connection;
  }

  release(connection: Connection): void {
    const next = this.nextWaiter();
    if (next !== undefined) {
      connection.send(next.request, this.hostHeader, next.callback);
      return;
    }
    connection.idleSince = this.owner.now();
    this.idle.push(connection);
  }

  forget(connection: Connection): void {
    if (!this.all.delete(connection)) return;
    const at = this.idle.indexOf(connection);
    if (at >= 0) this.idle.splice(at, 1);
    // A slot is free: a waiting request gets a new connection.
    const next = this.nextWaiter();
    if (next !== undefined) this.owner.dispatch(this, next);
    // An upstream with nothing left (a replica gone for good) is forgotten, so that replicas
    // coming and going over a long life do not grow the map.
    else if (this.all.size === 0) this.owner.drop(this);
  }

  private nextWaiter(): Waiter | undefined {
    for (let waiter = this.waiting.shift(); waiter !== undefined; waiter = this.waiting.shift()) {
      if (!waiter.cancelled) return waiter;
    }
    return undefined;
  }
}

/** A started exchange; `abort` ends it without calling back. */
export interface Http1Exchange {
  abort(): void;
}

/**
 * @example
 * const upstreams = new Http1Upstreams({ maxResponseBytes: 64 << 20 });
 * const exchange = upstreams.request('unix:/run/berth/r1.sock', { method: 'GET', path: '/v2/health/ready', headers: {}, body: Buffer.alloc(0) },
 *   (failure, response) => console.log(failure ?? response?.status));
 */
export class Http1Upstreams {
  readonly maxResponseBytes: number;
  readonly maxSockets: number;
  readonly idleMs: number;
  readonly now: () => number;
  private readonly origins = new Map<string, Origin>();
  private closed = false;

  constructor(options: Http1UpstreamsOptions) {
    this.maxResponseBytes = options.maxResponseBytes;
    this.maxSockets = options.maxSocketsPerUpstream ?? 256;
    this.idleMs = options.idleMs ?? 4000;
    this.now = options.now ?? (() => performance.now());
  }

  /** Sends `request` to the upstream at `url` (`unix:PATH` or `http://host:port`); `callback` is never called synchronously. */
  request(url: string, request: Http1Request, callback: Http1Callback): Http1Exchange {
    if (this.closed) {
      // Called back later, as every exchange is: callers may set up their timers after this returns.
      process.nextTick(callback, { refused: true, error: new Error('the upstream connections are closed') });
      return { abort: () => undefined };
    }
    let origin = this.origins.get(url);
    if (origin === undefined) {
      origin = new Origin(this, url);
      this.origins.set(url, origin);
    }
    const waiter: Waiter = { request, callback, cancelled: false };
    const connection = this.dispatch(origin, waiter);
    return {
      abort: () => {
        waiter.cancelled = true;
        if (connection?.callback === callback) connection.abort();
        else {
          // Sent later, from the wait list, on a connection not known here.
          for (const one of origin.all) if (one.callback === callback) one.abort();
        }
      },
    };
  }

  /** @internal Forgets `origin`, which has no connection and no waiting request. */
  drop(origin: Origin): void {
    if (this.origins.get(origin.url) === origin) this.origins.delete(origin.url);
  }

  /** Upstream addresses with connections or waiting requests now. */
  get upstreams(): number {
    return this.origins.size;
  }

  /** @internal Starts `waiter` on a connection of `origin`, or queues it at the limit. */
  dispatch(origin: Origin, waiter: Waiter): Connection | undefined {
    const connection = origin.take();
    if (connection === undefined) {
      origin.waiting.push(waiter);
      return undefined;
    }
    connection.send(waiter.request, origin.hostHeader, waiter.callback);
    return connection;
  }

  /** Closes every connection; requests in flight fail as lost. */
  close(): void {
    this.closed = true;
    for (const origin of this.origins.values()) {
      for (const waiter of origin.waiting.splice(0)) {
        waiter.callback({ refused: true, error: new Error('the upstream connections are closed') });
      }
      for (const connection of [...origin.all]) connection.socket.destroy();
    }
    this.origins.clear();
  }

  /** Connections open now, idle and busy, over all upstreams. */
  get connections(): number {
    let count = 0;
    for (const origin of this.origins.values()) count += origin.all.size;
    return count;
  }
}
