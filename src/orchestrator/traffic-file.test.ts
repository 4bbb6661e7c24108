import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { NO_ROLLOUT, parseTraffic, readTraffic, sameTraffic } from './traffic-file.js';

describe('parseTraffic', () => {
  it('fills in defaults, and reads empty text or {} as no rollout', () => {
    expect(parseTraffic('{"candidate": true, "weight": 10}')).toEqual({
      candidate: true,
      weight: 10,
      mirror: 0,
      step: 0,
      compare: false,
    });
    expect(parseTraffic('')).toEqual(NO_ROLLOUT);
    expect(parseTraffic('{}')).toEqual(NO_ROLLOUT);
  });

  it.each([
    ['{"candidate": true, "weight": 101}', /^weight: /],
    ['{"candidate": true, "weight": 1.5}', /^weight: /],
    ['{"candidate": true, "wieght": 10}', /unrecognized key.*wieght/i],
    ['{"weight": 10}', /weight, mirror and compare need "candidate": true/],
    ['[1]', /^the file: /],
    ['{"candidate": tru', /^not JSON: /],
    [`{"candidate": true, "pad": "${'x'.repeat(5000)}"}`, /larger than 4096 bytes/],
  ])('refuses %s with a reason naming the field', (text, reason) => {
    expect(() => parseTraffic(text)).toThrow(reason);
  });

  it('compares settings field by field', () => {
    expect(
      sameTraffic(parseTraffic('{"candidate": true}'), parseTraffic('{"candidate": true, "step": 0}')),
    ).toBe(true);
    expect(
      sameTraffic(parseTraffic('{"candidate": true}'), parseTraffic('{"candidate": true, "step": 1}')),
    ).toBe(false);
  });
});

describe('readTraffic', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('reads a missing file as no rollout, and a present one as it says', async () => {
    dir = mkdtempSync(join(tmpdir(), 'berth-traffic-'));
    const file = join(dir, 'traffic.json');
    expect(await readTraffic(file)).toEqual(NO_ROLLOUT);
    writeFileSync(file, '{"candidate": true, "mirror": 100}');
    expect(await readTraffic(file)).toMatchObject({ candidate: true, mirror: 100 });
  });
});
