/**
 * An HTTP/1.1 request parser for the gateway's REST front (RFC 9112: section 2.2 message
 * parsing, 3 request line, 5 fields, 6 message body, 7.1 chunked transfer coding; RFC 9110
 * 10.1.1 Expect). Pure and incremental: bytes go in as the socket delivers them, one whole
 * request comes out, and the bytes after it (a pipelined request) wait for the next call.
 *
 * Every byte here is a stranger's, so it is strict where RFC 9112 lets a server be, and
 * refuses what request smuggling needs (sections 6.1 and 6.3, 11.2):
 * - Transfer-Encoding together with Content-Length, Content-Length values that differ, a
 *   transfer coding other than a final `chunked`, and Transfer-Encoding in HTTP/1.0 are 400 or
 *   501, never guessed at;
 * - lines end with CRLF only; a field line folded (obs-fold), with space before its colon, or
 *   with a control character in its value is a 400; so is an HTTP/1.1 request without exactly
 *   one Host;
 * - bounds: the head at most `maxHeadBytes` (16 KiB, node's default) and 100 fields (431), the
 *   request line 8 KiB (414), the body `maxBodyBytes` (413), a chunk-size line 4 KiB.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { addField, fieldKey, newFieldSet } from './http1-fields.js';

export interface Http1Request {
  readonly method: string;
  /** The path and query (origin-form; an absolute-form target is reduced to its path). */
  readonly target: string;
  /** 1 for HTTP/1.1, 0 for HTTP/1.0. */
  readonly minorVersion: number;
  /** Lower-case names; repeated fields joined with ", ", as node does. */
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** Whether the client keeps the connection open for another request. */
  readonly keepAlive: boolean;
}

/** A request the front refuses, with the HTTP status to answer before closing the connection. */
export class Http1RequestError extends Error {
  constructor(
    readonly status: 400 | 408 | 413 | 414 | 417 | 431 | 501 | 503 | 505,
    message: string,
  ) {
    super(message);
  }
}

export interface Http1RequestParserOptions {
  readonly maxBodyBytes: number;
  /** Request line and fields together; default 16 KiB. */
  readonly maxHeadBytes?: number;
  /** Field lines at most; default 100. */
  readonly maxFields?: number;
}

