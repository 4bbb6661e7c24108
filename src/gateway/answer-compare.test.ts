import { describe, expect, it } from 'vitest';
import {
  encodeRestInferResponse,
  INFERENCE_HEADER_CONTENT_LENGTH,
  type InferResponse,
} from '../protocol/index.js';
import { compareRaw, decodeAnswer, type RawAnswer } from './answer-compare.js';
import { DEFAULT_AGREEMENT } from './prediction-agreement.js';

function response(values: number[]): InferResponse {
  return {
    modelName: 'm',
    modelVersion: '1',
    outputs: [{ name: 'y', datatype: 'FP32', shape: [1, values.length], data: Float32Array.from(values) }],
  };
}

/** A REST answer as a replica sends it: JSON, or binary tensors after the JSON header. */
function raw(values: number[], binary: boolean, status = 200): RawAnswer {
  const { header, chunks } = encodeRestInferResponse(response(values), { binary: () => binary });
  if (!binary) return { status, headers: { 'content-type': 'application/json' }, body: Buffer.from(header) };
  const head = Buffer.from(header);
  return {
    status,
    headers: { [INFERENCE_HEADER_CONTENT_LENGTH]: String(head.byteLength) },
    body: Buffer.concat([head, ...chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength))]),
  };
}

describe('compareRaw', () => {
  it('decodes JSON and binary answers alike and compares their tensors', () => {
    expect(Array.from(decodeAnswer(raw([1, 2], true))?.outputs[0]?.data as Float32Array)).toEqual([1, 2]);
    expect(compareRaw(raw([0.1, 0.9], false), raw([0.2, 0.8], true), DEFAULT_AGREEMENT)?.agree).toBe(true);
    const outcome = compareRaw(raw([0.1, 0.9], true), raw([0.9, 0.1], false), DEFAULT_AGREEMENT);
    expect(outcome?.agree).toBe(false);
    expect(outcome?.reason).toMatch(/"y"/);
  });

  it('does not compare what is not a 200 inference answer', () => {
    expect(compareRaw(raw([1], false, 500), raw([1], false), DEFAULT_AGREEMENT)).toBeUndefined();
    const garbage = { status: 200, headers: {}, body: Buffer.from('not json') };
    expect(compareRaw(raw([1], false), garbage, DEFAULT_AGREEMENT)).toBeUndefined();
  });
});
