import { describe, expect, it } from 'vitest';

import { parseChoice, parseDuration, parseInteger, parseSize } from './option-parsers.js';
import { thrownBy } from '../../test/helpers/errors.js';

describe('parseInteger', () => {
  it.each([
    ['8080', 8080],
    ['1', 1],
    ['65535', 65535],
    [' 42 ', 42],
    ['007', 7],
  ])('reads %j as %d', (value, expected) => {
    expect(parseInteger('--port', value, 1, 65535)).toBe(expected);
  });

  it.each(['0', '65536', '-1', '1.5', 'abc', '', ' ', '1e3', '0x10', '+5', '80 80', '99999999999999999999'])(
    'refuses %j, naming the option and the range',
    (value) => {
      const error = thrownBy(() => parseInteger('--port', value, 1, 65535));
      expect(error.code).toBe('BERTH_ERR_CLI_INVALID_OPTION');
      expect(error.message).toBe(`--port: expected an integer from 1 to 65535, got ${JSON.stringify(value)}`);
    },
  );

  it('accepts 0 where the range allows it', () => {
    expect(parseInteger('--threads', '0', 0, 1024)).toBe(0);
  });
});

describe('parseSize', () => {
  it.each([
    ['1048576', 1048576],
    ['1', 1],
    ['512b', 512],
    ['2k', 2000],
    ['10 kb', 10_000],
    ['1KiB', 1024],
    ['1.5KiB', 1536],
    ['100MB', 100_000_000],
    ['64MiB', 64 * 1024 * 1024],
    ['64mib', 64 * 1024 * 1024],
    ['1g', 1e9],
    ['1GiB', 1024 ** 3],
    [' 8 MiB ', 8 * 1024 * 1024],
    ['2147483647', 2 ** 31 - 1],
  ])('reads %j as %d bytes', (value, expected) => {
    expect(parseSize('--max-body-size', value)).toBe(expected);
  });

  it.each(['', 'abc', '-1', '1TB', '1 TiB', 'MiB', '1.5.5MB', '10 k b', '0x10'])(
    'refuses the size %j',
    (value) => {
      const error = thrownBy(() => parseSize('--max-body-size', value));
      expect(error.code).toBe('BERTH_ERR_CLI_INVALID_OPTION');
      expect(error.message).toBe(
        `--max-body-size: expected a size such as 64MiB, 100MB or 1048576, got ${JSON.stringify(value)}`,
      );
    },
  );

  it.each(['0', '0.5', '0KiB', '2GiB', '3GiB', '2147483648', '1000000000000'])(
    'refuses the out-of-range size %j, stating the range',
    (value) => {
      const error = thrownBy(() => parseSize('--max-body-size', value));
      expect(error.code).toBe('BERTH_ERR_CLI_INVALID_OPTION');
      expect(error.message).toBe(
        `--max-body-size: expected a size from 1 byte to 2GiB - 1 (2147483647), got ${JSON.stringify(value)}`,
      );
    },
  );
});

describe('parseDuration', () => {
  it.each([
    ['30s', 30_000],
    ['500ms', 500],
    ['2m', 120_000],
    ['1500', 1500],
    ['0', 0],
    ['1.5s', 1500],
    ['0.5ms', 1],
    ['30 S', 30_000],
    ['10MS', 10],
    ['1440m', 24 * 3600 * 1000],
  ])('reads %j as %d ms', (value, expected) => {
    expect(parseDuration('--timeout', value)).toBe(expected);
  });

  it.each(['', 'abc', '-1s', '1h', '1d', 's', '1.s', '5 minutes'])('refuses the duration %j', (value) => {
    const error = thrownBy(() => parseDuration('--timeout', value));
    expect(error.code).toBe('BERTH_ERR_CLI_INVALID_OPTION');
    expect(error.message).toBe(
      `--timeout: expected a duration such as 30s, 500ms or 2m, got ${JSON.stringify(value)}`,
    );
  });

  it('refuses durations over 24 hours', () => {
    for (const value of ['1441m', '86401s', '86400001']) {
      const error = thrownBy(() => parseDuration('--timeout', value));
      expect(error.code).toBe('BERTH_ERR_CLI_INVALID_OPTION');
      expect(error.message).toBe(
        `--timeout: expected a duration of at most 24h, got ${JSON.stringify(value)}`,
      );
    }
  });
});

describe('parseChoice', () => {
  const formats = ['json', 'pretty'] as const;

  it('returns a listed choice', () => {
    expect(parseChoice('--log-format', 'pretty', formats)).toBe('pretty');
  });

  it.each(['JSON', 'yaml', '', ' json'])('refuses %j, listing the choices', (value) => {
    const error = thrownBy(() => parseChoice('--log-format', value, formats));
    expect(error.code).toBe('BERTH_ERR_CLI_INVALID_OPTION');
    expect(error.message).toBe(`--log-format: expected one of json, pretty, got ${JSON.stringify(value)}`);
  });
});
