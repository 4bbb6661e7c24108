/** Field readers for untrusted REST JSON: each names the field and what was expected. */
import { BerthError, type ParameterValue, type Parameters } from '../ground/index.js';

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function invalidRequest(message: string): BerthError {
  return new BerthError('BERTH_ERR_PROTOCOL_INVALID_REQUEST', message);
}

export function readObject(value: unknown, what: string): Record<string, unknown> {
  if (!isObject(value)) throw invalidRequest(`${what} must be a JSON object`);
  return value;
}

export function readString(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length === 0)
    throw invalidRequest(`${what} must be a non-empty string`);
  return value;
}

export function readArray(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw invalidRequest(`${what} must be an array`);
  return value;
}

/** `$parameters`: an object whose values are strings, numbers or booleans. */
export function readParameters(value: unknown, what: string): Parameters | undefined {
  if (value === undefined) return undefined;
  const object = readObject(value, what);
  // Checked in place: the object is fresh from JSON.parse, and a copy per request is garbage.
  for (const key in object) {
    const v = object[key];
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
      throw invalidRequest(`${what}.${key} must be a string, number or boolean`);
    }
  }
  return object as Record<string, ParameterValue>;
}

export function readBooleanParameter(
  parameters: Parameters | undefined,
  key: string,
  what: string,
): boolean | undefined {
  const value = parameters?.[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw invalidRequest(`${what}.${key} must be true or false`);
  return value;
}
