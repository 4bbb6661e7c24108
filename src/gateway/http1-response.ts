/**
 * An HTTP/1.1 response parser for the gateway's upstream connections (RFC 9112: section 4 status
 * line, 5 fields, 6 message body, 7.1 chunked transfer coding). Pure and incremental: bytes go in
 * as the socket delivers them, one whole response comes out.
 *
 * Why not node's own client: on this project's 2-vCPU machine `http.request` with a keep-alive
 * agent spent about 104 µs of the client process's CPU per proxied request, undici's Pool 77 µs,
 * and a plain socket with this parser 27 µs (docs/adr/0007). The gateway only ever talks to OIP
 * servers it started or was pointed at, so it needs responses, not the whole protocol: no
 * pipelining, no upgrades, no trailers kept.
 *
 * Bounds: the head at most `maxHeadBytes` (64 KiB by default), the body at most `maxBodyBytes`;
 * anything malformed or past a bound is an Http1ResponseError and the connection is not reused.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { addField, fieldKey, newFieldSet } from './http1-fields.js';

export interface Http1Response {
  readonly status: number;
  /** Lower-case names; repeated fields joined with ", " (set-cookie kept as a list), as node does. */
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** Whether the connection may carry another request after this one. */
  readonly keepAlive: boolean;
  /** The server's `Keep-Alive: timeout=N` in milliseconds, when it sent one. */
  readonly keepAliveMs: number | undefined;
}

export class Http1ResponseError extends Error {}

export interface Http1ParserOptions {
  readonly maxBodyBytes: number;
  readonly maxHeadBytes?: number;
  /** The request was HEAD: the response has no body whatever its headers say. */
  readonly head?: boolean;
  /**
   * The bytes given to `push` are overwritten once it returns (a socket reading into one reused
   * buffer): the parser copies what it keeps.
   */
  readonly transient?: boolean;
}

const CRLF_CRLF = Buffer.from('\r\n\r\n');
const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: [^\r\n]*)?$/;
const KEEP_ALIVE_TIMEOUT = /(?:^|[,;\s])timeout=(\d+)/i;

type Framing =
  | { readonly kind: 'length'; readonly length: number }
  | { readonly kind: 'chunked' }
  | { readonly kind: 'close' };

/**
 * Feed it what the socket reads; `push` returns the response once it is whole. One parser reads
 * one response: make a new one for the next request on the connection.
 *
 * @example
 * const parser = new Http1ResponseParser({ maxBodyBytes: 1 << 20 });
 * socket.on('data', (chunk) => { const response = parser.push(chunk); if (response) done(response); });
 * socket.on('end', () => { const response = parser.end(); ... });
 */
export class Http1ResponseParser {
  private readonly maxHead: number;
  /** Bytes of the head seen so far, until its end is found. */
  private pending: Buffer | undefined;
  private status = 0;
  private headers: IncomingHttpHeaders = {};
  private keepAlive = true;
  private keepAliveMs: number | undefined;
  private framing: Framing | undefined;
  /** A body of known length is copied into this once it spans more than one read. */
  private body: Buffer | undefined;
  private bodyParts: Buffer[] = [];
  private size = 0;
  /** Chunked: bytes left of the current chunk's data, or -1 while reading a size line. */
  private chunkLeft = -1;
  /** Chunked: a partial size line or the CRLF after a chunk's data. */
  private lineCarry = '';
  private afterData = false;
  private trailers = false;

  constructor(private readonly options: Http1ParserOptions) {
    this.maxHead = options.maxHeadBytes ?? 64 * 1024;
  }

  /** @returns the whole response, or undefined while more bytes are needed. */
  push(chunk: Buffer): Http1Response | undefined {
    let data = chunk;
    if (this.framing === undefined) {
      const buffered = this.pending === undefined ? chunk : Buffer.concat([this.pending, chunk]);
      // The end of the head may straddle two reads: look from 3 bytes before the new ones.
      const from = this.pending === undefined ? 0 : Math.max(0, this.pending.byteLength - 3);
      const end = buffered.indexOf(CRLF_CRLF, from);
      if (end < 0) {
        if (buffered.byteLength > this.maxHead) {
          throw new Http1ResponseError(`the response head is larger than ${this.maxHead} bytes`);
        }
        this.pending = buffered === chunk && this.options.transient === true ? Buffer.from(chunk) : buffered;
        return undefined;
      }
      if (end > this.maxHead) {
        throw new Http1ResponseError(`the response head is larger than ${this.maxHead} bytes`);
      }
      this.pending = undefined;
      const informational = this.readHead(buffered.toString('latin1', 0, end));
      data = buffered.subarray(end + 4);
      if (informational) {
        // A 1xx (100 Continue, 103 Early Hints) precedes the real response; start over.
        this.reset();
        return data.byteLength === 0 ? undefined : this.push(data);
      }
    }
    return this.readBody(data);
  }

  /** The connection ended: the response, when its body was framed by the close; else an error. */
  end(): Http1Response {
    if (this.framing?.kind === 'close') return this.finish(false);
    throw new Http1ResponseError(
      this.framing === undefined ? 'the connection closed before a response' : 'the response was cut off',
    );
  }

  private reset(): void {
    this.status = 0;
    this.headers = {};
    this.keepAlive = true;
    this.keepAliveMs = undefined;
    this.framing = undefined;
  }

