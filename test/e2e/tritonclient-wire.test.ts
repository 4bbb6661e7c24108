/**
 * NVIDIA's Python `tritonclient.http`, replicated byte for byte, against a real berth server.
 *
 * tritonclient cannot be installed where these tests run, yet berth must work with it unchanged,
 * so this file re-implements (in our own TypeScript, no code copied) exactly what it puts on the
 * wire and exactly how it reads the answer. Each piece names the source it follows; all paths are
 * in the GitHub repository triton-inference-server/client unless said otherwise:
 *
 * - src/python/library/tritonclient/http/_client.py (read at 06344caed307d019c2a38ae3bf3677572e77903d):
 *   `InferenceServerClient.__init__` (base URI: the URL's path with "/" stripped, so requests go to
 *   "/v2/..."), `_get` / `_post` (URI + "?" + query string, caller headers only), `is_server_live`,
 *   `is_server_ready`, `is_model_ready` (GET; true iff status 200, body ignored),
 *   `get_server_metadata`, `get_model_metadata`, `get_model_config`, `get_inference_statistics`
 *   (GET, `_raise_if_error`, `json.loads`), `get_model_repository_index` (POST with an empty body),
 *   `infer` (the request body of `_get_inference_request`, then `request_compression_algorithm`
 *   gzip/deflate compressing the whole body and setting Content-Encoding, `Accept-Encoding` for
 *   `response_compression_algorithm`, and `Inference-Header-Content-Length` set to the
 *   UNCOMPRESSED JSON size; no Content-Type is ever set).
 * - src/python/library/tritonclient/http/_utils.py (read at 03a0aac91cf71c322365627be68a5596165d9aab):
 *   `_get_inference_request` (key order id, inputs, outputs, parameters; `binary_data_output: true`
 *   only when no outputs are requested; `json_size = len(request_json)`; binary input data appended
 *   in input order; no header length when no input is binary), `_get_error` / `_raise_if_error`
 *   (any status but 200 raises with the body's `error`), `_get_query_string` (quote_plus pairs).
 * - src/python/library/tritonclient/http/_infer_input.py (read at 06344caed307d019c2a38ae3bf3677572e77903d):
 *   `InferInput.set_data_from_numpy` (JSON `data` from `.item()` of each element, BYTES decoded as
 *   UTF-8; binary data from `tobytes()` or `serialize_byte_tensor`, with
 *   `parameters.binary_data_size`) and `_get_tensor` (key order name, shape, datatype, parameters,
 *   data).
 * - src/python/library/tritonclient/http/_requested_output.py (read at 36d6b34e7687e2c5ecc44263f7725f219d36d43b):
 *   `InferRequestedOutput.__init__` / `_get_tensor` (`parameters` always sent, `classification`
 *   before `binary_data`).
 * - src/python/library/tritonclient/http/_infer_result.py (read at 2a25fb3b587d99791afdf0cb765b61d6bca72728
 *   and 9c9a33644515f807bb72636475445eddb5689e01): `InferResult.__init__` (decompress on
 *   Content-Encoding gzip/deflate, then split at the response's Inference-Header-Content-Length and
 *   give each output with `parameters.binary_data_size` the next slice, in JSON output order) and
 *   `as_numpy` (BYTES via `deserialize_bytes_tensor`, others `np.frombuffer`, JSON `data` through
 *   `np.array(..., dtype)`, then `reshape(shape)`).
 * - src/python/library/tritonclient/utils/__init__.py (read at 317d0ea02279003ab4feb5d8521de894cf78d3be):
 *   `serialize_byte_tensor` / `deserialize_bytes_tensor` (4-byte little-endian length, then the
 *   bytes), `np_to_triton_dtype` / `triton_to_np_dtype` (BOOL one byte, FP16 IEEE half).
 * - The HTTP layer below tritonclient, geventhttpclient/geventhttpclient src/geventhttpclient/client.py
 *   (read at 02f7ad10efda08cac7674830308ed92762349605 and 89bd65d22d39159b2a68765e3fb96a5131235d01):
 *   `HTTPClient._build_request` / `request` (HTTP/1.1 on one keep-alive connection; headers in the
 *   order User-Agent, the caller's, Host, Content-Length; Content-Length only for a non-empty body
 *   in older releases, "0" for an empty POST in newer ones; head and body written separately).
 * - The request JSON is `rapidjson.dumps` (python-rapidjson): compact, `ensure_ascii=True` (non-ASCII
 *   as uppercase \uXXXX, which is why `len(request_json)` is also its byte length), Python floats
 *   with a decimal point ("1.0").
 *
 * Scenarios follow src/python/examples/simple_http_health_metadata.py,
 * simple_http_infer_client.py and simple_http_string_infer_client.py of the same repository.
 */
import { connect, type Socket } from 'node:net';
import { deflateSync, gunzipSync, gzipSync, inflateSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { addSubModel, identityModel } from '../fixtures/models.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

// ---------------------------------------------------------------------------------------------
// python-rapidjson's dumps / loads
// ---------------------------------------------------------------------------------------------

/** A Python float (what numpy's `.item()` gives for a float dtype). */
class PyFloat {
  constructor(readonly value: number) {}
}

type PyJson = null | boolean | number | bigint | string | PyFloat | readonly PyJson[] | PyDict;
interface PyDict {
  [key: string]: PyJson;
}

function hex4(unit: number): string {
  return unit.toString(16).toUpperCase().padStart(4, '0');
}

const SHORT_ESCAPES: Record<string, string> = {
  '"': '\\"',
  '\\': '\\\\',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
};

/** A JSON string as rapidjson writes it with ensure_ascii: only ASCII on the wire. */
function pyString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const ch = s.charAt(i);
    const unit = s.charCodeAt(i);
    const short = SHORT_ESCAPES[ch];
    if (short !== undefined) out += short;
    else if (unit < 0x20 || unit >= 0x80) out += `\\u${hex4(unit)}`;
    else out += ch;
  }
  return `${out}"`;
}

/** Python float repr for the values used here (no exponent form needed): 1.0, 0.5, -2.25. */
function pyFloat(value: number): string {
  if (!Number.isFinite(value)) throw new Error('non-finite floats are not used in these tests');
  if (Math.abs(value) >= 1e16 || (value !== 0 && Math.abs(value) < 1e-4)) {
    throw new Error(`float ${value} would need exponent notation; not replicated here`);
  }
  if (Object.is(value, -0)) return '-0.0';
  const text = String(value);
  return Number.isInteger(value) ? `${text}.0` : text;
}

function pyDumps(value: PyJson): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new Error(`${value} is not a Python int; wrap floats in PyFloat`);
    return String(value);
  }
  if (typeof value === 'string') return pyString(value);
  if (value instanceof PyFloat) return pyFloat(value.value);
  if (Array.isArray(value)) return `[${value.map((v: PyJson) => pyDumps(v)).join(',')}]`;
  const dict = value as PyDict;
  return `{${Object.keys(dict)
    .map((key) => `${pyString(key)}:${pyDumps(dict[key] ?? null)}`)
    .join(',')}}`;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** `rapidjson.loads(bytes)`: strict UTF-8 JSON. */
