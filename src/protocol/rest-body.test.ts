import { describe, expect, it } from 'vitest';

import {
  INFERENCE_HEADER_CONTENT_LENGTH,
  parseHeaderLength,
  parseJsonBytes,
  splitRestBody,
} from './rest-body.js';
import { thrownBy } from '../../test/helpers/errors.js';

const utf8 = new TextEncoder();

describe('parseHeaderLength', () => {
  it('names the header in lower case, as Node presents headers', () => {
    expect(INFERENCE_HEADER_CONTENT_LENGTH).toBe('inference-header-content-length');
  });

  it('is undefined when the header is absent', () => {
    expect(parseHeaderLength(undefined, 10)).toBeUndefined();
  });

  it('reads a length within the body, trimming whitespace', () => {
    expect(parseHeaderLength('5', 10)).toBe(5);
    expect(parseHeaderLength(' 7\t', 10)).toBe(7);
    expect(parseHeaderLength('0', 10)).toBe(0);
    expect(parseHeaderLength('10', 10)).toBe(10);
    expect(parseHeaderLength('007', 10)).toBe(7);
  });

  it.each(['abc', '-1', '1.5', '', ' ', '1e3', '0x10', '+5', '5 5', '9999999999999999'])(
    'refuses %j',
    (value) => {
      const error = thrownBy(() => parseHeaderLength(value, 1e20));
      expect(error.code).toBe('BERTH_ERR_PROTOCOL_INVALID_BINARY');
      expect(error.message).toBe(
        `Inference-Header-Content-Length must be a non-negative integer, got ${JSON.stringify(value)}`,
      );
    },
  );

  it('refuses a length larger than the body', () => {
    const error = thrownBy(() => parseHeaderLength('11', 10));
    expect(error.code).toBe('BERTH_ERR_PROTOCOL_INVALID_BINARY');
    expect(error.message).toBe('Inference-Header-Content-Length is 11 but the body has only 10 bytes');
  });
});

describe('parseJsonBytes', () => {
  it('parses UTF-8 JSON', () => {
    expect(parseJsonBytes(utf8.encode('{"name":"héllo","n":[1,2]}'), 'request body')).toEqual({
      name: 'héllo',
      n: [1, 2],
    });
  });

  it('refuses invalid UTF-8 rather than replacing it', () => {
    const error = thrownBy(() => parseJsonBytes(Uint8Array.from([0x22, 0xff, 0x22]), 'request body'));
    expect(error.code).toBe('BERTH_ERR_PROTOCOL_INVALID_JSON');
    expect(error.message).toBe('request body is not valid UTF-8');
  });

  it('refuses invalid JSON with the parser detail', () => {
    for (const text of ['{"a":', '', "{'a':1}", '[1,]', 'NaN']) {
      const error = thrownBy(() => parseJsonBytes(utf8.encode(text), 'request body'));
      expect(error.code).toBe('BERTH_ERR_PROTOCOL_INVALID_JSON');
      expect(error.message).toMatch(/^request body is not valid JSON: .+/);
    }
  });
});

describe('splitRestBody', () => {
  it('parses the whole body as JSON when there is no header length', () => {
    const body = utf8.encode('{"inputs":[]}');
    const { header, binary } = splitRestBody(body, undefined);
    expect(header).toEqual({ inputs: [] });
    expect(binary.byteLength).toBe(0);
  });

  it('splits the JSON header from the binary section without copying it', () => {
    const json = utf8.encode('{"a":1}');
    const body = new Uint8Array(json.length + 3);
    body.set(json);
    body.set([1, 2, 3], json.length);
    const { header, binary } = splitRestBody(body, json.length);
    expect(header).toEqual({ a: 1 });
    expect(Array.from(binary)).toEqual([1, 2, 3]);
    expect(binary.buffer).toBe(body.buffer);
  });

  it('reports a header length that cuts the JSON short as invalid JSON', () => {
    const body = utf8.encode('{"a":1}');
    const error = thrownBy(() => splitRestBody(body, 4));
    expect(error.code).toBe('BERTH_ERR_PROTOCOL_INVALID_JSON');
  });
});
