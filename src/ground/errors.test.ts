import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { httpStatusOf } from './error-status.js';
import { BerthError, ERROR_CATEGORIES, ERROR_CODES, toBerthError, type ErrorCode } from './errors.js';

interface DocumentedCode {
  readonly code: string;
  readonly category: string;
  readonly http: number;
  readonly meaning: string;
}

/** The rows of the codes table in docs/errors.md: | `CODE` | CATEGORY | HTTP | meaning |. */
function documentedCodes(): DocumentedCode[] {
  const text = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  const rows: DocumentedCode[] = [];
  for (const line of text.split('\n')) {
    const match = /^\|\s*`(BERTH_ERR_[A-Z0-9_]+)`\s*\|\s*([A-Z_]+)\s*\|\s*(\d{3})\s*\|(.*)\|\s*$/.exec(line);
    if (match === null) continue;
    rows.push({ code: match[1]!, category: match[2]!, http: Number(match[3]), meaning: match[4]!.trim() });
  }
  return rows;
}

const codes = Object.keys(ERROR_CODES) as ErrorCode[];
const documented = documentedCodes();

describe('docs/errors.md', () => {
  it('has a table row for every error code', () => {
    const listed = new Set(documented.map((row) => row.code));
    expect(codes.filter((code) => !listed.has(code))).toEqual([]);
  });

  it('lists no code that does not exist, and none twice', () => {
    expect(documented.map((row) => row.code).filter((code) => !Object.hasOwn(ERROR_CODES, code))).toEqual([]);
    expect(documented.length).toBe(new Set(documented.map((row) => row.code)).size);
  });

  it('lists the codes in the order of ERROR_CODES', () => {
    expect(documented.map((row) => row.code)).toEqual(codes);
  });

  it.each(codes)('documents the category and HTTP status of %s', (code) => {
    const row = documented.find((r) => r.code === code);
    const error = new BerthError(code, 'x');
    expect(row?.category).toBe(error.category);
    expect(row?.http).toBe(httpStatusOf(error));
    expect(row?.meaning).not.toBe('');
  });
});

/** The catch-all code predates the naming rule and has no <WHAT>; it is the only exception. */
const NAMING_EXCEPTIONS: readonly ErrorCode[] = ['BERTH_ERR_INTERNAL'];

describe('ERROR_CODES', () => {
  it.each(codes.filter((code) => !NAMING_EXCEPTIONS.includes(code)))(
    '%s follows BERTH_ERR_<AREA>_<WHAT>',
    (code) => {
      expect(code).toMatch(/^BERTH_ERR_[A-Z]+_[A-Z_]+$/);
    },
  );

  it('has no other code outside the naming rule', () => {
    expect(codes.filter((code) => !/^BERTH_ERR_[A-Z]+_[A-Z_]+$/.test(code))).toEqual(NAMING_EXCEPTIONS);
  });

  it.each(codes)('%s has a known category and a description', (code) => {
    expect(ERROR_CATEGORIES).toContain(ERROR_CODES[code].category);
    expect(ERROR_CODES[code].description.length).toBeGreaterThan(0);
  });
});

describe('toBerthError', () => {
  it('turns a plain Error into BERTH_ERR_INTERNAL with a generic message, keeping the cause', () => {
    const cause = new Error('ENOENT: /secret/path/model.onnx');
    const error = toBerthError(cause);
    expect(error).toBeInstanceOf(BerthError);
    expect(error.code).toBe('BERTH_ERR_INTERNAL');
    expect(error.category).toBe('INTERNAL');
    expect(error.message).toBe('internal server error');
    expect(error.message).not.toContain('/secret/path');
    expect(error.cause).toBe(cause);
    expect(httpStatusOf(error)).toBe(500);
  });

  it('wraps values that are not errors too', () => {
    const error = toBerthError('boom');
    expect(error.code).toBe('BERTH_ERR_INTERNAL');
    expect(error.cause).toBe('boom');
  });

  it('returns a BerthError unchanged', () => {
    const original = new BerthError('BERTH_ERR_MODEL_NOT_FOUND', 'unknown model "x"');
    expect(toBerthError(original)).toBe(original);
  });
});
