import { describe, expect, it } from 'vitest';
import { BerthError } from '../ground/index.js';
import { parseRollout, parseScale } from './control-api.js';

function refusal(text: string, parse: (text: string) => unknown = parseScale): BerthError {
  try {
    parse(text);
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

describe('parseRollout', () => {
  it('takes a start with absolute paths and an optional strategy, or promote, abort, undo', () => {
    expect(parseRollout('{"action":"start","models":["/m/v2"]}')).toEqual({
      action: 'start',
      models: ['/m/v2'],
    });
    expect(parseRollout('{"action":"start","models":["/a.onnx"],"strategy":"shadow"}')).toEqual({
      action: 'start',
      models: ['/a.onnx'],
      strategy: 'shadow',
    });
    for (const action of ['promote', 'abort', 'undo'])
      expect(parseRollout(`{"action":"${action}"}`)).toEqual({ action });
  });

  it('refuses anything else, naming the field and what was expected', () => {
    const refused = (text: string) => refusal(text, parseRollout).message;
    expect(refused('{"action":"go"}')).toMatch(
      /"action" must be "start", "promote", "abort" or "undo", got "go"/,
    );
    expect(refused('{"action":"start","models":["relative/v2"]}')).toMatch(/absolute paths/);
    expect(refused('{"action":"start"}')).toMatch(/"models" must be a list/);
    expect(refused('{"action":"start","models":["/m"],"strategy":"blue-green"}')).toMatch(
      /"strategy" must be one of rolling, canary, shadow/,
    );
    expect(refused('{"action":"abort","models":["/m"]}')).toMatch(/takes no "models"/);
    expect(refused('{"action":"abort","force":true}')).toMatch(/unknown field "force"/);
    expect(refusal('{', parseRollout).code).toBe('BERTH_ERR_PROTOCOL_INVALID_JSON');
  });
});
