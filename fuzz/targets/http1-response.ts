/**
 * The gateway's HTTP/1.1 response parser (gateway/http1-response.ts), which reads what a replica
 * answers: fed the input in pieces, as a socket reads it, then told the connection ended. Its
 * contract: the response, or an Http1ResponseError (the connection is then not reused).
 */
import type * as ResponseParser from '../../src/gateway/http1-response.js';
import { berth, utf8, type FuzzTarget } from '../target.ts';

const parser = await berth<typeof ResponseParser>('gateway/http1-response.js');

export const target: FuzzTarget = {
  name: 'http1-response',
  description:
    "the gateway's HTTP/1.1 response parser: status line, fields, length, chunked or close framing, 1xx",
  focus: ['/gateway/http1-response', '/gateway/http1-fields'],
  dictionary: [
    'HTTP/1.1 200 OK\r\n',
    'HTTP/1.1 100 Continue\r\n\r\n',
    'HTTP/1.0 204 \r\n',
    '\r\n',
    '\r\n\r\n',
    'Content-Length: ',
    'Transfer-Encoding: chunked\r\n',
    'Connection: close\r\n',
    'Keep-Alive: timeout=5\r\n',
    'Set-Cookie: a=1\r\n',
    '0\r\n\r\n',
    'a;x=y\r\n',
    ': ',
  ],
  maxLength: 16 * 1024,
  seeds: () =>
    Promise.resolve({
      json: utf8.encode(
        'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 15\r\nkeep-alive: timeout=5\r\n\r\n{"outputs":[]}\n',
      ),
      chunked: utf8.encode(
        'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n2;ext\r\nef\r\n0\r\nx-trailer: 1\r\n\r\n',
      ),
      continue: utf8.encode(
        'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n',
      ),
      close: utf8.encode('HTTP/1.0 200 OK\r\nConnection: close\r\n\r\nuntil the end'),
    }),
  run: (data) => {
    const reader = new parser.Http1ResponseParser({
      maxBodyBytes: 4096,
      maxHeadBytes: 2048,
      transient: true,
    });
    let at = 0;
    while (at < data.byteLength) {
      const size = 1 + ((data[at] as number) % 16) * 64;
      // The socket's buffer is reused: what the parser keeps it must have copied.
      const piece = Buffer.from(data.subarray(at, at + size));
      const response = reader.push(piece);
      piece.fill(0);
      at += size;
      if (response !== undefined) return response;
    }
    return reader.end();
  },
  expected: (error) => error instanceof parser.Http1ResponseError,
};
