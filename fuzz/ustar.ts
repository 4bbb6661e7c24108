/**
 * A tar archive of regular files, written in the ustar format as the fuzz targets need it: names
 * of up to 100 bytes as given (`../x` and `/abs` included: the reader must refuse them), 512-byte
 * headers and blocks, two zero blocks at the end.
 */
import { concat } from '../test/helpers/bytes.ts';

const BLOCK = 512;

function field(header: Uint8Array, at: number, length: number, value: string): void {
  const bytes = new TextEncoder().encode(value).subarray(0, length);
  header.set(bytes, at);
}

const octal = (value: number, length: number) => value.toString(8).padStart(length - 1, '0');

/**
 * @example
 * const archive = ustar({ 'manifest.json': bytes, 'layer.tar': other });
 */
export function ustar(files: Readonly<Record<string, Uint8Array>>): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [name, data] of Object.entries(files)) {
    const header = new Uint8Array(BLOCK);
    field(header, 0, 100, name);
    field(header, 100, 8, octal(0o644, 8));
    field(header, 108, 8, octal(0, 8));
    field(header, 116, 8, octal(0, 8));
    field(header, 124, 12, octal(data.byteLength, 12));
    field(header, 136, 12, octal(0, 12));
    header.fill(0x20, 148, 156); // the checksum counts its own field as spaces
    header[156] = 0x30; // a regular file
    field(header, 257, 6, 'ustar');
    field(header, 263, 2, '00');
    const sum = header.reduce((total, byte) => total + byte, 0);
    field(header, 148, 8, `${octal(sum, 7)}\0`);
    parts.push(header, data, new Uint8Array((BLOCK - (data.byteLength % BLOCK)) % BLOCK));
  }
  parts.push(new Uint8Array(2 * BLOCK));
  return concat(parts);
}
