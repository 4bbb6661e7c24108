/**
 * A structure-aware mutation for formats that are JSON: one node of the parsed value replaced by
 * an edge value (numbers at integer and float limits, datatype names, empty and ragged arrays,
 * wrong types), removed, repeated, or wrapped. Byte mutations mostly break JSON at the first
 * byte they touch; these keep it valid, so the fuzzer gets past the JSON parser into the code
 * that reads the request.
 */
import type { Random } from './mutate.ts';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const EDGE_VALUES: readonly Json[] = [
  0,
  -1,
  1,
  2,
  255,
  65536,
  2147483648,
  4294967296,
  2 ** 53 + 2,
  1.5,
  -0.5,
  1e300,
  '',
  'FP32',
  'FP16',
  'BF16',
  'INT64',
  'UINT64',
  'BYTES',
  'BOOL',
  'x',
  'y',
  true,
  false,
  null,
  [],
  {},
  [[1, 2], [3]],
  [[[[[[[[1]]]]]]]],
  ['a', 1, true, null],
  { int64_param: 2 },
];

const int = (random: Random, n: number): number => Math.floor(random() * n);

/** Every container and the key or index of each node in it, in document order. */
function slots(value: Json, out: { parent: Json[] | Record<string, Json>; key: string | number }[] = []) {
  if (Array.isArray(value)) {
    value.forEach((item, index) => {
      out.push({ parent: value, key: index });
      slots(item, out);
    });
  } else if (value !== null && typeof value === 'object') {
    for (const key of Object.keys(value)) {
      out.push({ parent: value, key });
      slots(value[key] as Json, out);
    }
  }
  return out;
}

/**
 * The JSON text with one node changed; undefined when `text` is not JSON.
 *
 * @example
 * mutateJson('{"shape":[1,4]}', random); // e.g. '{"shape":[1,4294967296]}'
 */
export function mutateJson(text: string, random: Random): string | undefined {
  let value: Json;
  try {
    value = JSON.parse(text) as Json;
  } catch {
    return undefined;
  }
  const all = slots(value);
  if (all.length === 0) return JSON.stringify(EDGE_VALUES[int(random, EDGE_VALUES.length)]);
  const { parent, key } = all[int(random, all.length)] as (typeof all)[number];
  const get = (): Json => (parent as Record<string | number, Json>)[key] as Json;
  const set = (next: Json) => ((parent as Record<string | number, Json>)[key] = next);
  switch (int(random, 6)) {
    case 0:
    case 1:
      set(structuredClone(EDGE_VALUES[int(random, EDGE_VALUES.length)] as Json));
      break;
    case 2:
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else Reflect.deleteProperty(parent, key);
      break;
    case 3:
      if (Array.isArray(parent)) parent.splice(key as number, 0, structuredClone(get()));
      else set([get(), get()]);
      break;
    case 4:
      set([get()]);
      break;
    default: {
      // Another node's value in this place: a field of the wrong kind, of the same document.
      const other = all[int(random, all.length)] as (typeof all)[number];
      set(structuredClone((other.parent as Record<string | number, Json>)[other.key] as Json));
    }
  }
  return JSON.stringify(value);
}
