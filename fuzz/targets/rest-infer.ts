/**
 * The REST inference request, as `POST /v2/models/M/infer` takes it: an optional
 * Inference-Header-Content-Length (the input's first line when it starts with `#`), the JSON
 * header and the binary section after it (or, with a length of 0, Triton's raw body for the
 * model's only input), decoded and then validated against a model's signature, as the server
 * does before a request is queued.
 */
import type * as Ground from '../../src/ground/index.js';
import type * as Protocol from '../../src/protocol/index.js';
import { mutateJson } from '../json-mutate.ts';
import { MAX_BATCH_SIZE, SIGNATURE } from '../signature.ts';
import { berth, utf8, type FuzzTarget } from '../target.ts';

const protocol = await berth<typeof Protocol>('protocol/index.js');
const ground = await berth<typeof Ground>('ground/index.js');

const RAW_INPUT: Ground.TensorSpec = { name: 'x', datatype: 'FP32', shape: [-1, 4] };

function body(header: unknown, ...binary: Uint8Array[]): Uint8Array {
  const json = utf8.encode(JSON.stringify(header));
  if (binary.length === 0) return json;
  const parts = [utf8.encode(`#${json.byteLength}\n`), json, ...binary];
  return Uint8Array.from(parts.flatMap((part) => [...part]));
}

const f32 = (...values: number[]) => new Uint8Array(Float32Array.from(values).buffer);

/** The Inference-Header-Content-Length line of an input (`#N`), and the body after it. */
function split(data: Uint8Array): { length: string | undefined; rest: Uint8Array } {
  if (data[0] !== 0x23) return { length: undefined, rest: data };
  const newline = data.indexOf(0x0a);
  if (newline < 0) return { length: undefined, rest: data };
  return {
    length: Buffer.from(data.subarray(1, newline)).toString('latin1'),
    rest: data.subarray(newline + 1),
  };
}

export const target: FuzzTarget = {
  name: 'rest-infer',
  description:
    'REST inference request: Inference-Header-Content-Length, JSON header, binary section or raw body, then validation against a signature',
  focus: [
    '/protocol/rest-',
    '/protocol/json-data',
    '/protocol/binary-data',
    '/protocol/infer-validate',
    '/protocol/classification',
  ],
  dictionary: [
    '"inputs"',
    '"outputs"',
    '"name"',
    '"shape"',
    '"datatype"',
    '"data"',
    '"parameters"',
    '"binary_data_size"',
    '"binary_data"',
    '"binary_data_output"',
    '"classification"',
    '"shared_memory_region"',
    '"id"',
    '"FP32"',
    '"INT64"',
    '"BYTES"',
    '"BOOL"',
    '"FP16"',
    '"UINT64"',
    '"x"',
    '"ids"',
    '"text"',
    '"mask"',
    '"half"',
    '"y"',
    'true',
    'false',
    'null',
    '[',
    ']',
    '{',
    '}',
    ',',
    ':',
    '#0\n',
    '#16\n',
  ],
  maxLength: 4096,
  seeds: () =>
    Promise.resolve({
      'json-fp32': body({ inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] }),
      'json-every-datatype': body({
        id: 'r1',
        parameters: { binary_data_output: false },
        inputs: [
          {
            name: 'x',
            datatype: 'FP32',
            shape: [2, 4],
            data: [
              [1, 2, 3, 4],
              [5, 6, 7, 8],
            ],
          },
          { name: 'ids', datatype: 'INT64', shape: [2, 2], data: [1, -2, 3, 9007199254740991] },
          { name: 'text', datatype: 'BYTES', shape: [2], data: ['a', 'bé'] },
          { name: 'mask', datatype: 'BOOL', shape: [2, 3], data: [true, false, true, false, true, false] },
          { name: 'half', datatype: 'FP16', shape: [2, 2], data: [0.5, 1, -2, 65504] },
        ],
        outputs: [
          { name: 'y', parameters: { binary_data: true } },
          { name: 'p', parameters: { classification: 1 } },
        ],
      }),
      'binary-fp32': body(
        { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], parameters: { binary_data_size: 16 } }] },
        f32(1, 2, 3, 4),
      ),
      'binary-bytes': body(
        { inputs: [{ name: 'text', datatype: 'BYTES', shape: [1], parameters: { binary_data_size: 7 } }] },
        Uint8Array.of(3, 0, 0, 0, 0x61, 0x62, 0x63),
      ),
      'raw-body': Uint8Array.from([...utf8.encode('#0\n'), ...f32(1, 2, 3, 4, 5, 6, 7, 8)]),
    }),
  mutate: (data, random) => {
    // The JSON header changed as JSON; the length line, when there is one, follows it.
    const { length, rest } = split(data);
    const end = length === undefined ? rest.byteLength : Number(length);
    if (!Number.isInteger(end) || end > rest.byteLength) return undefined;
    const json = mutateJson(Buffer.from(rest.subarray(0, end)).toString('utf8'), random);
    if (json === undefined) return undefined;
    const header = utf8.encode(json);
    if (length === undefined) return header;
    return Uint8Array.from([...utf8.encode(`#${header.byteLength}\n`), ...header, ...rest.subarray(end)]);
  },
  run: (data) => {
    const { length: headerLength, rest } = split(data);
    const length = protocol.parseHeaderLength(headerLength, rest.byteLength);
    const limits = ground.DEFAULT_DECODE_LIMITS;
    const { request } =
      length === 0
        ? protocol.decodeRawInferRequest(RAW_INPUT, rest, limits)
        : (() => {
            const { header, binary } = protocol.splitRestBody(rest, length);
            return protocol.decodeRestInferRequest(header, binary, limits);
          })();
    protocol.validateInferRequest(request, SIGNATURE, { maxBatchSize: MAX_BATCH_SIZE });
    return request;
  },
};
