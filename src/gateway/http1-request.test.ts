import { describe, expect, it } from 'vitest';
import { Http1RequestError, Http1RequestParser, type Http1Request } from './http1-request.js';

const MAX = 1 << 20;

function parser(maxBodyBytes = MAX): Http1RequestParser {
  return new Http1RequestParser({ maxBodyBytes });
}

function parse(raw: string | Buffer, maxBodyBytes = MAX): Http1Request {
  const request = parser(maxBodyBytes).push(typeof raw === 'string' ? Buffer.from(raw, 'latin1') : raw);
  if (request === undefined) throw new Error('incomplete');
  return request;
}

/** The status a request is refused with. */
function refusal(raw: string, maxBodyBytes = MAX): number {
  try {
    parse(raw, maxBodyBytes);
  } catch (error) {
    if (error instanceof Http1RequestError) return error.status;
    throw error;
  }
  throw new Error('accepted');
}

/** Feeds `raw` one piece at a time, each piece copied and the source overwritten after. */
function parsePieces(raw: Buffer, size: number): Http1Request[] {
  const p = parser();
  const got: Http1Request[] = [];
  for (let at = 0; at < raw.byteLength; at += size) {
    const piece = Buffer.from(raw.subarray(at, at + size));
    for (let request = p.push(piece); request !== undefined; request = p.push()) got.push(request);
  }
  return got;
}

const POST =
  'POST /v2/models/mlp/infer HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nContent-Length: 11\r\nX-Request-Id: r1\r\n\r\n{"ok":true}';
const CHUNKED =
  'POST /v2/models/mlp/infer?x=1 HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n4;ext=1\r\n{"ok\r\n7\r\n":true}\r\n0\r\nX-Trailer: t\r\n\r\n';

