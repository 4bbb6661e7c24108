import { describe, expect, it } from 'vitest';
import { BerthError } from '../ground/index.js';
import { parseScale } from './control-api.js';

function refusal(text: string): BerthError {
  try {
    parseScale(text);
  } catch (error) {
    if (error instanceof BerthError) return error;
    throw error;
  }
  throw new Error(`${text} was accepted`);
}

describe('parseScale', () => {
  it('takes a replica count, or auto', () => {
    expect(parseScale('{"replicas": 3}')).toBe(3);
    expect(parseScale('{"replicas": 0}')).toBe(0);
    expect(parseScale('{"auto": true}')).toBeUndefined();
  });

  it('refuses anything else, naming the field and what was expected', () => {
    expect(refusal('nope').code).toBe('BERTH_ERR_PROTOCOL_INVALID_JSON');
    expect(refusal('[3]').message).toMatch(/must be an object/);
    expect(refusal('{"replicas": 257}').message).toMatch(
      /"replicas" must be an integer from 0 to 256, got 257/,
    );
    expect(refusal('{"replicas": 1.5}').code).toBe('BERTH_ERR_CONTROL_INVALID_REQUEST');
    expect(refusal('{"replicas": "2"}').message).toMatch(/got "2"/);
    expect(refusal('{}').message).toMatch(/"replicas" must be an integer/);
    expect(refusal('{"replica": 2}').message).toMatch(/unknown field "replica"/);
    expect(refusal('{"auto": false}').message).toMatch(/"auto" must be true/);
    expect(refusal('{"auto": true, "replicas": 2}').message).toMatch(/without "replicas"/);
  });
});
