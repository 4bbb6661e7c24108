/**
 * One string field of a protobuf message, read from its bytes without decoding the rest (the
 * proto3 wire format: https://protobuf.dev/programming-guides/encoding/). The gateway forwards
 * gRPC messages as bytes and needs only the model a call names, for its metrics; decoding a
 * ModelInferRequest with its tensors for that would cost more than forwarding it.
 */

/** Longest string returned, in bytes: a model name; a longer field is treated as absent. */
const MAX_STRING_BYTES = 1024;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The string in field number `field` (the first occurrence), or "" when the message has none, the
 * field is not length-delimited, or the bytes are malformed.
 *
 * @example
 * protobufStringField(modelInferRequestBytes, 1); // 'resnet50' (model_name)
 */
export function protobufStringField(bytes: Uint8Array, field: number): string {
  let at = 0;
  const end = bytes.byteLength;
  /** A varint at `at`, or -1 when it runs past the end or past 10 bytes. */
  const varint = (): number => {
    let value = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (at >= end) return -1;
      const byte = bytes[at++] as number;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
    return -1;
  };
  while (at < end) {
    const key = varint();
    if (key < 0) return '';
    const number = Math.floor(key / 8);
    switch (key % 8) {
      case 0:
        if (varint() < 0) return '';
        break;
      case 1:
        at += 8;
        break;
      case 2: {
        const length = varint();
        if (length < 0 || at + length > end) return '';
        if (number === field) {
          if (length > MAX_STRING_BYTES) return '';
          try {
            return utf8.decode(bytes.subarray(at, at + length));
          } catch {
            return '';
          }
        }
        at += length;
        break;
      }
      case 5:
        at += 4;
        break;
      default:
        // Groups (3, 4) are not proto3; 6 and 7 are not wire types.
        return '';
    }
  }
  return '';
}