/** A small deterministic generator, so that a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state / 0x7fffffff;
  };
}

describe('Http1RequestParser', () => {
  it('throws nothing but Http1RequestError on mutated requests, and never returns a body over the limit', () => {
    const next = random(14);
    const seeds = [POST, CHUNKED, 'GET / HTTP/1.0\r\n\r\n'].map((raw) => Buffer.from(raw, 'latin1'));
    const alphabet = Buffer.from('\r\n :;,0123456789abcdefABCDEF\t\u0000\u007f\u00ff-chunked');
    for (let i = 0; i < 5000; i++) {
      const raw = Buffer.from(seeds[i % seeds.length] as Buffer);
      for (let m = 0; m < 1 + Math.floor(next() * 4); m++) {
        raw[Math.floor(next() * raw.byteLength)] = alphabet[
          Math.floor(next() * alphabet.byteLength)
        ] as number;
      }
      const p = new Http1RequestParser({ maxBodyBytes: 16 });
      try {
        for (let at = 0; at < raw.byteLength;) {
          const end = at + 1 + Math.floor(next() * 20);
          for (let request = p.push(raw.subarray(at, end)); request !== undefined; request = p.push()) {
            expect(request.body.byteLength).toBeLessThanOrEqual(16);
          }
          at = end;
        }
      } catch (error) {
        expect(error, raw.toString('latin1')).toBeInstanceOf(Http1RequestError);
      }
    }
  });

  it('reads a request framed by content-length, its body a view of the read', () => {
    const raw = Buffer.from(POST);
    const request = parse(raw);
    expect(request).toMatchObject({
      method: 'POST',
      target: '/v2/models/mlp/infer',
      minorVersion: 1,
      keepAlive: true,
    });
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers['x-request-id']).toBe('r1');
    expect(request.body.toString()).toBe('{"ok":true}');
    expect(request.body.buffer).toBe(raw.buffer);
  });

  it('reads a chunked body, with extensions and trailers read past', () => {
    const request = parse(CHUNKED);
    expect(request.target).toBe('/v2/models/mlp/infer?x=1');
    expect(request.body.toString()).toBe('{"ok":true}');
    expect(request.headers['x-trailer']).toBeUndefined();
  });

  it('gives the same requests however the bytes are split, pipelined ones included', () => {
    const raw = Buffer.from(`\r\n${POST}GET /v2/health/ready HTTP/1.1\r\nhost: gw\r\n\r\n${CHUNKED}`);
    for (let size = 1; size <= raw.byteLength; size++) {
      const got = parsePieces(raw, size);
      expect(
        got.map((r) => [r.method, r.target, r.body.toString()]),
        `pieces of ${size}`,
      ).toEqual([
        ['POST', '/v2/models/mlp/infer', '{"ok":true}'],
        ['GET', '/v2/health/ready', ''],
        ['POST', '/v2/models/mlp/infer?x=1', '{"ok":true}'],
      ]);
    }
  });

  it('keeps a pipelined request for the next call, and says when a request has begun', () => {
    const p = parser();
    expect(p.started).toBe(false);
    const first = p.push(Buffer.from(`${POST}GET /a HTTP/1.1\r\nHost: gw\r\n`));
    expect(first?.body.toString()).toBe('{"ok":true}');
    expect(p.started).toBe(true);
    expect(p.push()).toBeUndefined();
    expect(p.push(Buffer.from('\r\n'))?.target).toBe('/a');
    expect(p.started).toBe(false);
  });

  it('follows HTTP/1.0 and Connection for keep-alive', () => {
    expect(parse('GET / HTTP/1.0\r\n\r\n').keepAlive).toBe(false);
    expect(parse('GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n').keepAlive).toBe(true);
    expect(parse('GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n').keepAlive).toBe(false);
    expect(parse('GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\n\r\n').keepAlive).toBe(
      true,
    );
  });

  it('reduces an absolute-form target to its path and takes * for OPTIONS', () => {
    expect(parse('GET http://gw:8000/v2?x HTTP/1.1\r\nHost: gw\r\n\r\n').target).toBe('/v2?x');
    expect(parse('GET http://gw HTTP/1.1\r\nHost: gw\r\n\r\n').target).toBe('/');
    expect(parse('OPTIONS * HTTP/1.1\r\nHost: gw\r\n\r\n').target).toBe('*');
  });

  it('keeps field values as sent, without the whitespace around them, and joins repeated fields', () => {
    const request = parse('GET / HTTP/1.1\r\nHost: gw\r\nX-A:  one \t\r\nx-a: two\r\nX-Empty:\r\n\r\n');
    expect(request.headers['x-a']).toBe('one, two');
    expect(request.headers['x-empty']).toBe('');
  });

  it('takes __proto__ and constructor as field names like any other', () => {
    const request = parse('GET / HTTP/1.1\r\nHost: gw\r\n__proto__: x\r\nconstructor: y\r\n\r\n');
    expect(request.headers.__proto__).toBe('x');
    expect(request.headers.constructor).toBe('y');
    // Nothing is inherited: no Object.prototype behind the fields.
    expect('toString' in request.headers).toBe(false);
    expect(parse('GET / HTTP/1.1\r\nHost: gw\r\n\r\n').headers.constructor).toBeUndefined();
  });

  it('asks for 100 Continue only when the client waits for it', () => {
    const waiting = parser();
    expect(
      waiting.push(
        Buffer.from('POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n'),
      ),
    ).toBeUndefined();
    expect(waiting.takeContinue()).toBe(true);
    expect(waiting.takeContinue()).toBe(false);
    expect(waiting.push(Buffer.from('ok'))?.body.toString()).toBe('ok');
    const eager = parser();
    expect(
      eager.push(
        Buffer.from('POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\nok'),
      ),
    ).toBeUndefined();
    expect(eager.takeContinue()).toBe(false);
    const bodiless = parser();
    expect(
      bodiless.push(Buffer.from('GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n')),
    ).toBeDefined();
    expect(bodiless.takeContinue()).toBe(false);
  });

  describe('refuses what request smuggling needs', () => {
    it.each([
      [
        'transfer-encoding with content-length',
        'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
        400,
      ],
      [
        'content-length values that differ',
        'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd',
        400,
      ],
      ['a content-length list', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\n\r\nabc', 400],
      ['a signed content-length', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +3\r\n\r\nabc', 400],
      [
        'a coding other than chunked',
        'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n',
        501,
      ],
      ['chunked not last', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n', 501],
      [
        'transfer-encoding in HTTP/1.0',
        'POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
        400,
      ],
      ['space before a colon', 'GET / HTTP/1.1\r\nHost: a\r\nContent-Length : 0\r\n\r\n', 400],
      ['a folded line', 'GET / HTTP/1.1\r\nHost: a\r\nX-A: one\r\n two\r\n\r\n', 400],
      ['a bare LF in a value', 'GET / HTTP/1.1\r\nHost: a\r\nX-A: one\ntwo\r\n\r\n', 400],
      ['a NUL in a value', 'GET / HTTP/1.1\r\nHost: a\r\nX-A: one\u0000two\r\n\r\n', 400],
      ['a bare CR in a value', 'GET / HTTP/1.1\r\nHost: a\r\nX-A: one\rtwo\r\n\r\n', 400],
      ['no Host in HTTP/1.1', 'GET / HTTP/1.1\r\n\r\n', 400],
      ['two Hosts', 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 400],
      [
        'a chunk size that is not hex',
        'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n\r\n',
        400,
      ],
      [
        'a chunk line without CR',
        'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\nok\r\n0\r\n\r\n',
        400,
      ],
      [
        'chunk data longer than its size',
        'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokk\r\n0\r\n\r\n',
        400,
      ],
    ])('%s', (_name, raw, status) => {
      expect(refusal(raw)).toBe(status);
    });
  });

  describe('refuses a malformed request line', () => {
    it.each([
      ['no version', 'GET /\r\n\r\n', 400],
      ['two spaces', 'GET  / HTTP/1.1\r\nHost: a\r\n\r\n', 400],
      ['a lower-case version', 'GET / http/1.1\r\nHost: a\r\n\r\n', 400],
      ['a space in the target', 'GET /a b HTTP/1.1\r\nHost: a\r\n\r\n', 400],
      ['a target that is not a path', 'GET v2/health HTTP/1.1\r\nHost: a\r\n\r\n', 400],
      ['an authority-form target', 'CONNECT gw:443 HTTP/1.1\r\nHost: gw\r\n\r\n', 400],
      ['a method that is not a token', 'G(T / HTTP/1.1\r\nHost: a\r\n\r\n', 400],
      ['HTTP/2', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 505],
      ['an Expect other than 100-continue', 'GET / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n', 417],
    ])('%s', (_name, raw, status) => {
      expect(refusal(raw)).toBe(status);
    });
  });

  describe('bounds every part', () => {
    it('a head over 16 KiB, even before it ends', () => {
      const p = parser();
      expect(p.push(Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n'))).toBeUndefined();
      expect(() => p.push(Buffer.from(`X-A: ${'a'.repeat(17 * 1024)}`))).toThrow(
        expect.objectContaining({ status: 431 }),
      );
    });

    it('a request line over 8 KiB', () => {
      expect(refusal(`GET /${'a'.repeat(9 * 1024)} HTTP/1.1\r\nHost: a\r\n\r\n`)).toBe(414);
      expect(() => parser().push(Buffer.from(`GET /${'a'.repeat(17 * 1024)}`))).toThrow(
        expect.objectContaining({ status: 414 }),
      );
    });

    it('more than 100 fields', () => {
      const fields = Array.from({ length: 101 }, (_, i) => `X-${i}: v\r\n`).join('');
      expect(refusal(`GET / HTTP/1.1\r\nHost: a\r\n${fields}\r\n`)).toBe(431);
    });

    it('a body over the limit, by its content-length or by its chunks', () => {
      expect(refusal('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n', 10)).toBe(413);
      const chunked =
        'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n6\r\nabcdef\r\n0\r\n\r\n';
      expect(refusal(chunked, 10)).toBe(413);
      expect(parse(chunked, 12).body.toString()).toBe('abcdefabcdef');
    });

    it('a chunk line or trailers that never end', () => {
      const p = parser();
      p.push(Buffer.from('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n'));
      expect(() => p.push(Buffer.from(`1;${'e'.repeat(5000)}`))).toThrow(
        expect.objectContaining({ status: 400 }),
      );
      const trailers = parser();
      trailers.push(Buffer.from('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n'));
      expect(() => {
        for (let i = 0; i < 1000; i++) trailers.push(Buffer.from(`X-T: ${'t'.repeat(100)}\r\n`));
      }).toThrow(expect.objectContaining({ status: 431 }));
    });
  });
});
