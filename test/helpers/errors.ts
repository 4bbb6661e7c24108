import { expect } from 'vitest';
import { BerthError } from '../../src/protocol/index.js';

/** The BerthError a call throws; fails the test when it throws nothing or something else. */
export function thrownBy(fn: () => unknown): BerthError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(BerthError);
    return error as BerthError;
  }
  throw new Error('expected the call to throw');
}
