/**
 * The options of a benchmark, parsed from what a user types: the target URL, concurrency levels,
 * `--shape NAME:DIMS`, `--data`, `--header`. Pure; each error names the option and what it
 * expects, as the CLI's own option parsers do.
 */
import { BerthError } from '../ground/index.js';

function invalid(option: string, expected: string, got: string): BerthError {
  return new BerthError(
    'BERTH_ERR_CLI_INVALID_OPTION',
    `${option}: expected ${expected}, got ${JSON.stringify(got)}`,
  );
}

/** Where the load goes: a REST base URL, or a gRPC host:port. */
export type BenchTarget =
  { readonly protocol: 'rest'; readonly url: URL } | { readonly protocol: 'grpc'; readonly address: string };

/**
 * The target from the URL argument: `http(s)://host:port[/prefix]` (or `host:port`, taken as
 * http) for REST; `grpc://host:port`, or `host:port` with `grpc` set, for gRPC.
 *
 * @example
 * parseTarget('grpc://127.0.0.1:8001', false); // { protocol: 'grpc', address: '127.0.0.1:8001' }
 */
export function parseTarget(value: string, grpc: boolean): BenchTarget {
  const text = value.trim();
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text)?.[1]?.toLowerCase();
  if (scheme === 'grpc' || (grpc && scheme === undefined)) {
    const address = text.replace(/^grpc:\/\//i, '').replace(/\/+$/, '');
    if (!/^(\[[0-9a-f:.]+\]|[^\s/:[\]]+):\d{1,5}$/i.test(address))
      throw invalid('URL', 'the gRPC endpoint as host:port or grpc://host:port', value);
    return { protocol: 'grpc', address };
  }
  if (grpc) {
    throw invalid(
      'URL',
      "with --grpc, the gRPC endpoint as host:port or grpc://host:port (berth serve's --grpc-port, 8001)",
      value,
    );
  }
  const withScheme = scheme === undefined ? `http://${text}` : text;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw invalid('URL', 'http://host:port (REST) or grpc://host:port', value);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw invalid('URL', 'http://, https:// or grpc://', value);
  if (url.search !== '' || url.hash !== '') throw invalid('URL', 'a URL without ?query or #fragment', value);
  return { protocol: 'rest', url };
}

/** `1,4,16`: concurrency levels, each from 1 to 1024, run in the order given. */
export function parseConcurrency(value: string): number[] {
  const parts = value.split(',').map((p) => p.trim());
  const levels = parts.map((p) => (/^\d+$/.test(p) ? Number(p) : NaN));
  if (levels.length === 0 || levels.some((n) => !Number.isSafeInteger(n) || n < 1 || n > 1024))
    throw invalid(
      '--concurrency',
      'a comma-separated list of integers from 1 to 1024, such as 1,4,16',
      value,
    );
  return levels;
}

/**
 * `NAME:1,3,224,224` (perf_analyzer's --shape): the shape an input is sent with. A name may
 * itself hold colons; the dimensions follow the last one.
 */
export function parseShapeOption(value: string): { name: string; shape: number[] } {
  const colon = value.lastIndexOf(':');
  const name = colon < 0 ? '' : value.slice(0, colon);
  const dims = colon < 0 ? [] : value.slice(colon + 1).split(',');
  const shape = dims.map((d) => (/^\d+$/.test(d.trim()) ? Number(d) : NaN));
  if (name === '' || shape.length === 0 || shape.some((d) => !Number.isSafeInteger(d)))
    throw invalid(
      '--shape',
      'NAME:DIMS with non-negative integer dimensions, such as INPUT0:1,3,224,224',
      value,
    );
  return { name, shape };
}

/** Every --shape given, by input name; an input named twice is refused. */
export function parseShapes(values: readonly string[]): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  for (const value of values) {
    const { name, shape } = parseShapeOption(value);
    if (shapes.has(name)) throw invalid('--shape', `input "${name}" given once`, value);
    shapes.set(name, shape);
  }
  return shapes;
}

/** What every request carries: seeded random values, zeros, or the inputs of a JSON file. */
export type DataSource =
  { readonly kind: 'random' } | { readonly kind: 'zero' } | { readonly kind: 'file'; readonly path: string };

/** `random`, `zero`, or a path to a JSON file. */
export function parseDataSource(value: string): DataSource {
  if (value === 'random') return { kind: 'random' };
  if (value === 'zero' || value === 'zeros') return { kind: 'zero' };
  if (value.trim() === '') throw invalid('--data', 'random, zero or a JSON file', value);
  return { kind: 'file', path: value };
}

/** `Name: value` (curl's -H): a header sent with every request (gRPC: metadata). */
export function parseHeader(value: string): [string, string] {
  const colon = value.indexOf(':');
  const name = colon < 0 ? '' : value.slice(0, colon).trim();
  if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/i.test(name))
    throw invalid('--header', '"Name: value", such as "Authorization: Bearer abc"', value);
  return [name.toLowerCase(), value.slice(colon + 1).trim()];
}