function pyLoads(bytes: Uint8Array): unknown {
  return JSON.parse(strictUtf8.decode(bytes));
}

// ---------------------------------------------------------------------------------------------
// IEEE half precision, as numpy's float16
// ---------------------------------------------------------------------------------------------

function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const rest = x - floor;
  if (rest > 0.5) return floor + 1;
  if (rest < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}

/** A double to float16 bits, rounding to nearest even (numpy's double-to-half conversion). */
function numberToHalf(value: number): number {
  if (Number.isNaN(value)) return 0x7e00;
  const sign = value < 0 || Object.is(value, -0) ? 0x8000 : 0;
  const a = Math.abs(value);
  if (a === Infinity) return sign | 0x7c00;
  if (a < 2 ** -14) return sign | roundHalfEven(a / 2 ** -24); // 1024 lands on the smallest normal
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e -= 1;
  if (2 ** (e + 1) <= a) e += 1;
  let m = roundHalfEven(a / 2 ** (e - 10));
  if (m === 2048) {
    e += 1;
    m = 1024;
  }
  if (e > 15) return sign | 0x7c00;
  return sign | ((e + 15) << 10) | (m - 1024);
}

// ---------------------------------------------------------------------------------------------
// numpy arrays, as far as tritonclient touches them
// ---------------------------------------------------------------------------------------------

type Datatype =
  | 'BOOL'
  | 'UINT8'
  | 'UINT16'
  | 'UINT32'
  | 'UINT64'
  | 'INT8'
  | 'INT16'
  | 'INT32'
  | 'INT64'
  | 'FP16'
  | 'FP32'
  | 'FP64'
  | 'BYTES';

/** One element: numbers, bigints for 64-bit integers, booleans, bytes (`Uint8Array`) or str. */
type Element = number | bigint | boolean | string | Uint8Array;

/** A numpy array reduced to what matters here: triton dtype, shape and C-order elements. */
interface NdArray {
  readonly dtype: Datatype;
  readonly shape: readonly number[];
  readonly data: readonly Element[];
}

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function ndarray(dtype: Datatype, shape: readonly number[], data: readonly Element[]): NdArray {
  if (product(shape) !== data.length) throw new Error(`${data.length} elements do not fill ${String(shape)}`);
  return { dtype, shape, data };
}

const ELEMENT_SIZE: Record<Exclude<Datatype, 'BYTES'>, number> = {
  BOOL: 1,
  UINT8: 1,
  INT8: 1,
  UINT16: 2,
  INT16: 2,
  FP16: 2,
  UINT32: 4,
  INT32: 4,
  FP32: 4,
  UINT64: 8,
  INT64: 8,
  FP64: 8,
};

function asNumber(e: Element): number {
  if (typeof e === 'number') return e;
  if (typeof e === 'bigint') return Number(e);
  if (typeof e === 'boolean') return e ? 1 : 0;
  throw new Error('not a number');
}

/** `ndarray.tobytes()`: little-endian, C order. */
function toBytes(dtype: Exclude<Datatype, 'BYTES'>, data: readonly Element[]): Buffer {
  const size = ELEMENT_SIZE[dtype];
  const out = Buffer.alloc(size * data.length);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  data.forEach((e, i) => {
    const at = i * size;
    switch (dtype) {
      case 'BOOL':
        view.setUint8(at, e === true ? 1 : 0);
        break;
      case 'UINT8':
        view.setUint8(at, asNumber(e));
        break;
      case 'INT8':
        view.setInt8(at, asNumber(e));
        break;
      case 'UINT16':
        view.setUint16(at, asNumber(e), true);
        break;
      case 'INT16':
        view.setInt16(at, asNumber(e), true);
        break;
      case 'FP16':
        view.setUint16(at, numberToHalf(asNumber(e)), true);
        break;
      case 'UINT32':
        view.setUint32(at, asNumber(e), true);
        break;
      case 'INT32':
        view.setInt32(at, asNumber(e), true);
        break;
      case 'FP32':
        view.setFloat32(at, asNumber(e), true);
        break;
      case 'UINT64':
        view.setBigUint64(at, BigInt(e as number | bigint), true);
        break;
      case 'INT64':
        view.setBigInt64(at, BigInt(e as number | bigint), true);
        break;
      case 'FP64':
        view.setFloat64(at, asNumber(e), true);
        break;
    }
  });
  return out;
}

/** `np.frombuffer(buffer, dtype)`: refuses a buffer that is not a whole number of elements. */
function fromBuffer(dtype: Exclude<Datatype, 'BYTES'>, bytes: Uint8Array): Element[] {
  const size = ELEMENT_SIZE[dtype];
  if (bytes.byteLength % size !== 0)
    throw new Error('ValueError: buffer size must be a multiple of element size');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Element[] = [];
  for (let at = 0; at < bytes.byteLength; at += size) {
    switch (dtype) {
      case 'BOOL':
        out.push(view.getUint8(at) !== 0);
        break;
      case 'UINT8':
        out.push(view.getUint8(at));
        break;
      case 'INT8':
        out.push(view.getInt8(at));
        break;
      case 'UINT16':
        out.push(view.getUint16(at, true));
        break;
      case 'INT16':
        out.push(view.getInt16(at, true));
        break;
      case 'FP16':
        out.push(halfToNumber(view.getUint16(at, true)));
        break;
      case 'UINT32':
        out.push(view.getUint32(at, true));
        break;
      case 'INT32':
        out.push(view.getInt32(at, true));
        break;
      case 'FP32':
        out.push(view.getFloat32(at, true));
        break;
      case 'UINT64':
        out.push(view.getBigUint64(at, true));
        break;
      case 'INT64':
        out.push(view.getBigInt64(at, true));
        break;
      case 'FP64':
        out.push(view.getFloat64(at, true));
        break;
    }
  }
  return out;
}

/** `np.array(json_list, dtype)`, flattened. */
function fromJson(dtype: Datatype, data: unknown): Element[] {
  const flat: unknown[] = Array.isArray(data) ? (data as unknown[]).flat(Infinity) : [data];
  return flat.map((v): Element => {
    switch (dtype) {
      case 'BYTES':
        return String(v); // a Python str in an object array
      case 'BOOL':
        return Boolean(v);
      case 'INT64':
      case 'UINT64':
        return BigInt(Math.trunc(Number(v)));
      case 'FP16':
        return halfToNumber(numberToHalf(Number(v)));
      case 'FP32':
        return Math.fround(Number(v));
      case 'FP64':
        return Number(v);
      case 'INT8':
      case 'INT16':
      case 'INT32':
      case 'UINT8':
      case 'UINT16':
      case 'UINT32':
        return Math.trunc(Number(v));
    }
  });
}

const utf8 = new TextEncoder();

/** tritonclient.utils.serialize_byte_tensor: each element as a uint32 LE length and its bytes. */
function serializeByteTensor(data: readonly Element[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of data) {
    const bytes = e instanceof Uint8Array ? e : utf8.encode(String(e)); // str(obj).encode('utf-8')
    const length = Buffer.alloc(4);
    length.writeUInt32LE(bytes.byteLength, 0);
    parts.push(length, Buffer.from(bytes));
  }
  return Buffer.concat(parts);
}

