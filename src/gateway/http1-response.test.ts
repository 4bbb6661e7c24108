import { describe, expect, it } from 'vitest';
import { Http1ResponseError, Http1ResponseParser, type Http1Response } from './http1-response.js';

const MAX = 1 << 20;

function parse(raw: string | Buffer, options: { head?: boolean; maxBodyBytes?: number } = {}): Http1Response {
  const parser = new Http1ResponseParser({ maxBodyBytes: options.maxBodyBytes ?? MAX, ...options });
  const response = parser.push(typeof raw === 'string' ? Buffer.from(raw, 'latin1') : raw);
  if (response === undefined) throw new Error('incomplete');
  return response;
}

/** Feeds `raw` in pieces cut at `cuts` and returns what the parser gave back at the last piece. */
function parseInPieces(raw: Buffer, cuts: number[]): { response: Http1Response | undefined; early: boolean } {
  const parser = new Http1ResponseParser({ maxBodyBytes: MAX });
  const points = [...new Set([0, ...cuts.filter((c) => c > 0 && c < raw.byteLength), raw.byteLength])].sort(
    (a, b) => a - b,
  );
  let response: Http1Response | undefined;
  let early = false;
  for (let i = 1; i < points.length; i++) {
    const got = parser.push(Buffer.from(raw.subarray(points[i - 1], points[i])));
    if (got !== undefined) {
      if (i !== points.length - 1) early = true;
      response = got;
    }
  }
  return { response, early };
}

