import { describe, expect, it } from 'vitest';
import { thrownBy } from '../../test/helpers/errors.js';
import { isMessage, parsePbtxt, type PbtxtMessage } from './pbtxt.js';

const child = (m: PbtxtMessage, field: string, i = 0): PbtxtMessage => {
  const value = m.get(field)?.[i];
  if (!isMessage(value)) throw new Error(`${field} is not a message`);
  return value;
};

describe('parsePbtxt', () => {
  it('reads a typical Triton config: scalars, enums, lists, nested and repeated messages, comments', () => {
    const config = parsePbtxt(
      `
      # the model
      name: "resnet"
      platform: "onnxruntime_onnx"
      max_batch_size : 8
      input [
        {
          name: "input__0"
          data_type: TYPE_FP32
          format: FORMAT_NCHW
          dims: [ 3, 224, 224 ]
          reshape { shape: [ 1, 3, 224, 224 ] }
        }
      ]
      output { name: "out", data_type: TYPE_FP32, dims: [1000] }
      output < name: 'second' dims: -1 dims: 2 >
      dynamic_batching { preferred_batch_size: [ 4, 8 ] max_queue_delay_microseconds: 100 }
      instance_group [ { count: 2 kind: KIND_CPU } ]
      version_policy: { latest: { num_versions: 2 } };
      `,
      'config.pbtxt',
    );
    expect(config.get('name')).toEqual(['resnet']);
    expect(config.get('max_batch_size')).toEqual([8]);
    const input = child(config, 'input');
    expect(input.get('data_type')).toEqual([{ word: 'TYPE_FP32' }]);
    expect(input.get('dims')).toEqual([3, 224, 224]);
    expect(child(input, 'reshape').get('shape')).toEqual([1, 3, 224, 224]);
    expect(config.get('output')).toHaveLength(2);
    expect(child(config, 'output', 1).get('dims')).toEqual([-1, 2]);
    expect(child(config, 'output', 1).get('name')).toEqual(['second']);
    expect(child(child(config, 'version_policy'), 'latest').get('num_versions')).toEqual([2]);
    expect(child(config, 'dynamic_batching').get('preferred_batch_size')).toEqual([4, 8]);
  });

  it('reads escapes, concatenated strings, floats, hex and empty lists', () => {
    const m = parsePbtxt('a: "x\\"y\\n" "z"\nb: 1.5e3\nc: 0x10\nd: []\ne: -2.5f', 'f');
    expect(m.get('a')).toEqual(['x"y\nz']);
    expect(m.get('b')).toEqual([1500]);
    expect(m.get('c')).toEqual([16]);
    expect(m.get('d')).toEqual([]);
    expect(m.get('e')).toEqual([-2.5]);
  });

  it.each([
    ['name: "open', /config.pbtxt:1: string not closed/],
    ['input { name: "x"', /config.pbtxt:1: unexpected end of file, expected \}/],
    ['dims: [1, 2', /unexpected end of file, expected \]/],
    ['}', /config.pbtxt:1: expected a field name, found "}"/],
    ['name: @', /unexpected character "@"/],
    ['a {\n b {\n c: \n}', /config.pbtxt:4: expected a value, found "}"/],
    ['x: "\\q"', /unknown escape \\q/],
  ])('refuses %j with the line and what was expected', (text, message) => {
    const error = thrownBy(() => parsePbtxt(text, 'config.pbtxt'));
    expect(error.code).toBe('BERTH_ERR_REPOSITORY_INVALID_CONFIG');
    expect(error.message).toMatch(message);
  });

  it('refuses nesting deeper than 32 without overflowing the stack', () => {
    const deep = 'a { '.repeat(40) + '}'.repeat(40);
    expect(thrownBy(() => parsePbtxt(deep, 'f')).message).toMatch(/nested deeper than 32/);
  });
});
