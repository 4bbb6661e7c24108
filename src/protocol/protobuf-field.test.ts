import { describe, expect, it } from 'vitest';
import { encodeGrpcInferRequest } from './grpc-infer.js';
import { inferenceMethods, type GrpcMethod } from './grpc-schema.js';
import { protobufStringField } from './protobuf-field.js';

const METHODS = inferenceMethods();

describe('protobufStringField', () => {
  it('reads the model name of real request messages, whatever precedes it', () => {
    const infer = (METHODS.ModelInfer as GrpcMethod).requestSerialize(
      encodeGrpcInferRequest('resnet50', '3', {
        id: 'req-1',
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: new Float32Array([1, 2]) }],
      }),
    );
    expect(protobufStringField(infer, 1)).toBe('resnet50');
    expect(protobufStringField(infer, 2)).toBe('3');
    expect(protobufStringField(infer, 3)).toBe('req-1');
    const metadata = (METHODS.ModelMetadata as GrpcMethod).requestSerialize({ name: 'iris', version: '' });
    expect(protobufStringField(metadata, 1)).toBe('iris');
    // Fields of every wire type before the one asked for are skipped.
    const mixed = Buffer.from([
      0x18,
      0x96,
      0x01, // field 3, varint 150
      0x21,
      1,
      2,
      3,
      4,
      5,
      6,
      7,
      8, // field 4, 64-bit
      0x2d,
      1,
      2,
      3,
      4, // field 5, 32-bit
      0x32,
      2,
      0x68,
      0x69, // field 6, "hi"
      0x0a,
      3,
      0x61,
      0x62,
      0x63, // field 1, "abc"
    ]);
    expect(protobufStringField(mixed, 1)).toBe('abc');
    expect(protobufStringField(mixed, 6)).toBe('hi');
  });

  it('gives "" for a missing field, truncated or malformed bytes, bad UTF-8 or a long string', () => {
    expect(protobufStringField(Buffer.alloc(0), 1)).toBe('');
    expect(protobufStringField(Buffer.from([0x12, 1, 0x61]), 1)).toBe(''); // only field 2
    expect(protobufStringField(Buffer.from([0x0a, 5, 0x61]), 1)).toBe(''); // length past the end
    expect(protobufStringField(Buffer.from([0x0a]), 1)).toBe(''); // no length
    expect(protobufStringField(Buffer.from([0x0b, 0x0c]), 1)).toBe(''); // a group
    expect(protobufStringField(Buffer.from([0x0e]), 1)).toBe(''); // wire type 6
    expect(protobufStringField(Buffer.from(new Array(11).fill(0xff)), 1)).toBe(''); // endless varint
    expect(protobufStringField(Buffer.from([0x0a, 2, 0xc3, 0x28]), 1)).toBe(''); // not UTF-8
    const long = Buffer.concat([Buffer.from([0x0a, 0x81, 0x08]), Buffer.alloc(1025, 0x61)]);
    expect(protobufStringField(long, 1)).toBe('');
  });

  it('never throws or runs long on random bytes', () => {
    let state = 7;
    const next = () => (state = (state * 1103515245 + 12345) & 0x7fffffff) % 256;
    for (let i = 0; i < 2000; i++) {
      const bytes = Uint8Array.from({ length: next() % 64 }, next);
      expect(typeof protobufStringField(bytes, 1)).toBe('string');
    }
  });
});
