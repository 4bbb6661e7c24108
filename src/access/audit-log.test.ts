import { describe, expect, it } from 'vitest';
import { compose, type Call } from '../protocol/index.js';
import { accessControl } from './access-control.js';
import type { OperationRole } from './key-file.js';
import { createApiKey } from './api-key.js';
import { AuditLog, auditAdmin } from './audit-log.js';
import { ApiKeyStore } from './key-store.js';

const roleOf = (operation: string): OperationRole => (operation === 'repositoryLoad' ? 'admin' : 'infer');

function call(operation: 'infer' | 'repositoryLoad', token?: string): Call {
  return {
    operation,
    input: { name: 'fraud', ...(operation === 'infer' ? { request: {} } : {}) },
    context: {
      requestId: 'req-1',
      transport: 'grpc',
      peer: 'ipv4:10.0.0.9:5000',
      ...(token === undefined ? {} : { credentials: { token } }),
    },
  } as Call;
}

describe('the audit log', () => {
  it('records refusals with the principal when known, and admin operations with their outcome', async () => {
    const made = await createApiKey();
    const keys = new ApiKeyStore({
      version: 1,
      keys: [{ id: made.id, roles: ['admin'], created: '2026-12-06T10:00:00.000Z', hash: made.hash }],
    });
    const lines: string[] = [];
    const audit = AuditLog.toFunction((line) => lines.push(line));
    let fail = false;
    const chain = compose([accessControl({ keys, roleOf, audit }), auditAdmin(audit, roleOf)], () =>
      fail ? Promise.reject(new Error('disk full')) : Promise.resolve('done'),
    );
    await chain(call('infer')).catch(() => undefined);
    await chain(call('infer', made.key)).catch(() => undefined);
    await chain(call('repositoryLoad', made.key));
    fail = true;
    await chain(call('repositoryLoad', made.key)).catch(() => undefined);
    const events = lines.map((line) => {
      expect(line.endsWith('\n')).toBe(true);
      const { time, ...rest } = JSON.parse(line) as Record<string, unknown>;
      expect(Number.isNaN(Date.parse(String(time)))).toBe(false);
      return rest;
    });
    const common = { peer: 'ipv4:10.0.0.9:5000', transport: 'grpc', model: 'fraud', requestId: 'req-1' };
    expect(events).toEqual([
      {
        ...common,
        event: 'auth',
        outcome: 'BERTH_ERR_AUTH_UNAUTHENTICATED',
        principal: null,
        operation: 'infer',
        message: expect.stringMatching(/^no credentials/),
      },
      {
        ...common,
        event: 'auth',
        outcome: 'BERTH_ERR_AUTH_FORBIDDEN',
        principal: `key:${made.id}`,
        operation: 'infer',
        message: expect.stringMatching(/needs the infer role/),
      },
      { ...common, event: 'admin', outcome: 'OK', principal: `key:${made.id}`, operation: 'repositoryLoad' },
      {
        ...common,
        event: 'admin',
        outcome: 'BERTH_ERR_INTERNAL',
        principal: `key:${made.id}`,
        operation: 'repositoryLoad',
        message: expect.any(String),
      },
    ]);
    expect(lines.join('')).not.toContain(made.key.slice(-43));
  });
});
