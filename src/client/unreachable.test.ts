import { describe, expect, it } from 'vitest';
import { freePort } from '../../test/helpers/free-port.js';
import { reasonUnreachable, unreachable } from './unreachable.js';

async function fetchFailure(url: string, init: RequestInit = {}): Promise<unknown> {
  return fetch(url, init).then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe('reasonUnreachable', () => {
  it("gives fetch's system cause instead of its bare 'fetch failed'", async () => {
    const port = await freePort();
    const error = await fetchFailure(`http://127.0.0.1:${port}/`);
    expect((error as Error).message).toBe('fetch failed');
    expect(reasonUnreachable(error)).toBe(`connect ECONNREFUSED 127.0.0.1:${port}`);
    const berth = unreachable(`http://127.0.0.1:${port}`, error);
    expect(berth.code).toBe('BERTH_ERR_CLIENT_REQUEST_FAILED');
    expect(berth.message).toBe(
      `cannot reach http://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}`,
    );
    expect(berth.cause).toBe(error);
  });

  it('explains a port fetch refuses outright', async () => {
    const error = await fetchFailure('http://127.0.0.1:9/');
    expect(reasonUnreachable(error)).toMatch(/^bad port \(fetch refuses the Fetch standard's blocked ports/);
  });

  it('says how long it waited when the answer did not come in time', () => {
    const timeout = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    expect(reasonUnreachable(timeout, 3000)).toBe('no answer within 3000 ms');
  });

  it("takes grpc-js's last connection error out of its status message", () => {
    const error = new Error(
      '14 UNAVAILABLE: No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:9. Resolution note: ',
    );
    expect(reasonUnreachable(error)).toBe('connect ECONNREFUSED 127.0.0.1:9');
    const dns = new Error('14 UNAVAILABLE: Name resolution failed for target dns:nowhere.invalid:8001');
    expect(reasonUnreachable(dns)).toBe('Name resolution failed for target dns:nowhere.invalid:8001');
  });

  it('lists each address tried, once', () => {
    const both = new TypeError('fetch failed', {
      cause: new AggregateError([
        new Error('connect ECONNREFUSED ::1:8000'),
        new Error('connect ECONNREFUSED 127.0.0.1:8000'),
      ]),
    });
    expect(reasonUnreachable(both)).toBe(
      'connect ECONNREFUSED ::1:8000; connect ECONNREFUSED 127.0.0.1:8000',
    );
  });
});