/** tritonclient.utils.deserialize_bytes_tensor. */
function deserializeBytesTensor(encoded: Uint8Array): Uint8Array[] {
  const view = new DataView(encoded.buffer, encoded.byteOffset, encoded.byteLength);
  const out: Uint8Array[] = [];
  let offset = 0;
  while (offset < encoded.byteLength) {
    if (offset + 4 > encoded.byteLength) throw new Error('struct.error: unpack_from requires 4 bytes');
    const length = view.getUint32(offset, true);
    offset += 4;
    if (offset + length > encoded.byteLength)
      throw new Error(`struct.error: unpack_from requires ${length} bytes`);
    out.push(new Uint8Array(encoded.subarray(offset, offset + length)));
    offset += length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// geventhttpclient: raw HTTP/1.1 on one keep-alive connection
// ---------------------------------------------------------------------------------------------

const USER_AGENT = 'python/gevent-http-client-2.3.3';

interface WireResponse {
  readonly status: number;
  readonly headers: ReadonlyMap<string, string>;
  readonly body: Buffer;
}

interface WireRequest {
  readonly head: string;
  readonly body: Buffer | undefined;
}

type HeaderList = (readonly [string, string])[];

function parseChunked(buffer: Buffer, start: number): { body: Buffer; end: number } | undefined {
  const parts: Buffer[] = [];
  let at = start;
  for (;;) {
    const lineEnd = buffer.indexOf('\r\n', at);
    if (lineEnd < 0) return undefined;
    const size = parseInt(buffer.subarray(at, lineEnd).toString('latin1'), 16);
    const dataStart = lineEnd + 2;
    if (size === 0) {
      const trailerEnd = buffer.indexOf('\r\n\r\n', lineEnd);
      return trailerEnd < 0 ? undefined : { body: Buffer.concat(parts), end: trailerEnd + 4 };
    }
    if (buffer.length < dataStart + size + 2) return undefined;
    parts.push(buffer.subarray(dataStart, dataStart + size));
    at = dataStart + size + 2;
  }
}

class GeventConnection {
  private buffered = Buffer.alloc(0);
  private ended = false;
  private wake: (() => void) | undefined;
  /** Every request written, head and body, for assertions on the exact bytes. */
  readonly sent: WireRequest[] = [];

  private constructor(
    private readonly socket: Socket,
    readonly host: string,
    readonly port: number,
  ) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, chunk]);
      this.notify();
    });
    const end = () => {
      this.ended = true;
      this.notify();
    };
    socket.on('end', end);
    socket.on('close', end);
    socket.on('error', end);
  }

  static open(host: string, port: number): Promise<GeventConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port }, () => {
        socket.off('error', reject);
        resolve(new GeventConnection(socket, host, port));
      });
      socket.once('error', reject);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private async fill<T>(probe: () => T | undefined): Promise<T> {
    for (;;) {
      const value = probe();
      if (value !== undefined) return value;
      if (this.ended) throw new Error('the server closed the connection before a whole response');
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  /** `HTTPClient._build_request` then `request`: head and body written one after the other. */
  async request(method: string, uri: string, headers: HeaderList, body?: Buffer): Promise<WireResponse> {
    const fields: HeaderList = [['User-Agent', USER_AGENT], ...headers];
    const has = (name: string) => fields.some(([key]) => key.toLowerCase() === name.toLowerCase());
    if (!has('Host')) fields.push(['Host', `${this.host}:${this.port}`]);
    if (body !== undefined && body.byteLength > 0 && !has('Content-Length')) {
      fields.push(['Content-Length', String(body.byteLength)]);
    }
    const head = `${method} ${uri} HTTP/1.1\r\n${fields.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
    this.sent.push({ head, body });
    this.socket.write(head, 'latin1');
    if (body !== undefined && body.byteLength > 0) this.socket.write(body);
    return this.readResponse();
  }

  private async readResponse(): Promise<WireResponse> {
    const headEnd = await this.fill(() => {
      const i = this.buffered.indexOf('\r\n\r\n');
      return i < 0 ? undefined : i;
    });
    const [statusLine = '', ...lines] = this.buffered.subarray(0, headEnd).toString('latin1').split('\r\n');
    const match = /^HTTP\/1\.1 (\d{3}) /.exec(statusLine);
    if (match === null) throw new Error(`bad status line ${JSON.stringify(statusLine)}`);
    const headers = new Map<string, string>();
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    const start = headEnd + 4;
    let body: Buffer;
    let end: number;
    if (headers.get('transfer-encoding')?.toLowerCase() === 'chunked') {
      ({ body, end } = await this.fill(() => parseChunked(this.buffered, start)));
    } else {
      const length = Number(headers.get('content-length') ?? '0');
      end = await this.fill(() => (this.buffered.length >= start + length ? start + length : undefined));
      body = this.buffered.subarray(start, end);
    }
    body = Buffer.from(body);
    this.buffered = Buffer.from(this.buffered.subarray(end));
    return { status: Number(match[1]), headers, body };
  }
}

// ---------------------------------------------------------------------------------------------
// tritonclient.http
// ---------------------------------------------------------------------------------------------

/** tritonclient.utils.InferenceServerException: `str()` is "[status] msg". */
class InferenceServerException extends Error {
  constructor(
    readonly msg: string,
    readonly status?: string,
    readonly debugDetails?: string,
  ) {
    super(status === undefined ? msg : `[${status}] ${msg}`);
  }
}

/** urllib.parse.quote_plus (safe: letters, digits, "_.-~"; space becomes "+"). */
function quotePlus(value: string): string {
  return encodeURIComponent(value)
    .replace(/[!'()*]/g, (c) => `%${hex4(c.charCodeAt(0)).slice(2)}`)
    .replace(/%20/g, '+');
}

/** urllib.parse.quote with its default safe "/". */
function quote(value: string): string {
  return encodeURIComponent(value)
    .replace(/[!'()*]/g, (c) => `%${hex4(c.charCodeAt(0)).slice(2)}`)
    .replace(/%2F/g, '/');
}

type QueryParams = Readonly<Record<string, string | number | readonly (string | number)[]>>;
type Headers = Readonly<Record<string, string | number>>;

function queryString(params: QueryParams): string {
  const pairs: string[] = [];
  for (const [key, value] of Object.entries(params)) {
    const values = Array.isArray(value)
      ? (value as readonly (string | number)[])
      : [value as string | number];
    for (const item of values) pairs.push(`${quotePlus(key)}=${quotePlus(String(item))}`);
  }
  return pairs.join('&');
}

/** `_get_error`: anything but 200 becomes an exception carrying the body's `error`. */
function getError(response: WireResponse): InferenceServerException | undefined {
  if (response.status === 200) return undefined;
  const status = String(response.status);
  let body: string | undefined;
  try {
    body = strictUtf8.decode(response.body);
    const parsed: unknown =
      body.length > 0 ? JSON.parse(body) : { error: 'client received an empty response from the server.' };
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || !('error' in parsed)) {
      throw new Error("KeyError: 'error'");
    }
    return new InferenceServerException(String(parsed.error), status);
  } catch (error) {
    return new InferenceServerException(
      `an exception occurred in the client while decoding the response: ${String(error)}\nresponse: ${String(body)}`,
      status,
      body,
    );
  }
}

function raiseIfError(response: WireResponse): void {
  const error = getError(response);
  if (error !== undefined) throw error;
}

/** tritonclient.http.InferInput. */
class InferInput {
  private readonly parameters: PyDict = {};
  private data: PyJson[] | undefined;
  private raw: Buffer | undefined;

  constructor(
    readonly name: string,
    readonly shape: readonly number[],
    readonly datatype: Datatype,
  ) {}

  setDataFromNumpy(array: NdArray, binaryData = true): void {
    if (array.dtype !== this.datatype) {
      throw new InferenceServerException(
        `got unexpected datatype ${array.dtype} from numpy array, expected ${this.datatype}`,
      );
    }
    if (array.shape.length !== this.shape.length || array.shape.some((d, i) => d !== this.shape[i])) {
      throw new InferenceServerException('got unexpected numpy array shape');
    }
    if (!binaryData) {
      delete this.parameters.binary_data_size;
      this.raw = undefined;
      if (this.datatype === 'BYTES') {
        // bytes must be valid UTF-8 (str(obj.item(), encoding="utf-8")); anything else is str(obj).
        this.data = array.data.map((e) => (e instanceof Uint8Array ? strictUtf8.decode(e) : String(e)));
      } else {
        this.data = array.data.map((e): PyJson => {
          switch (this.datatype) {
            case 'BOOL':
              return e === true;
            case 'FP16':
              return new PyFloat(halfToNumber(numberToHalf(asNumber(e))));
            case 'FP32':
              return new PyFloat(Math.fround(asNumber(e)));
            case 'FP64':
              return new PyFloat(asNumber(e));
            case 'INT8':
            case 'INT16':
            case 'INT32':
            case 'INT64':
            case 'UINT8':
            case 'UINT16':
            case 'UINT32':
            case 'UINT64':
            case 'BYTES':
              return typeof e === 'bigint' ? e : asNumber(e);
          }
        });
      }
    } else {
      this.data = undefined;
      this.raw =
        this.datatype === 'BYTES' ? serializeByteTensor(array.data) : toBytes(this.datatype, array.data);
      this.parameters.binary_data_size = this.raw.byteLength;
    }
  }

  binaryData(): Buffer | undefined {
    return this.raw;
  }

  getTensor(): PyDict {
    const tensor: PyDict = { name: this.name, shape: [...this.shape], datatype: this.datatype };
    if (Object.keys(this.parameters).length > 0) tensor.parameters = this.parameters;
    if (this.raw === undefined && this.data !== undefined) tensor.data = this.data;
    return tensor;
  }
}

/** tritonclient.http.InferRequestedOutput. */
class InferRequestedOutput {
  private readonly parameters: PyDict = {};

  constructor(
    readonly name: string,
    binaryData = true,
    classCount = 0,
  ) {
    if (classCount !== 0) this.parameters.classification = classCount;
    this.parameters.binary_data = binaryData;
  }

  getTensor(): PyDict {
    return { name: this.name, parameters: this.parameters };
  }
}

type ResponseBody = { outputs?: ResponseOutput[] } & Record<string, unknown>;

interface ResponseOutput {
  name: string;
  datatype: Datatype;
  shape: number[];
  parameters?: { binary_data_size?: number };
  data?: unknown;
}

/** tritonclient.http.InferResult. */
class InferResult {
  private readonly result: ResponseBody;
  private readonly buffer: Uint8Array = new Uint8Array(0);
  private readonly offsets = new Map<string, number>();

  constructor(response: WireResponse) {
    const headerLength = response.headers.get('inference-header-content-length');
    let content: Uint8Array = response.body;
    const encoding = response.headers.get('content-encoding');
    if (encoding === 'gzip') content = gunzipSync(content);
    else if (encoding === 'deflate') content = inflateSync(content);
    if (headerLength === undefined) {
      this.result = pyLoads(content) as ResponseBody;
    } else {
      if (!/^\s*\d+\s*$/.test(headerLength))
        throw new Error(`ValueError: invalid literal for int(): ${headerLength}`);
      const length = Number(headerLength);
      this.result = pyLoads(content.subarray(0, length)) as ResponseBody;
      this.buffer = content.subarray(length);
      let index = 0;
      for (const output of this.result.outputs ?? []) {
        const size = output.parameters?.binary_data_size;
        if (size !== undefined) {
          this.offsets.set(output.name, index);
          index += size;
        }
      }
    }
  }

  asNumpy(name: string): NdArray | undefined {
    for (const output of this.result.outputs ?? []) {
      if (output.name !== name) continue;
      let data: Element[];
      const size = output.parameters?.binary_data_size;
      if (size !== undefined) {
        if (size === 0) data = [];
        else {
          const start = this.offsets.get(name) ?? 0;
          const slice = this.buffer.subarray(start, start + size);
          data =
            output.datatype === 'BYTES' ? deserializeBytesTensor(slice) : fromBuffer(output.datatype, slice);
        }
      } else {
        if (!('data' in output)) throw new Error("KeyError: 'data'");
        data = fromJson(output.datatype, output.data);
      }
      if (data.length !== product(output.shape)) {
        throw new Error(
          `ValueError: cannot reshape array of size ${data.length} into shape ${String(output.shape)}`,
        );
      }
      return { dtype: output.datatype, shape: output.shape, data };
    }
    return undefined;
  }

  getOutput(name: string): ResponseOutput | undefined {
    return (this.result.outputs ?? []).find((o) => o.name === name);
  }

  getResponse(): Record<string, unknown> {
    return this.result;
  }
}

interface InferOptions {
  readonly modelVersion?: string;
  readonly outputs?: readonly InferRequestedOutput[];
  readonly requestId?: string;
  readonly priority?: number;
  readonly timeout?: number;
  readonly headers?: Headers;
  readonly queryParams?: QueryParams;
  readonly requestCompressionAlgorithm?: 'gzip' | 'deflate';
  readonly responseCompressionAlgorithm?: 'gzip' | 'deflate';
  readonly parameters?: PyDict;
}

/** `_get_inference_request`: the body and, when any input is binary, the JSON's length. */
function getInferenceRequest(
  inputs: readonly InferInput[],
  options: InferOptions,
): { body: Buffer; json: string; jsonSize: number | undefined } {
  const request: PyDict = {};
  const parameters: PyDict = {};
  if ((options.requestId ?? '') !== '') request.id = options.requestId ?? '';
  if ((options.priority ?? 0) !== 0) parameters.priority = options.priority ?? 0;
  if (options.timeout !== undefined) parameters.timeout = options.timeout;
  request.inputs = inputs.map((input) => input.getTensor());
  if (options.outputs !== undefined && options.outputs.length > 0) {
    request.outputs = options.outputs.map((output) => output.getTensor());
  } else {
    parameters.binary_data_output = true;
  }
  for (const [key, value] of Object.entries(options.parameters ?? {})) {
    if (['sequence_id', 'sequence_start', 'sequence_end', 'priority', 'binary_data_output'].includes(key)) {
      throw new InferenceServerException(
        `Parameter "${key}" is a reserved parameter and cannot be specified.`,
      );
    }
    parameters[key] = value;
  }
  if (Object.keys(parameters).length > 0) request.parameters = parameters;
  const json = pyDumps(request);
  const chunks: Buffer[] = [Buffer.from(json, 'utf8')];
  for (const input of inputs) {
    const raw = input.binaryData();
    if (raw !== undefined) chunks.push(raw);
  }
  // json_size = len(request_json): characters, which ensure_ascii makes equal to bytes.
  if (chunks.length === 1) return { body: chunks[0] ?? Buffer.alloc(0), json, jsonSize: undefined };
  return { body: Buffer.concat(chunks), json, jsonSize: json.length };
}

/** tritonclient.http.InferenceServerClient with url "host:port" (empty base path). */
class TritonHttpClient {
  constructor(readonly connection: GeventConnection) {}

  private uri(path: string, query: QueryParams | undefined): string {
    const uri = `/${path}`;
    return query === undefined ? uri : `${uri}?${queryString(query)}`;
  }

  private static headerList(headers: Headers | undefined): HeaderList {
    return Object.entries(headers ?? {}).map(([k, v]) => [k, String(v)] as const);
  }

  get(path: string, headers?: Headers, query?: QueryParams): Promise<WireResponse> {
    return this.connection.request('GET', this.uri(path, query), TritonHttpClient.headerList(headers));
  }

  post(path: string, body: Buffer, headers: HeaderList, query?: QueryParams): Promise<WireResponse> {
    return this.connection.request('POST', this.uri(path, query), headers, body);
  }

  async isServerLive(query?: QueryParams): Promise<boolean> {
    return (await this.get('v2/health/live', undefined, query)).status === 200;
  }

  async isServerReady(): Promise<boolean> {
    return (await this.get('v2/health/ready')).status === 200;
  }

  async isModelReady(model: string, version = ''): Promise<boolean> {
    const path =
      version === ''
        ? `v2/models/${quote(model)}/ready`
        : `v2/models/${quote(model)}/versions/${version}/ready`;
    return (await this.get(path)).status === 200;
  }

  private async getJson(path: string, query?: QueryParams): Promise<unknown> {
    const response = await this.get(path, undefined, query);
    raiseIfError(response);
    return pyLoads(response.body);
  }

  getServerMetadata(): Promise<unknown> {
    return this.getJson('v2');
  }

  getModelMetadata(model: string, version = '', query?: QueryParams): Promise<unknown> {
    const path =
      version === '' ? `v2/models/${quote(model)}` : `v2/models/${quote(model)}/versions/${version}`;
    return this.getJson(path, query);
  }

  getModelConfig(model: string): Promise<unknown> {
    return this.getJson(`v2/models/${quote(model)}/config`);
  }

  getInferenceStatistics(model = ''): Promise<unknown> {
    return this.getJson(model === '' ? 'v2/models/stats' : `v2/models/${quote(model)}/stats`);
  }

  getSystemSharedMemoryStatus(): Promise<unknown> {
    return this.getJson('v2/systemsharedmemory/status');
  }

  async loadModel(model: string): Promise<void> {
    raiseIfError(await this.post(`v2/repository/models/${quote(model)}/load`, Buffer.from(pyDumps({})), []));
  }

  /** POST with body "" (older geventhttpclient: no Content-Length; newer: "Content-Length: 0"). */
  async getModelRepositoryIndex(explicitZeroLength = false): Promise<unknown> {
    const response = await this.post(
      'v2/repository/index',
      Buffer.alloc(0),
      explicitZeroLength ? [['Content-Length', '0']] : [],
    );
    raiseIfError(response);
    return pyLoads(response.body);
  }

  async infer(
    model: string,
    inputs: readonly InferInput[],
    options: InferOptions = {},
  ): Promise<InferResult> {
    const built = getInferenceRequest(inputs, options);
    let body = built.body;
    const headers: [string, string][] = TritonHttpClient.headerList(options.headers).map(([k, v]) => [k, v]);
    const set = (key: string, value: string) => {
      const existing = headers.find(([k]) => k === key);
      if (existing === undefined) headers.push([key, value]);
      else existing[1] = value;
    };
    if (options.requestCompressionAlgorithm === 'gzip') {
      set('Content-Encoding', 'gzip');
      body = gzipSync(body);
    } else if (options.requestCompressionAlgorithm === 'deflate') {
      set('Content-Encoding', 'deflate');
      body = deflateSync(body); // zlib.compress: a zlib stream, which is what HTTP "deflate" means
    }
    if (options.responseCompressionAlgorithm !== undefined) {
      set('Accept-Encoding', options.responseCompressionAlgorithm);
    }
    if (built.jsonSize !== undefined) set('Inference-Header-Content-Length', String(built.jsonSize));
    const version = options.modelVersion ?? '';
    const path =
      version === ''
        ? `v2/models/${quote(model)}/infer`
        : `v2/models/${quote(model)}/versions/${version}/infer`;
    const response = await this.post(path, body, headers, options.queryParams);
    raiseIfError(response);
    return new InferResult(response);
  }
}

// ---------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------

let server: TestServer;
const connections: GeventConnection[] = [];

beforeAll(async () => {
  server = await startTestServer({
    simple: addSubModel(),
    simple_identity: identityModel('STRING', ['batch', 16]),
    identity_bool: identityModel('BOOL', ['batch', 4]),
    identity_fp16: identityModel('FLOAT16', ['batch', 4]),
  });
});

afterEach(() => {
  for (const c of connections.splice(0)) c.close();
});

afterAll(async () => {
  await server.stop();
});

/** `httpclient.InferenceServerClient(url="127.0.0.1:<port>")`: one connection (concurrency=1). */
async function tritonClient(): Promise<TritonHttpClient> {
  const connection = await GeventConnection.open('127.0.0.1', server.port);
  connections.push(connection);
  return new TritonHttpClient(connection);
}

function lastRequest(client: TritonHttpClient): WireRequest {
  const request = client.connection.sent.at(-1);
  if (request === undefined) throw new Error('nothing sent');
  return request;
}

/** What simple_http_infer_client.py sends: 0..15 and all -1. */
const INPUT0_DATA = ndarray(
  'INT32',
  [1, 16],
  Array.from({ length: 16 }, (_, i) => i),
);
const INPUT1_DATA = ndarray('INT32', [1, 16], new Array<number>(16).fill(-1));
const SUMS = INPUT0_DATA.data.map((v, i) => asNumber(v) + asNumber(INPUT1_DATA.data[i] ?? 0));
const DIFFERENCES = INPUT0_DATA.data.map((v, i) => asNumber(v) - asNumber(INPUT1_DATA.data[i] ?? 0));

/** simple_http_infer_client.py's inputs: INPUT0 as JSON, INPUT1 binary (unless told otherwise). */
function simpleInputs(binary0 = false, binary1 = true): InferInput[] {
  const input0 = new InferInput('INPUT0', [1, 16], 'INT32');
  const input1 = new InferInput('INPUT1', [1, 16], 'INT32');
  input0.setDataFromNumpy(INPUT0_DATA, binary0);
  input1.setDataFromNumpy(INPUT1_DATA, binary1);
  return [input0, input1];
}

/**
 * identity_inference of simple_http_string_infer_client.py on simple_identity: the output as bytes
 * (a JSON output's str encoded back to UTF-8, as the example does), or the raised exception.
 */
async function bytesIdentity(
  client: TritonHttpClient,
  elements: readonly Uint8Array[],
  binaryIn: boolean,
  binaryOut: boolean,
): Promise<Uint8Array[] | InferenceServerException> {
  const input = new InferInput('INPUT0', [1, 16], 'BYTES');
  input.setDataFromNumpy(ndarray('BYTES', [1, 16], elements), binaryIn);
  try {
    const result = await client.infer('simple_identity', [input], {
      outputs: [new InferRequestedOutput('OUTPUT0', binaryOut)],
    });
    const out = result.asNumpy('OUTPUT0');
    expect(out?.shape).toEqual([1, 16]);
    return (out?.data ?? []).map((e) => (e instanceof Uint8Array ? e : utf8.encode(String(e))));
  } catch (error) {
    if (error instanceof InferenceServerException) return error;
    throw error;
  }
}

function expectSameOrRefused(
  outcome: Uint8Array[] | InferenceServerException,
  element: Uint8Array,
  label: string,
): void {
  if (outcome instanceof InferenceServerException) expect.soft(outcome.status, label).toBe('400');
  else expect.soft(outcome, label).toEqual(new Array<Uint8Array>(16).fill(element));
}

function catchTriton(promise: Promise<unknown>): Promise<InferenceServerException> {
  return promise.then(
    () => {
      throw new Error('expected tritonclient to raise InferenceServerException');
    },
    (error: unknown) => {
      if (error instanceof InferenceServerException) return error;
      throw error;
    },
  );
}

describe('tritonclient.http replica: the bytes it sends are what these tests send', () => {
  it('serialises a request exactly as _get_inference_request does', () => {
    const [input0, input1] = simpleInputs();
    const built = getInferenceRequest([input0!, input1!], {
      requestId: 'r\u00e9q',
      outputs: [new InferRequestedOutput('OUTPUT0', true), new InferRequestedOutput('OUTPUT1', false, 2)],
      priority: 1,
      timeout: 1000,
      parameters: { custom: 'x' },
    });
    expect(built.json).toBe(
      '{"id":"r\\u00E9q","inputs":[' +
        '{"name":"INPUT0","shape":[1,16],"datatype":"INT32","data":[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15]},' +
        '{"name":"INPUT1","shape":[1,16],"datatype":"INT32","parameters":{"binary_data_size":64}}],' +
        '"outputs":[{"name":"OUTPUT0","parameters":{"binary_data":true}},' +
        '{"name":"OUTPUT1","parameters":{"classification":2,"binary_data":false}}],' +
        '"parameters":{"priority":1,"timeout":1000,"custom":"x"}}',
    );
    expect(built.jsonSize).toBe(Buffer.byteLength(built.json));
    expect(built.body.byteLength).toBe(built.json.length + 64);
    const noOutputs = getInferenceRequest(simpleInputs(false, false), {});
    expect(noOutputs.jsonSize).toBeUndefined();
    expect(noOutputs.json.endsWith(',"parameters":{"binary_data_output":true}}')).toBe(true);
    expect(pyDumps([new PyFloat(1), new PyFloat(-2.5), new PyFloat(0.0999755859375), true, null])).toBe(
      '[1.0,-2.5,0.0999755859375,true,null]',
    );
  });
});

describe('tritonclient.http against berth, byte for byte', () => {
  it('simple_http_health_metadata.py: health, readiness, metadata and the repository index', async () => {
    const client = await tritonClient();
    expect(await client.isServerLive({ test_1: 1, test_2: 2 })).toBe(true);
    expect(lastRequest(client).head).toBe(
      `GET /v2/health/live?test_1=1&test_2=2 HTTP/1.1\r\nUser-Agent: ${USER_AGENT}\r\n` +
        `Host: 127.0.0.1:${server.port}\r\n\r\n`,
    );
    expect(await client.isServerReady()).toBe(true);
    expect(await client.isModelReady('simple')).toBe(true);
    expect(await client.isModelReady('simple', '1')).toBe(true);
    expect(await client.isModelReady('wrong_model_name')).toBe(false);

    const serverMetadata = (await client.getServerMetadata()) as Record<string, unknown>;
    expect(serverMetadata).toMatchObject({ name: expect.any(String), version: expect.any(String) });
    expect(serverMetadata.extensions).toContain('binary_tensor_data');

    const metadata = await client.getModelMetadata('simple', '', { test_1: 1, test_2: 2 });
    expect(metadata).toEqual({
      name: 'simple',
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [
        { name: 'INPUT0', datatype: 'INT32', shape: [-1, 16] },
        { name: 'INPUT1', datatype: 'INT32', shape: [-1, 16] },
      ],
      outputs: [
        { name: 'OUTPUT0', datatype: 'INT32', shape: [-1, 16] },
        { name: 'OUTPUT1', datatype: 'INT32', shape: [-1, 16] },
      ],
    });
    expect(await client.getModelMetadata('simple', '1')).toEqual(metadata);

    const missing = await catchTriton(client.getModelMetadata('wrong_model_name'));
    expect(missing.status).toBe('404');
    expect(missing.msg).toMatch(/wrong_model_name/);

    // get_model_repository_index posts an empty body: without Content-Length (older
    // geventhttpclient) and with "Content-Length: 0" (newer).
    for (const explicitZero of [false, true]) {
      const index = await client.getModelRepositoryIndex(explicitZero);
      expect(lastRequest(client).head).not.toMatch(/content-type/i);
      expect(index).toEqual(
        expect.arrayContaining([expect.objectContaining({ name: 'simple', version: '1', state: 'READY' })]),
      );
    }
    // Everything above went over the one keep-alive connection, as geventhttpclient does.
    expect(client.connection.sent.length).toBe(11);
  });

  it('simple_http_infer_client.py test_infer: JSON and binary inputs, OUTPUT0 binary, OUTPUT1 JSON', async () => {
    const client = await tritonClient();
    const result = await client.infer('simple', simpleInputs(), {
      outputs: [new InferRequestedOutput('OUTPUT0', true), new InferRequestedOutput('OUTPUT1', false)],
      queryParams: { test_1: 1, test_2: 2 },
    });
    const sent = lastRequest(client);
    const json =
      '{"inputs":[{"name":"INPUT0","shape":[1,16],"datatype":"INT32","data":[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15]},' +
      '{"name":"INPUT1","shape":[1,16],"datatype":"INT32","parameters":{"binary_data_size":64}}],' +
      '"outputs":[{"name":"OUTPUT0","parameters":{"binary_data":true}},{"name":"OUTPUT1","parameters":{"binary_data":false}}]}';
    // No Content-Type: tritonclient never sets one.
    expect(sent.head).toBe(
      `POST /v2/models/simple/infer?test_1=1&test_2=2 HTTP/1.1\r\nUser-Agent: ${USER_AGENT}\r\n` +
        `Inference-Header-Content-Length: ${json.length}\r\nHost: 127.0.0.1:${server.port}\r\n` +
        `Content-Length: ${json.length + 64}\r\n\r\n`,
    );
    expect(sent.body?.subarray(0, json.length).toString('latin1')).toBe(json);

    expect(result.getOutput('OUTPUT0')?.parameters).toEqual({ binary_data_size: 64 });
    expect(result.getOutput('OUTPUT1')?.data).toBeDefined();
    expect(result.getResponse()).toMatchObject({ model_name: 'simple', model_version: '1' });
    expect(result.asNumpy('OUTPUT0')).toEqual({ dtype: 'INT32', shape: [1, 16], data: SUMS });
    expect(result.asNumpy('OUTPUT1')).toEqual({ dtype: 'INT32', shape: [1, 16], data: DIFFERENCES });
  });

  it('simple_http_infer_client.py test_infer_no_outputs: binary_data_output makes every output binary', async () => {
    const client = await tritonClient();
    const result = await client.infer('simple', simpleInputs(), { queryParams: { test_1: 1, test_2: 2 } });
    expect(lastRequest(client).body?.toString('latin1')).toContain(
      '"parameters":{"binary_data_output":true}}',
    );
    expect(result.getOutput('OUTPUT0')?.parameters).toEqual({ binary_data_size: 64 });
    expect(result.getOutput('OUTPUT1')?.parameters).toEqual({ binary_data_size: 64 });
    expect(result.asNumpy('OUTPUT0')?.data).toEqual(SUMS);
    expect(result.asNumpy('OUTPUT1')?.data).toEqual(DIFFERENCES);
  });

  it('binary slices follow the JSON output order whatever order the outputs were requested in', async () => {
    const client = await tritonClient();
    const result = await client.infer('simple', simpleInputs(true, true), {
      outputs: [new InferRequestedOutput('OUTPUT1'), new InferRequestedOutput('OUTPUT0')],
    });
    expect(result.asNumpy('OUTPUT0')?.data).toEqual(SUMS);
    expect(result.asNumpy('OUTPUT1')?.data).toEqual(DIFFERENCES);
  });

  it('all JSON: no Inference-Header-Content-Length either way, request_id echoed, versioned URL', async () => {
    const client = await tritonClient();
    const result = await client.infer('simple', simpleInputs(false, false), {
      modelVersion: '1',
      requestId: '1',
      outputs: [new InferRequestedOutput('OUTPUT0', false), new InferRequestedOutput('OUTPUT1', false)],
    });
    const sent = lastRequest(client);
    expect(sent.head).toMatch(/^POST \/v2\/models\/simple\/versions\/1\/infer HTTP\/1\.1\r\n/);
    expect(sent.head).not.toMatch(/inference-header-content-length/i);
    expect(sent.body?.toString('latin1').startsWith('{"id":"1","inputs":[')).toBe(true);
    expect(result.getResponse()).toMatchObject({ id: '1', model_name: 'simple', model_version: '1' });
    expect(result.asNumpy('OUTPUT0')?.data).toEqual(SUMS);
    expect(result.asNumpy('OUTPUT1')?.data).toEqual(DIFFERENCES);
  });

  it('request-level parameters tritonclient adds (priority, timeout, custom) are accepted', async () => {
    const client = await tritonClient();
    const options: InferOptions = {
      requestId: 'r\u00e9q-\u2713',
      priority: 1,
      timeout: 1_000_000,
      parameters: { custom: 'x' },
    };
    const result = await client.infer('simple', simpleInputs(), options);
    // ensure_ascii: the id travels as \u00E9 and \u2713 escapes, so the header length in characters
    // is the length in bytes; a server that splits the body there gets the whole JSON.
    const { json } = getInferenceRequest(simpleInputs(), options);
    expect(json).toContain('"id":"r\\u00E9q-\\u2713"');
    expect(lastRequest(client).head).toContain(`\r\nInference-Header-Content-Length: ${json.length}\r\n`);
    expect(result.getResponse().id).toBe('r\u00e9q-\u2713');
    expect(result.asNumpy('OUTPUT0')?.data).toEqual(SUMS);
  });

  for (const algorithm of ['gzip', 'deflate'] as const) {
    it(`--request-compression-algorithm ${algorithm}: the whole body compressed, header length uncompressed`, async () => {
      const client = await tritonClient();
      const result = await client.infer('simple', simpleInputs(), {
        outputs: [new InferRequestedOutput('OUTPUT0', true), new InferRequestedOutput('OUTPUT1', false)],
        requestCompressionAlgorithm: algorithm,
        responseCompressionAlgorithm: algorithm,
      });
      const sent = lastRequest(client);
      const plain = getInferenceRequest(simpleInputs(), {
        outputs: [new InferRequestedOutput('OUTPUT0', true), new InferRequestedOutput('OUTPUT1', false)],
      });
      expect(sent.head).toContain(`\r\nContent-Encoding: ${algorithm}\r\nAccept-Encoding: ${algorithm}\r\n`);
      expect(sent.head).toContain(`\r\nInference-Header-Content-Length: ${plain.json.length}\r\n`);
      const body = sent.body ?? Buffer.alloc(0);
      expect(algorithm === 'gzip' ? gunzipSync(body) : inflateSync(body)).toEqual(plain.body);
      expect(result.asNumpy('OUTPUT0')?.data).toEqual(SUMS);
      expect(result.asNumpy('OUTPUT1')?.data).toEqual(DIFFERENCES);
    });
  }

  // simple_http_string_infer_client.py's identity_inference compares what comes back with what it
  // sent, so BYTES must come back unchanged. A server that cannot carry some bytes must say so (an
  // error tritonclient raises), not answer 200 with other bytes.
  it('simple_http_string_infer_client.py identity_inference: BYTES with an embedded NUL', async () => {
    const client = await tritonClient();
    const element = utf8.encode('he\u0000llo');
    for (const binary of [true, false]) {
      const outcome = await bytesIdentity(client, new Array<Uint8Array>(16).fill(element), binary, binary);
      expectSameOrRefused(outcome, element, binary ? 'binary in and out' : 'JSON in and out');
    }
  });

  it('simple_http_string_infer_client.py identity_inference: 4-byte blobs 0x00010203, binary and JSON', async () => {
    const client = await tritonClient();
    const blob = new Uint8Array([0, 1, 2, 3]);
    for (const [binaryIn, binaryOut] of [
      [true, true],
      [false, false],
      [true, false],
      [false, true],
    ] as const) {
      const outcome = await bytesIdentity(client, new Array<Uint8Array>(16).fill(blob), binaryIn, binaryOut);
      expectSameOrRefused(
        outcome,
        blob,
        `${binaryIn ? 'binary' : 'JSON'} in, ${binaryOut ? 'binary' : 'JSON'} out`,
      );
    }
  });

  it('BYTES: plain UTF-8 strings round-trip in every binary/JSON combination', async () => {
    const client = await tritonClient();
    const elements = Array.from({ length: 16 }, (_, i) => utf8.encode(`${i} caf\u00e9 \u2713`));
    for (const [binaryIn, binaryOut] of [
      [true, true],
      [false, false],
      [true, false],
      [false, true],
    ] as const) {
      expect(await bytesIdentity(client, elements, binaryIn, binaryOut)).toEqual(elements);
    }
  });

  it('BYTES elements that are not UTF-8 round-trip or are refused, never silently changed', async () => {
    // tritonclient sends any bytes in binary BYTES (serialize_byte_tensor).
    const client = await tritonClient();
    const blob = new Uint8Array([0xff, 0xfe, 0x41, 0x80]);
    const outcome = await bytesIdentity(client, new Array<Uint8Array>(16).fill(blob), true, true);
    expectSameOrRefused(outcome, blob, 'binary in and out');
  });

  it('BOOL: JSON true/false and one byte per element', async () => {
    const client = await tritonClient();
    const values = [true, false, true, true, false, false, true, false];
    const array = ndarray('BOOL', [2, 4], values);
    for (const [binaryIn, binaryOut] of [
      [false, true],
      [true, false],
      [true, true],
      [false, false],
    ] as const) {
      const input = new InferInput('INPUT0', [2, 4], 'BOOL');
      input.setDataFromNumpy(array, binaryIn);
      const result = await client.infer('identity_bool', [input], {
        outputs: [new InferRequestedOutput('OUTPUT0', binaryOut)],
      });
      if (binaryOut) expect(result.getOutput('OUTPUT0')?.parameters).toEqual({ binary_data_size: 8 });
      else expect(result.getOutput('OUTPUT0')?.data).toEqual(values);
      expect(result.asNumpy('OUTPUT0')).toEqual({ dtype: 'BOOL', shape: [2, 4], data: values });
    }
    const input = new InferInput('INPUT0', [2, 4], 'BOOL');
    input.setDataFromNumpy(array, false);
    expect(input.getTensor().data).toEqual(values);
  });

  it('FP16: JSON Python floats and IEEE half bits', async () => {
    const client = await tritonClient();
    // float16 values as numpy holds them: 0.1 is 0.0999755859375 in half precision.
    const values = [0.0999755859375, 1, -2.5, 65504, 0.5, -0, 6.103515625e-5 * 2, 0.333251953125];
    const array = ndarray('FP16', [2, 4], values);
    for (const [binaryIn, binaryOut] of [
      [false, true],
      [true, false],
      [true, true],
      [false, false],
    ] as const) {
      const input = new InferInput('INPUT0', [2, 4], 'FP16');
      input.setDataFromNumpy(array, binaryIn);
      const result = await client.infer('identity_fp16', [input], {
        outputs: [new InferRequestedOutput('OUTPUT0', binaryOut)],
      });
      if (binaryOut) expect(result.getOutput('OUTPUT0')?.parameters).toEqual({ binary_data_size: 16 });
      const out = result.asNumpy('OUTPUT0');
      expect(out?.shape).toEqual([2, 4]);
      const label = `${binaryIn ? 'binary' : 'JSON'} in, ${binaryOut ? 'binary' : 'JSON'} out`;
      if (binaryOut) {
        // Binary output is the half-precision bits themselves.
        expect
          .soft(
            out?.data.map((v) => numberToHalf(asNumber(v))),
            label,
          )
          .toEqual(values.map((v) => numberToHalf(v)));
      } else {
        // JSON output goes through np.array(data, dtype=float16); compared as numbers, as
        // np.array_equal does (-0.0 == 0.0: berth writes -0 as 0 in JSON).
        expect
          .soft(
            out?.data.map((v) => asNumber(v) + 0),
            label,
          )
          .toEqual(values.map((v) => v + 0));
      }
    }
  });

  it('wrong model name (simple_http_infer_client.py): 404 with {"error": ...}, raised with that message', async () => {
    const client = await tritonClient();
    const error = await catchTriton(
      client.infer('wrong_model_name', simpleInputs(), {
        outputs: [new InferRequestedOutput('OUTPUT0', true), new InferRequestedOutput('OUTPUT1', false)],
      }),
    );
    const raw = await client.get('v2/models/wrong_model_name');
    const body = pyLoads(raw.body) as Record<string, unknown>;
    expect(raw.status).toBe(404);
    expect(Object.keys(body)).toEqual(['error']);
    expect(typeof body.error).toBe('string');
    expect(error.status).toBe('404');
    expect(error.msg).toMatch(/wrong_model_name/);
    expect(error.message).toBe(`[404] ${error.msg}`);
    expect(error.msg).not.toMatch(/exception occurred in the client/);
  });

  it('a request berth refuses (bad shape) is a 400 with an error message tritonclient can read', async () => {
    const client = await tritonClient();
    const input0 = new InferInput('INPUT0', [1, 15], 'INT32');
    const input1 = new InferInput('INPUT1', [1, 15], 'INT32');
    input0.setDataFromNumpy(ndarray('INT32', [1, 15], new Array<number>(15).fill(1)), false);
    input1.setDataFromNumpy(ndarray('INT32', [1, 15], new Array<number>(15).fill(1)), true);
    const error = await catchTriton(client.infer('simple', [input0, input1]));
    expect(error.status).toBe('400');
    expect(error.msg).toMatch(/INPUT0/);
    expect(error.msg).not.toMatch(/exception occurred in the client/);
  });

  it('get_model_config and get_inference_statistics read Triton-shaped answers', async () => {
    const client = await tritonClient();
    expect(await client.getModelConfig('simple')).toMatchObject({
      name: 'simple',
      platform: 'onnxruntime_onnx',
      backend: 'onnxruntime',
      input: [
        { name: 'INPUT0', data_type: 'TYPE_INT32', dims: [-1, 16] },
        { name: 'INPUT1', data_type: 'TYPE_INT32', dims: [-1, 16] },
      ],
    });
    const one = (await client.getInferenceStatistics('simple')) as { model_stats: { name: string }[] };
    expect(one.model_stats.map((m) => m.name)).toEqual(['simple']);
    const all = (await client.getInferenceStatistics()) as { model_stats: unknown[] };
    expect(all.model_stats.length).toBeGreaterThan(1);
  });

  it('endpoints berth does not serve or does not allow fail as a clean InferenceServerException', async () => {
    const client = await tritonClient();
    const shm = await catchTriton(client.getSystemSharedMemoryStatus());
    expect(shm.status).toBe('404');
    // This server runs with --model-control-mode none, as Triton's default.
    const load = await catchTriton(client.loadModel('simple'));
    expect(load.status).toBe('400');
    expect(load.msg).toMatch(/--model-control-mode none/);
    for (const error of [shm, load]) expect(error.msg).not.toMatch(/exception occurred in the client/);
  });

  it('class_count (image_client.py): classification is answered as BYTES or refused, never as raw scores', async () => {
    // Triton's classification extension answers an output requested with class_count as BYTES
    // "value:index[:label]" strings; image_client.py's postprocess splits them on ":".
    const client = await tritonClient();
    const outcome = await client
      .infer('simple', simpleInputs(), { outputs: [new InferRequestedOutput('OUTPUT0', true, 1)] })
      .then(
        (result) => result.getOutput('OUTPUT0')?.datatype,
        (error: unknown) => {
          if (error instanceof InferenceServerException) return error;
          throw error;
        },
      );
    if (outcome instanceof InferenceServerException) expect(outcome.status).toBe('400');
    else expect(outcome).toBe('BYTES');
  });
});