/** A small deterministic generator, so that a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state / 0x7fffffff;
  };
}

describe('Http1ResponseParser', () => {
  it('reads a response framed by content-length, keeping the body a view of the read', () => {
    const raw = Buffer.from(
      'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\nX-Request-Id: r1\r\n\r\n{"ok":true}',
    );
    const response = parse(raw);
    expect(response.status).toBe(200);
    expect(response.headers['content-type']).toBe('application/json');
    expect(response.headers['x-request-id']).toBe('r1');
    expect(response.body.toString()).toBe('{"ok":true}');
    expect(response.body.buffer).toBe(raw.buffer);
    expect(response.keepAlive).toBe(true);
    expect(response.keepAliveMs).toBeUndefined();
  });

  it('copies what it keeps when the read buffer is reused (transient), for every framing', () => {
    const raws = [
      'HTTP/1.1 200 OK\r\ncontent-length: 26\r\n\r\nabcdefghijklmnopqrstuvwxyz',
      'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n d\r\nabcdefghijklm\r\nd\r\nnopqrstuvwxyz\r\n0\r\n\r\n'.replace(
        ' d',
        'd',
      ),
      'HTTP/1.1 200 OK\r\nconnection: close\r\n\r\nabcdefghijklmnopqrstuvwxyz',
    ];
    for (const raw of raws) {
      for (const size of [1, 7, 40, raw.length]) {
        const parser = new Http1ResponseParser({ maxBodyBytes: MAX, transient: true });
        const shared = Buffer.alloc(raw.length);
        let response: Http1Response | undefined;
        for (let at = 0; at < raw.length; at += size) {
          const piece = shared.subarray(0, Math.min(size, raw.length - at));
          piece.write(raw.slice(at, at + size), 'latin1');
          response ??= parser.push(piece);
          shared.fill(0x21);
        }
        response ??= parser.end();
        expect(response.body.toString(), `${raw.slice(0, 40)} in pieces of ${size}`).toBe(
          'abcdefghijklmnopqrstuvwxyz',
        );
      }
    }
  });

  it('gives the same response however the bytes are split, for every framing', () => {
    const body = Buffer.from(Array.from({ length: 300 }, (_, i) => i % 251));
    const responses = [
      Buffer.concat([
        Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 300\r\nkeep-alive: timeout=5\r\n\r\n'),
        body,
      ]),
      Buffer.concat([
        Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n64;ext=1\r\n'),
        body.subarray(0, 100),
        Buffer.from('\r\nc8\r\n'),
        body.subarray(100),
        Buffer.from('\r\n0\r\nx-trailer: y\r\n\r\n'),
      ]),
      Buffer.concat([
        Buffer.from('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 300\r\n\r\n'),
        body,
      ]),
    ];
    const next = random(42);
    for (const raw of responses) {
      for (let trial = 0; trial < 200; trial++) {
        const count = 1 + Math.floor(next() * 8);
        const cuts = Array.from({ length: count }, () => Math.floor(next() * raw.byteLength));
        const { response, early } = parseInPieces(raw, cuts);
        expect(early).toBe(false);
        expect(response?.status).toBe(200);
        expect(response?.body.equals(body)).toBe(true);
      }
      // One byte at a time: every boundary is a cut.
      const { response } = parseInPieces(
        raw,
        Array.from({ length: raw.byteLength }, (_, i) => i),
      );
      expect(response?.body.equals(body)).toBe(true);
    }
  });

  it('reads a body framed by the connection closing, and says the connection is done', () => {
    const parser = new Http1ResponseParser({ maxBodyBytes: MAX });
    expect(
      parser.push(Buffer.from('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nhello ')),
    ).toBeUndefined();
    expect(parser.push(Buffer.from('world'))).toBeUndefined();
    const response = parser.end();
    expect(response.body.toString()).toBe('hello world');
    expect(response.keepAlive).toBe(false);
  });

  it('reads no body for HEAD, 204 and 304, whatever content-length says', () => {
    expect(parse('HTTP/1.1 200 OK\r\ncontent-length: 50\r\n\r\n', { head: true }).body.byteLength).toBe(0);
    expect(parse('HTTP/1.1 204 No Content\r\n\r\n').body.byteLength).toBe(0);
    expect(parse('HTTP/1.1 304 Not Modified\r\ncontent-length: 9\r\n\r\n').keepAlive).toBe(true);
  });

  it('knows when the connection may be reused, and the server keep-alive hint', () => {
    expect(parse('HTTP/1.1 200 OK\r\nConnection: close\r\ncontent-length: 0\r\n\r\n').keepAlive).toBe(false);
    expect(parse('HTTP/1.0 200 OK\r\ncontent-length: 0\r\n\r\n').keepAlive).toBe(false);
    expect(parse('HTTP/1.0 200 OK\r\nconnection: Keep-Alive\r\ncontent-length: 0\r\n\r\n').keepAlive).toBe(
      true,
    );
    expect(
      parse('HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5, max=100\r\ncontent-length: 0\r\n\r\n').keepAliveMs,
    ).toBe(5000);
    // Both framings at once: the chunks frame it, and the connection is not trusted again.
    const both = parse(
      'HTTP/1.1 200 OK\r\ncontent-length: 99\r\ntransfer-encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n',
    );
    expect(both.body.toString()).toBe('a');
    expect(both.keepAlive).toBe(false);
  });

  it('joins repeated fields as node does, and keeps set-cookie a list', () => {
    const response = parse(
      'HTTP/1.1 200 OK\r\nVary: a\r\nvary: b\r\nSet-Cookie: x=1\r\nset-cookie: y=2\r\nContent-Length: 0\r\n\r\n',
    );
    expect(response.headers.vary).toBe('a, b');
    expect(response.headers['set-cookie']).toEqual(['x=1', 'y=2']);
  });

  it('keeps a header named __proto__ as a plain field', () => {
    const response = parse('HTTP/1.1 200 OK\r\n__proto__: x\r\ncontent-length: 0\r\n\r\n');
    expect(Object.keys(response.headers)).toContain('__proto__');
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it.each([
    ['no status line', 'HTTP/2 200\r\n\r\n', 'no valid status line'],
    ['a status that is not three digits', 'HTTP/1.1 20 OK\r\n\r\n', 'no valid status line'],
    ['a field without a colon', 'HTTP/1.1 200 OK\r\nbroken\r\n\r\n', 'malformed header field'],
    ['a folded field', 'HTTP/1.1 200 OK\r\na: 1\r\n  2\r\n\r\n', 'malformed header field'],
    ['a negative length', 'HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n', 'invalid content-length'],
    [
      'two lengths',
      'HTTP/1.1 200 OK\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\nab',
      'invalid content-length',
    ],
    ['a length past the limit', 'HTTP/1.1 200 OK\r\ncontent-length: 2000000\r\n\r\n', 'larger than'],
    [
      'an unknown coding',
      'HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\n',
      'unsupported transfer-encoding',
    ],
    ['a bad chunk size', 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n', 'invalid size line'],
    ['a chunk without its CRLF', 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n1\r\nab\r\n', 'CRLF'],
    [
      'a chunk past the limit',
      'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nfffff0\r\n',
      'larger than',
    ],
    ['bytes after the body', 'HTTP/1.1 200 OK\r\ncontent-length: 1\r\n\r\nab', 'more than one response'],
    ['a protocol switch', 'HTTP/1.1 101 Switching Protocols\r\n\r\n', 'switched protocols'],
  ])('refuses %s', (_what, raw, message) => {
    expect(() => parse(raw)).toThrow(Http1ResponseError);
    expect(() => parse(raw)).toThrow(message);
  });

  it('refuses a head past its limit, even when it never ends', () => {
    const parser = new Http1ResponseParser({ maxBodyBytes: MAX, maxHeadBytes: 1024 });
    expect(parser.push(Buffer.from('HTTP/1.1 200 OK\r\n'))).toBeUndefined();
    expect(() => parser.push(Buffer.from(`x-big: ${'a'.repeat(2000)}`))).toThrow('head is larger than 1024');
  });

  it('refuses a body framed by close that grows past the limit', () => {
    const parser = new Http1ResponseParser({ maxBodyBytes: 10 });
    expect(parser.push(Buffer.from('HTTP/1.1 200 OK\r\n\r\n12345'))).toBeUndefined();
    expect(() => parser.push(Buffer.from('678901'))).toThrow('larger than 10 bytes');
  });

  it('says a response cut off by the connection closing is cut off', () => {
    const before = new Http1ResponseParser({ maxBodyBytes: MAX });
    expect(() => before.end()).toThrow('closed before a response');
    const during = new Http1ResponseParser({ maxBodyBytes: MAX });
    during.push(Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nab'));
    expect(() => during.end()).toThrow('cut off');
  });
});

describe('Http1ResponseParser on arbitrary bytes', () => {
  it('gives a response or an Http1ResponseError, never another exception, for random and mutated input', () => {
    const valid = Buffer.from(
      'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n',
    );
    const next = random(7);
    const byte = () => Math.floor(next() * 256);
    for (let trial = 0; trial < 3000; trial++) {
      let input: Buffer;
      if (trial % 3 === 0) input = Buffer.from(Array.from({ length: Math.floor(next() * 200) }, byte));
      else {
        input = Buffer.from(valid);
        for (let flips = 1 + Math.floor(next() * 4); flips > 0; flips--) {
          input[Math.floor(next() * input.byteLength)] = byte();
        }
      }
      const parser = new Http1ResponseParser({ maxBodyBytes: 1024, maxHeadBytes: 512 });
      try {
        // Fed in two pieces, then the end of the connection.
        const cut = Math.floor(next() * input.byteLength);
        if (
          parser.push(input.subarray(0, cut)) === undefined &&
          parser.push(input.subarray(cut)) === undefined
        ) {
          parser.end();
        }
      } catch (error) {
        expect(error).toBeInstanceOf(Http1ResponseError);
      }
    }
  });
});
