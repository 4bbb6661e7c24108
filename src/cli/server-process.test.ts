import { describe, expect, it } from 'vitest';
import { serverV8Flags } from './server-process.js';

describe('serverV8Flags', () => {
  it('counts external memory in the global limit on V8 13 and later (Node.js 24)', () => {
    expect(serverV8Flags([], '13.6.233.17-node.44')).toEqual(['--external-memory-accounted-in-global-limit']);
    expect(serverV8Flags(['--max-old-space-size=512'], '14.1.0')).toEqual([
      '--external-memory-accounted-in-global-limit',
    ]);
  });

  it('sets nothing on V8 12 (Node.js 22), which does not know the flag', () => {
    expect(serverV8Flags([], '12.4.254.21-node.33')).toEqual([]);
  });

  it('leaves the choice to a flag on node’s own command line, in either form', () => {
    expect(serverV8Flags(['--no-external-memory-accounted-in-global-limit'], '13.6.233.17')).toEqual([]);
    expect(serverV8Flags(['--external_memory_accounted_in_global_limit'], '13.6.233.17')).toEqual([]);
  });
});
