/**
 * The gateway's HTTP/1.1 request parser (gateway/http1-request.ts), fed the input in pieces, as
 * a socket reads it, and asked for every pipelined request in it. Its contract: a request, or an
 * Http1RequestError (answered with its status); a request's body is as long as it said.
 */
import type * as RequestParser from '../../src/gateway/http1-request.js';
import { berth, utf8, type FuzzTarget } from '../target.ts';

const parser = await berth<typeof RequestParser>('gateway/http1-request.js');

export const target: FuzzTarget = {
  name: 'http1-request',
  description: "the gateway's HTTP/1.1 request parser, fed in pieces, pipelined requests included",
  focus: ['/gateway/http1-request', '/gateway/http1-fields'],
  dictionary: [
    'GET ',
    'POST ',
    'HEAD ',
    ' HTTP/1.1\r\n',
    ' HTTP/1.0\r\n',
    '\r\n',
    '\r\n\r\n',
    'Host: a\r\n',
    'Content-Length: ',
    'Transfer-Encoding: chunked\r\n',
    'Transfer-Encoding: gzip, chunked\r\n',
    'Connection: close\r\n',
    'Expect: 100-continue\r\n',
    '0\r\n\r\n',
    'ff;ext=1\r\n',
    ': ',
    '\t',
    ' ',
    '\n',
  ],
  maxLength: 4096,
  seeds: () =>
    Promise.resolve({
      get: utf8.encode('GET /v2/health/ready HTTP/1.1\r\nHost: gw\r\n\r\n'),
      post: utf8.encode(
        'POST /v2/models/m/infer HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"inputs":1}',
      ),
      chunked: utf8.encode(
        'POST /v2/models/m/infer HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n5;x=1\r\nhello\r\n0\r\nTrailer: t\r\n\r\n',
      ),
      pipelined: utf8.encode(
        'GET /a HTTP/1.1\r\nHost: gw\r\n\r\nGET /b HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 0\r\n\r\n',
      ),
    }),
  run: (data) => {
    const requests = [];
    const reader = new parser.Http1RequestParser({ maxBodyBytes: 1024, maxHeadBytes: 2048, maxFields: 32 });
    // Pieces of 1 to 8 bytes, the size taken from the input, so a run repeats.
    let at = 0;
    while (at < data.byteLength) {
      const size = 1 + ((data[at] as number) % 8);
      let request = reader.push(Buffer.from(data.subarray(at, at + size)));
      at += size;
      while (request !== undefined) {
        requests.push(request);
        // Repeated Content-Length fields of one value are allowed (RFC 9112 6.3) and joined.
        const length = request.headers['content-length'];
        const declared = length === undefined ? request.body.byteLength : Number(length.split(',')[0]);
        if (request.body.byteLength !== declared)
          throw new Error(`the body has ${request.body.byteLength} bytes; content-length says ${declared}`);
        request = reader.push(undefined);
      }
    }
    return requests;
  },
  expected: (error) => error instanceof parser.Http1RequestError,
};