const CRLF_CRLF = Buffer.from('\r\n\r\n');
const EMPTY = Buffer.alloc(0);
const MAX_REQUEST_LINE = 8 * 1024;
const MAX_CHUNK_LINE = 4 * 1024;
const REQUEST_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([\x21-\x7e]+) HTTP\/(\d)\.(\d)$/;
/** field-value (9110 5.5): visible characters, obs-text, space and tab; nothing else. */
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
const ABSOLUTE = /^https?:\/\/[^/?#]+(\/[^#]*)?$/i;
const CHUNK_SIZE = /^([0-9a-fA-F]{1,12})(?:[ \t]*;[\t\x20-\x7e\x80-\xff]*)?$/;

type Framing = { readonly kind: 'length'; readonly length: number } | { readonly kind: 'chunked' };

/**
 * Feed it what the socket reads; `push` returns a request once it is whole. The parser then
 * starts on the next one: call `push()` with no bytes to parse what was already read after it.
 *
 * @example
 * const parser = new Http1RequestParser({ maxBodyBytes: 64 << 20 });
 * socket.on('data', (chunk) => { const request = parser.push(chunk); if (request) handle(request); });
 */
export class Http1RequestParser {
  private readonly maxHead: number;
  private readonly maxFields: number;
  /** Bytes read and not parsed yet: a head still incomplete, or what followed a request. */
  private pending: Buffer = EMPTY;
  /** Bytes of `pending` already searched for the end of the head. */
  private scanned = 0;
  private method = '';
  private target = '';
  private minorVersion = 1;
  private headers: IncomingHttpHeaders = {};
  private keepAlive = true;
  private continueWanted = false;
  private framing: Framing | undefined;
  private body: Buffer | undefined;
  private bodyParts: Buffer[] = [];
  private size = 0;
  /** Chunked: bytes left of the current chunk's data, or -1 while reading a size line. */
  private chunkLeft = -1;
  /** Chunked: a partial size, CRLF or trailer line. */
  private lineCarry = '';
  private afterData = false;
  private trailers = false;
  private trailerBytes = 0;

  constructor(private readonly options: Http1RequestParserOptions) {
    this.maxHead = options.maxHeadBytes ?? 16 * 1024;
    this.maxFields = options.maxFields ?? 100;
  }

  /** Whether part of a request has been read: false between requests. */
  get started(): boolean {
    return this.framing !== undefined || this.pending.byteLength > 0;
  }

  /** Whether the head is read and the body is not yet whole. */
  get readingBody(): boolean {
    return this.framing !== undefined;
  }

  /**
   * True once, after a head that asked for `Expect: 100-continue`: the front answers
   * `100 Continue` (or refuses at once) before the client sends its body.
   */
  takeContinue(): boolean {
    const wanted = this.continueWanted;
    this.continueWanted = false;
    return wanted;
  }

  /**
   * @returns the whole request, or undefined while more bytes are needed.
   * @throws Http1RequestError for a malformed or oversized request; the parser is then spent.
   */
  push(chunk: Buffer = EMPTY): Http1Request | undefined {
    let data: Buffer;
    if (this.framing === undefined) {
      let buffered =
        this.pending.byteLength === 0
          ? chunk
          : chunk.byteLength === 0
            ? this.pending
            : Buffer.concat([this.pending, chunk]);
      // An empty line before a request line is ignored (9112 2.2).
      let skip = 0;
      while (buffered[skip] === 13 && buffered[skip + 1] === 10) skip += 2;
      if (skip > 0) buffered = buffered.subarray(skip);
      // The end of the head may straddle two reads: look from 3 bytes before the new ones.
      const end = buffered.indexOf(CRLF_CRLF, Math.max(0, this.scanned - skip - 3));
      if (end < 0 || end > this.maxHead) {
        if (buffered.byteLength > this.maxHead || end > this.maxHead) this.headTooLarge(buffered);
        this.pending = buffered;
        this.scanned = buffered.byteLength;
        return undefined;
      }
      this.readHead(buffered.toString('latin1', 0, end));
      data = buffered.subarray(end + 4);
      this.pending = EMPTY;
      this.scanned = 0;
      // Body bytes already here: the client did not wait for 100 Continue.
      this.continueWanted &&= data.byteLength === 0;
    } else {
      data = chunk;
    }
    return this.framing === undefined ? this.finishWithRest(data) : this.readBody(data);
  }

  private headTooLarge(buffered: Buffer): never {
    const lineEnd = buffered.indexOf(10);
    if ((lineEnd < 0 ? buffered.byteLength : lineEnd) > MAX_REQUEST_LINE) {
      throw new Http1RequestError(414, `the request line is longer than ${MAX_REQUEST_LINE} bytes`);
    }
    throw new Http1RequestError(431, `the request head is larger than ${this.maxHead} bytes`);
  }

  private readHead(head: string): void {
    const lines = head.split('\r\n');
    const requestLine = lines[0] as string;
    if (requestLine.length > MAX_REQUEST_LINE) {
      throw new Http1RequestError(414, `the request line is longer than ${MAX_REQUEST_LINE} bytes`);
    }
    const match = REQUEST_LINE.exec(requestLine);
    if (match === null) throw new Http1RequestError(400, 'the request line is not "METHOD TARGET HTTP/1.x"');
    if (match[3] !== '1')
      throw new Http1RequestError(505, `HTTP/${match[3]}.${match[4]} is not supported; use HTTP/1.1`);
    this.method = match[1] as string;
    this.target = targetPath(this.method, match[2] as string);
    this.minorVersion = match[4] === '0' ? 0 : 1;
    if (lines.length - 1 > this.maxFields) {
      throw new Http1RequestError(431, `the request has more than ${this.maxFields} header fields`);
    }
    const headers = newFieldSet();
    let contentLength: number | undefined;
    let transferEncoding: string | undefined;
    let hosts = 0;
    let connection = '';
    let expect: string | undefined;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i] as string;
      const colon = line.indexOf(':');
      const name = colon > 0 ? line.slice(0, colon) : '';
      // Also refuses a folded line (it starts with space) and space before the colon (9112 5.1).
      const key = fieldKey(name);
      if (key === undefined) throw new Http1RequestError(400, `header line ${i} is not "name: value"`);
      const value = trimOws(line, colon + 1);
      if (BAD_VALUE.test(value))
        throw new Http1RequestError(400, `header "${name}" has a control character in its value`);
      switch (key) {
        case 'content-length':
          if (!/^\d{1,15}$/.test(value) || (contentLength !== undefined && contentLength !== Number(value))) {
            throw new Http1RequestError(400, 'content-length is not one non-negative integer');
          }
          contentLength = Number(value);
          break;
        case 'transfer-encoding':
          transferEncoding = transferEncoding === undefined ? value : `${transferEncoding}, ${value}`;
          break;
        case 'host':
          hosts++;
          break;
        case 'connection':
          connection = `${connection},${value.toLowerCase()}`;
          break;
        case 'expect':
          expect = value.toLowerCase();
          break;
      }
      addField(headers, key, value);
    }
    if (this.minorVersion === 1 && hosts !== 1) {
      throw new Http1RequestError(400, 'an HTTP/1.1 request must carry exactly one Host header');
    }
    this.headers = headers;
    this.keepAlive =
      this.minorVersion === 1 ? !hasToken(connection, 'close') : hasToken(connection, 'keep-alive');
    if (expect !== undefined) {
      if (expect !== '100-continue') throw new Http1RequestError(417, `Expect "${expect}" is not supported`);
      this.continueWanted = this.minorVersion === 1;
    }
    if (transferEncoding !== undefined) {
      if (this.minorVersion === 0) throw new Http1RequestError(400, 'HTTP/1.0 has no transfer-encoding');
      if (contentLength !== undefined) {
        throw new Http1RequestError(400, 'a request may not carry both transfer-encoding and content-length');
      }
      if (transferEncoding.toLowerCase() !== 'chunked') {
        throw new Http1RequestError(
          501,
          `transfer-encoding "${transferEncoding}" is not supported; use chunked`,
        );
      }
      this.framing = { kind: 'chunked' };
    } else if (contentLength !== undefined && contentLength > 0) {
      if (contentLength > this.options.maxBodyBytes) throw this.tooLarge();
      this.framing = { kind: 'length', length: contentLength };
    } else {
      this.framing = undefined;
      this.continueWanted = false;
    }
  }

  private readBody(data: Buffer): Http1Request | undefined {
    const framing = this.framing as Framing;
    if (framing.kind === 'chunked') return this.readChunks(data);
    const left = framing.length - this.size;
    if (this.size === 0 && data.byteLength >= left) {
      // The whole body in one read: a view of it, no copy.
      this.body = data.subarray(0, left);
      this.size = left;
      return this.finishWithRest(data.subarray(left));
    }
    const take = Math.min(left, data.byteLength);
    if (take > 0) {
      this.body ??= Buffer.allocUnsafe(framing.length);
      data.copy(this.body, this.size, 0, take);
      this.size += take;
    }
    return this.size === framing.length ? this.finishWithRest(data.subarray(take)) : undefined;
  }

  private readChunks(data: Buffer): Http1Request | undefined {
    let at = 0;
    while (at < data.byteLength) {
      if (this.chunkLeft > 0) {
        const take = Math.min(this.chunkLeft, data.byteLength - at);
        this.bodyParts.push(data.subarray(at, at + take));
        this.chunkLeft -= take;
        at += take;
        if (this.chunkLeft === 0) this.afterData = true;
        continue;
      }
      const newline = data.indexOf(10, at);
      if (newline < 0) {
        this.lineCarry += data.toString('latin1', at);
        if (this.lineCarry.length > MAX_CHUNK_LINE)
          throw new Http1RequestError(400, 'a chunk line is too long');
        return undefined;
      }
      const raw = this.lineCarry + data.toString('latin1', at, newline);
      this.lineCarry = '';
      at = newline + 1;
      if (raw.length > MAX_CHUNK_LINE) throw new Http1RequestError(400, 'a chunk line is too long');
      if (!raw.endsWith('\r')) throw new Http1RequestError(400, 'a chunk line does not end with CRLF');
      const line = raw.slice(0, -1);
      if (this.afterData) {
        if (line !== '') throw new Http1RequestError(400, 'a chunk does not end with CRLF');
        this.afterData = false;
        continue;
      }
      if (this.trailers) {
        if (line === '') return this.finishWithRest(data.subarray(at));
        // Trailer fields are read past and dropped; they count against the head's bound.
        this.trailerBytes += raw.length + 1;
        if (this.trailerBytes > this.maxHead)
          throw new Http1RequestError(431, 'the request trailers are too large');
        continue;
      }
      const size = CHUNK_SIZE.exec(line);
      if (size?.[1] === undefined) throw new Http1RequestError(400, 'a chunk has an invalid size line');
      const length = parseInt(size[1], 16);
      if (length === 0) this.trailers = true;
      else {
        this.size += length;
        if (this.size > this.options.maxBodyBytes) throw this.tooLarge();
        this.chunkLeft = length;
      }
    }
    return undefined;
  }

  /** The request is whole; `rest` is what the client sent after it. */
  private finishWithRest(rest: Buffer): Http1Request {
    this.pending = rest;
    this.scanned = 0;
    return this.finish();
  }

  private finish(): Http1Request {
    const parts = this.bodyParts;
    const body = this.body ?? (parts.length === 0 ? EMPTY : (parts[0] ?? EMPTY));
    const joined = parts.length > 1 ? Buffer.concat(parts, this.size) : body;
    const request: Http1Request = {
      method: this.method,
      target: this.target,
      minorVersion: this.minorVersion,
      headers: this.headers,
      body: joined,
      keepAlive: this.keepAlive,
    };
    this.framing = undefined;
    this.body = undefined;
    this.bodyParts = [];
    this.size = 0;
    this.chunkLeft = -1;
    this.afterData = false;
    this.trailers = false;
    this.trailerBytes = 0;
    this.headers = {};
    return request;
  }

  private tooLarge(): Http1RequestError {
    return new Http1RequestError(413, `the request body is larger than ${this.options.maxBodyBytes} bytes`);
  }
}

/** The origin-form path of a request target (9112 3.2), or a 400. */
function targetPath(method: string, target: string): string {
  if (target.startsWith('/')) return target;
  if (target === '*' && method === 'OPTIONS') return target;
  const absolute = ABSOLUTE.exec(target);
  if (absolute !== null) return absolute[1] ?? '/';
  throw new Http1RequestError(400, 'the request target must be a path starting with "/"');
}

/** `line` from `from` without the optional whitespace (space, tab) around a field value. */
function trimOws(line: string, from: number): string {
  let start = from;
  let end = line.length;
  while (start < end && (line.charCodeAt(start) === 32 || line.charCodeAt(start) === 9)) start++;
  while (end > start && (line.charCodeAt(end - 1) === 32 || line.charCodeAt(end - 1) === 9)) end--;
  return line.slice(start, end);
}

function hasToken(list: string, token: string): boolean {
  return list.split(',').some((item) => item.trim() === token);
}