  /** Reads the status line and fields; true for an informational (1xx) response. */
  private readHead(head: string): boolean {
    const lines = head.split('\r\n');
    const match = STATUS_LINE.exec(lines[0] ?? '');
    if (match === null) throw new Http1ResponseError('the response has no valid status line');
    const status = Number(match[2]);
    this.status = status;
    this.keepAlive = match[1] === '1';
    const headers: IncomingHttpHeaders = newFieldSet();
    let contentLength: number | undefined;
    let chunked = false;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i] as string;
      const colon = line.indexOf(':');
      const name = colon > 0 ? line.slice(0, colon) : '';
      const key = fieldKey(name);
      if (key === undefined) throw new Http1ResponseError('the response has a malformed header field');
      const value = line.slice(colon + 1).trim();
      if (key === 'content-length') {
        if (!/^\d{1,15}$/.test(value) || (contentLength !== undefined && contentLength !== Number(value))) {
          throw new Http1ResponseError('the response has an invalid content-length');
        }
        contentLength = Number(value);
      } else if (key === 'transfer-encoding') {
        chunked = /(?:^|,)\s*chunked\s*$/i.test(value);
        if (!chunked) throw new Http1ResponseError(`unsupported transfer-encoding "${value}"`);
      } else if (key === 'connection') {
        const tokens = value.toLowerCase();
        if (/(?:^|,)\s*close\s*(?:,|$)/.test(tokens)) this.keepAlive = false;
        else if (/(?:^|,)\s*keep-alive\s*(?:,|$)/.test(tokens)) this.keepAlive = true;
      } else if (key === 'keep-alive') {
        const timeout = KEEP_ALIVE_TIMEOUT.exec(value);
        if (timeout?.[1] !== undefined) this.keepAliveMs = Number(timeout[1]) * 1000;
      }
      addField(headers, key, value);
    }
    this.headers = headers;
    if (status < 200) {
      if (status === 101) throw new Http1ResponseError('the upstream switched protocols');
      return true;
    }
    if (this.options.head === true || status === 204 || status === 304) {
      this.framing = { kind: 'length', length: 0 };
    } else if (chunked) {
      // A message with both is framed by the chunks, and the connection is not reused (9112 6.3).
      if (contentLength !== undefined) this.keepAlive = false;
      this.framing = { kind: 'chunked' };
    } else if (contentLength !== undefined) {
      if (contentLength > this.options.maxBodyBytes) throw this.tooLarge();
      this.framing = { kind: 'length', length: contentLength };
    } else {
      this.framing = { kind: 'close' };
      this.keepAlive = false;
    }
    return false;
  }

  private readBody(data: Buffer): Http1Response | undefined {
    const framing = this.framing as Framing;
    if (framing.kind === 'length') {
      const left = framing.length - this.size;
      if (data.byteLength > left) throw new Http1ResponseError('the upstream sent more than one response');
      if (this.size === 0 && data.byteLength === framing.length) {
        // The whole body in one read: a view of it, no copy (unless the read buffer is reused).
        this.body = this.options.transient === true ? Buffer.from(data) : data;
        this.size = data.byteLength;
        return this.finish(this.keepAlive);
      }
      if (data.byteLength > 0) {
        this.body ??= Buffer.allocUnsafe(framing.length);
        data.copy(this.body, this.size);
        this.size += data.byteLength;
      }
      return this.size === framing.length ? this.finish(this.keepAlive) : undefined;
    }
    if (framing.kind === 'close') {
      this.append(data);
      return undefined;
    }
    return this.readChunks(data);
  }

  private readChunks(data: Buffer): Http1Response | undefined {
    let at = 0;
    while (at < data.byteLength) {
      if (this.chunkLeft > 0) {
        const take = Math.min(this.chunkLeft, data.byteLength - at);
        this.append(data.subarray(at, at + take));
        this.chunkLeft -= take;
        at += take;
        if (this.chunkLeft === 0) this.afterData = true;
        continue;
      }
      const newline = data.indexOf(10, at);
      if (newline < 0) {
        this.lineCarry += data.toString('latin1', at);
        if (this.lineCarry.length > 4096) throw new Http1ResponseError('a chunk line is too long');
        return undefined;
      }
      const line = (this.lineCarry + data.toString('latin1', at, newline)).replace(/\r$/, '');
      this.lineCarry = '';
      at = newline + 1;
      if (this.afterData) {
        if (line !== '') throw new Http1ResponseError('a chunk does not end with CRLF');
        this.afterData = false;
        continue;
      }
      if (this.trailers) {
        if (line === '') {
          if (at !== data.byteLength)
            throw new Http1ResponseError('the upstream sent more than one response');
          return this.finish(this.keepAlive);
        }
        continue;
      }
      const size = /^([0-9a-fA-F]{1,12})(?:[ \t]*;.*)?$/.exec(line);
      if (size?.[1] === undefined) throw new Http1ResponseError('a chunk has an invalid size line');
      const length = parseInt(size[1], 16);
      if (length === 0) this.trailers = true;
      else {
        if (this.size + length > this.options.maxBodyBytes) throw this.tooLarge();
        this.chunkLeft = length;
      }
    }
    return undefined;
  }

  private append(part: Buffer): void {
    if (part.byteLength === 0) return;
    this.size += part.byteLength;
    if (this.size > this.options.maxBodyBytes) throw this.tooLarge();
    this.bodyParts.push(this.options.transient === true ? Buffer.from(part) : part);
  }

  private finish(keepAlive: boolean): Http1Response {
    const only = this.bodyParts.length === 1 ? this.bodyParts[0] : undefined;
    const body = this.body ?? only ?? Buffer.concat(this.bodyParts, this.size);
    return {
      status: this.status,
      headers: this.headers,
      body,
      keepAlive,
      keepAliveMs: this.keepAliveMs,
    };
  }

  private tooLarge(): Http1ResponseError {
    return new Http1ResponseError(`the answer is larger than ${this.options.maxBodyBytes} bytes`);
  }
}
