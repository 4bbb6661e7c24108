/**
 * Not a parser of berth's: a record reader with a bug planted behind the magic "BRTH", which
 * coverage guidance finds in seconds and blind mutation practically never. The
 * fuzzer's own test runs it to prove that a finding fails the run. It reads berth's own error
 * class, so the coverage it is guided by is in dist/ like every other target's.
 */
import type * as Ground from '../../src/ground/index.js';
import { berth, utf8, type FuzzTarget } from '../target.ts';

const ground = await berth<typeof Ground>('ground/index.js');

export const target: FuzzTarget = {
  name: 'planted',
  description: 'a planted bug behind a 4-byte magic (the fuzzer proving itself; not run by default)',
  focus: ['/ground/errors'],
  // Letters, as a format's dictionary would give them: the magic still takes four steps, each
  // kept only because it showed new coverage (all four at once by chance: about 1 in 10^10).
  dictionary: ['B', 'R', 'T', 'H', 'X', 'Y', 'Z', 'Q'],
  maxLength: 64,
  seeds: () => Promise.resolve({ record: utf8.encode('xxxx:3:abc') }),
  run: (data) => {
    // Each matched byte of the magic goes through berth code (a new error made and dropped), so
    // that each is a block of coverage in dist/ that guides the fuzzer to the next.
    const magic = 'BRTH';
    for (let i = 0; i < magic.length; i++) {
      if (data[i] !== magic.charCodeAt(i))
        throw new ground.BerthError('BERTH_ERR_PROTOCOL_INVALID_REQUEST', `byte ${i}`);
      void ground.showValue(i === 0 ? 'B' : i === 1 ? 'R' : i === 2 ? 'T' : 'H');
    }
    throw new TypeError('planted: the magic matched');
  },
};
