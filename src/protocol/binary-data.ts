/**
 * Tensor data in Triton's binary tensor data extension
 * (triton-inference-server/server docs/protocol/extension_binary_data.md): little-endian,
 * row-major, no padding; BOOL is one byte (0 or 1); a BYTES element is a 4-byte little-endian
 * unsigned length followed by its bytes.
 */
import {
  BerthError,
  bytesOfArray,
  elementSize,
  viewArray,
  type BytesData,
  type Datatype,
  type NumericArray,
  type TensorData,
} from '../ground/index.js';

function binaryError(message: string): BerthError {
  return new BerthError('BERTH_ERR_PROTOCOL_INVALID_BINARY', message);
}

/**
 * Decodes the binary data of a tensor with `count` elements. Fixed-size data becomes a view over
 * `bytes` (copied only when unaligned); BYTES elements are views too.
 */
export function decodeBinaryData(
  datatype: Datatype,
  bytes: Uint8Array,
  count: number,
  what: string,
): TensorData {
  if (datatype === 'BYTES') return decodeBytesElements(bytes, count, what);
  const expected = count * elementSize(datatype);
  if (bytes.byteLength !== expected) {
    throw binaryError(
      `${what}: binary data has ${bytes.byteLength} bytes but shape and datatype ${datatype} need ${expected}`,
    );
  }
  if (datatype === 'BOOL') {
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i] ?? 0;
      if (b > 1) throw binaryError(`${what}: BOOL element ${i} is byte ${b}, expected 0 or 1`);
    }
  }
  return viewArray(datatype, bytes);
}

function decodeBytesElements(bytes: Uint8Array, count: number, what: string): BytesData {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Each element needs at least its 4-byte length, which bounds the allocation below.
  if (count > bytes.byteLength / 4) {
    throw binaryError(`${what}: ${bytes.byteLength} bytes cannot hold ${count} BYTES elements`);
  }
  const out = new Array<Uint8Array>(count);
  let offset = 0;
  for (let i = 0; i < count; i++) {
    if (offset + 4 > bytes.byteLength) {
      throw binaryError(`${what}: BYTES element ${i} length prefix runs past the end of the data`);
    }
    const length = view.getUint32(offset, true);
    offset += 4;
    if (length > bytes.byteLength - offset) {
      throw binaryError(
        `${what}: BYTES element ${i} declares ${length} bytes but only ${bytes.byteLength - offset} remain`,
      );
    }
    out[i] = bytes.subarray(offset, offset + length);
    offset += length;
  }
  if (offset !== bytes.byteLength) {
    throw binaryError(`${what}: ${bytes.byteLength - offset} bytes remain after ${count} BYTES elements`);
  }
  return out;
}

/** The binary wire form of tensor data; a view for fixed-size types, one buffer for BYTES. */
export function encodeBinaryData(datatype: Datatype, data: TensorData): Uint8Array {
  if (datatype !== 'BYTES') return bytesOfArray(data as NumericArray);
  const elements = data as BytesData;
  let total = 0;
  for (const e of elements) total += 4 + e.byteLength;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let offset = 0;
  for (const e of elements) {
    view.setUint32(offset, e.byteLength, true);
    out.set(e, offset + 4);
    offset += 4 + e.byteLength;
  }
  return out;
}
