/**
 * CORS and security headers through the real CLI: a preflight from an allowed origin is answered
 * without a key, answers to that origin (errors included) carry the CORS headers a page needs,
 * another origin gets none, and every answer says nosniff.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { doubleModel, writeModel } from '../fixtures/models.js';
import { runCli, startServeLoaded, type ServeProcess } from '../helpers/cli.js';
import { tempDirsForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirsForFile('berth-cors-');
const APP = 'https://app.example';
const INFER = JSON.stringify({
  inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }],
});

let server: ServeProcess;
let key: string;

beforeAll(async () => {
  const dir = tempDir();
  writeModel(join(dir, 'models'), 'double', doubleModel());
  const made = runCli(['keys', 'create', '--role', 'infer', '--file', join(dir, 'keys.json')]);
  key = made.stdout.trim();
  server = await startServeLoaded([
    join(dir, 'models'),
    '--api-keys',
    join(dir, 'keys.json'),
    '--cors-origin',
    APP,
  ]);
});
afterAll(() => server.stop());

describe('berth serve --cors-origin', () => {
  it('answers a preflight from an allowed origin, without a key', async () => {
    const response = await fetch(`${server.url}/v2/models/double/infer`, {
      method: 'OPTIONS',
      headers: {
        origin: APP,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type',
      },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe(APP);
    expect(response.headers.get('access-control-allow-methods')).toBe('GET, POST');
    expect(response.headers.get('access-control-allow-headers')).toContain('authorization');
    expect(response.headers.get('vary')).toBe('origin');
  });

  it('lets the page read answers and errors, on the fast path and the routes', async () => {
    const ok = await fetch(`${server.url}/v2/models/double/infer`, {
      method: 'POST',
      headers: { origin: APP, authorization: `Bearer ${key}` },
      body: INFER,
    });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('access-control-allow-origin')).toBe(APP);
    expect(ok.headers.get('access-control-expose-headers')).toContain('berth-error-code');
    expect(ok.headers.get('x-content-type-options')).toBe('nosniff');
    await ok.text();
    const refused = await fetch(`${server.url}/v2/models/double`, { headers: { origin: APP } });
    expect(refused.status).toBe(401);
    expect(refused.headers.get('access-control-allow-origin')).toBe(APP);
    expect(refused.headers.get('x-content-type-options')).toBe('nosniff');
    await refused.text();
  });

  it('gives another origin no CORS headers', async () => {
    const preflight = await fetch(`${server.url}/v2/models/double/infer`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    await preflight.text();
    const answer = await fetch(`${server.url}/v2/health/ready`, {
      headers: { origin: 'https://evil.example' },
    });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('access-control-allow-origin')).toBeNull();
    expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
    await answer.text();
  });

  it('refuses an origin with a path', () => {
    const bad = runCli(['serve', '--cors-origin', 'https://app.example/']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--cors-origin: expected an origin such as https:\/\/app.example/);
  });
});
