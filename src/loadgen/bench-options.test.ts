import { describe, expect, it } from 'vitest';
import type { ErrorCode } from '../ground/index.js';
import { thrownBy } from '../../test/helpers/errors.js';
import {
  parseConcurrency,
  parseDataSource,
  parseHeader,
  parseShapeOption,
  parseShapes,
  parseTarget,
} from './bench-options.js';

function expectBerthError(fn: () => unknown, code: ErrorCode, message: RegExp): void {
  const error = thrownBy(fn);
  expect(error.code).toBe(code);
  expect(error.message).toMatch(message);
}

describe('parseTarget', () => {
  it('takes http(s) URLs, with a path prefix, for REST', () => {
    const rest = parseTarget('http://127.0.0.1:8000', false);
    expect(rest.protocol === 'rest' && rest.url.href).toBe('http://127.0.0.1:8000/');
    const prefixed = parseTarget('https://models.example.com/serving/', false);
    expect(prefixed.protocol === 'rest' && prefixed.url.pathname).toBe('/serving/');
  });

  it('takes host:port as http for REST', () => {
    const rest = parseTarget('localhost:8000', false);
    expect(rest.protocol === 'rest' && rest.url.href).toBe('http://localhost:8000/');
  });

  it('takes grpc:// URLs, or host:port with --grpc, for gRPC', () => {
    expect(parseTarget('grpc://127.0.0.1:8001', false)).toEqual({
      protocol: 'grpc',
      address: '127.0.0.1:8001',
    });
    expect(parseTarget('127.0.0.1:8001', true)).toEqual({ protocol: 'grpc', address: '127.0.0.1:8001' });
    expect(parseTarget('grpc://[::1]:8001/', true)).toEqual({ protocol: 'grpc', address: '[::1]:8001' });
  });

  it('refuses an http URL with --grpc, naming the gRPC port', () => {
    expectBerthError(
      () => parseTarget('http://127.0.0.1:8000', true),
      'BERTH_ERR_CLI_INVALID_OPTION',
      /--grpc-port, 8001/,
    );
  });

  it('refuses a gRPC address without a port, and other schemes', () => {
    expectBerthError(() => parseTarget('grpc://host', false), 'BERTH_ERR_CLI_INVALID_OPTION', /host:port/);
    expectBerthError(() => parseTarget('ftp://host:21', false), 'BERTH_ERR_CLI_INVALID_OPTION', /http:\/\//);
    expectBerthError(
      () => parseTarget('http://host:8000/?x=1', false),
      'BERTH_ERR_CLI_INVALID_OPTION',
      /query/,
    );
  });
});

describe('parseConcurrency', () => {
  it('takes a comma-separated list, in its order', () => {
    expect(parseConcurrency('1,4,16')).toEqual([1, 4, 16]);
    expect(parseConcurrency(' 8 , 2 ')).toEqual([8, 2]);
  });

  it.each(['', '0', '1,,2', '2.5', '-1', '1025', 'four'])('refuses %j', (value) => {
    expectBerthError(
      () => parseConcurrency(value),
      'BERTH_ERR_CLI_INVALID_OPTION',
      /--concurrency: expected/,
    );
  });
});

describe('--shape', () => {
  it('parses NAME:DIMS, the name taking every colon but the last', () => {
    expect(parseShapeOption('INPUT0:1,3,224,224')).toEqual({ name: 'INPUT0', shape: [1, 3, 224, 224] });
    expect(parseShapeOption('serving_default:input:2,4')).toEqual({
      name: 'serving_default:input',
      shape: [2, 4],
    });
    expect(parseShapeOption('scalar:0')).toEqual({ name: 'scalar', shape: [0] });
  });

  it.each(['INPUT0', ':1,2', 'x:', 'x:1,,2', 'x:-1,4', 'x:1.5'])('refuses %j', (value) => {
    expectBerthError(
      () => parseShapeOption(value),
      'BERTH_ERR_CLI_INVALID_OPTION',
      /--shape: expected NAME:DIMS/,
    );
  });

  it('collects every --shape by name and refuses one named twice', () => {
    expect([...parseShapes(['a:1', 'b:2,2'])]).toEqual([
      ['a', [1]],
      ['b', [2, 2]],
    ]);
    expectBerthError(
      () => parseShapes(['a:1', 'a:2']),
      'BERTH_ERR_CLI_INVALID_OPTION',
      /input "a" given once/,
    );
  });
});

describe('parseDataSource', () => {
  it('knows random and zero, and takes anything else as a file', () => {
    expect(parseDataSource('random')).toEqual({ kind: 'random' });
    expect(parseDataSource('zero')).toEqual({ kind: 'zero' });
    expect(parseDataSource('inputs.json')).toEqual({ kind: 'file', path: 'inputs.json' });
  });
});

describe('parseHeader', () => {
  it('splits at the first colon and lower-cases the name', () => {
    expect(parseHeader('Authorization: Bearer a:b')).toEqual(['authorization', 'Bearer a:b']);
    expect(parseHeader('Host:iris.default.example.com')).toEqual(['host', 'iris.default.example.com']);
  });

  it('refuses a header without a name', () => {
    expectBerthError(() => parseHeader('no colon'), 'BERTH_ERR_CLI_INVALID_OPTION', /--header/);
    expectBerthError(() => parseHeader(': value'), 'BERTH_ERR_CLI_INVALID_OPTION', /--header/);
  });
});
