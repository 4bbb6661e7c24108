import { describe, expect, it } from 'vitest';
import { InFlightCount } from './in-flight.js';

describe('InFlightCount', () => {
  it('is idle at once with no call, and once the last call ends, each end counted once', async () => {
    const calls = new InFlightCount();
    await calls.idle();
    const a = calls.begin();
    const b = calls.begin();
    let idle = false;
    const waiting = calls.idle().then(() => (idle = true));
    a();
    a();
    await Promise.resolve();
    expect(idle).toBe(false);
    b();
    await waiting;
    expect(idle).toBe(true);
  });
});
