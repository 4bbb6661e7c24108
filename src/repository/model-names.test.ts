import { describe, expect, it } from 'vitest';

import { BerthError } from '../ground/index.js';
import { checkModelName, isValidModelName, parseVersionName } from './model-names.js';

describe('isValidModelName', () => {
  it.each(['iris', 'resnet-50', 'a.b_c', '_private', 'A1', '9lives', 'v1.2.3', 'a'.repeat(128)])(
    'accepts %j',
    (name) => {
      expect(isValidModelName(name)).toBe(true);
    },
  );

  it.each([
    '',
    '.',
    '..',
    '.hidden',
    '-flag',
    'a/b',
    '../etc',
    'a\\b',
    'a b',
    'a:b',
    'näme',
    'a\u0000b',
    'line\nbreak',
    'a'.repeat(129),
  ])('refuses %j', (name) => {
    expect(isValidModelName(name)).toBe(false);
  });
});

describe('checkModelName', () => {
  it('returns a valid name', () => {
    expect(checkModelName('iris', 'models')).toBe('iris');
  });

  it('throws a repository error naming where the name came from', () => {
    let error: unknown;
    try {
      checkModelName('../etc', '/srv/models');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(BerthError);
    expect(error).toMatchObject({
      code: 'BERTH_ERR_REPOSITORY_INVALID_NAME',
      message: expect.stringMatching(/^\/srv\/models: model name "\.\.\/etc" is not allowed: /) as unknown,
    });
  });
});

describe('parseVersionName', () => {
  it.each([
    ['1', 1],
    ['2', 2],
    ['42', 42],
    ['999999999999999', 999999999999999],
  ])('reads %j as %d', (name, version) => {
    expect(parseVersionName(name)).toBe(version);
  });

  it.each(['0', '01', '007', 'abc', '-1', '1.0', '1e3', ' 1', '1 ', '', '+1', '0x1', '9999999999999999'])(
    'ignores %j',
    (name) => {
      expect(parseVersionName(name)).toBeUndefined();
    },
  );
});
