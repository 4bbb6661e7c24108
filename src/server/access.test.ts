/**
 * Access control over the whole operation table: every operation, called with no key, with a key
 * that lacks its role, with one limited to other models, and with the right one. An operation
 * added to the table is covered here without a line more, so none can ship unprotected.
 */
import { describe, expect, it } from 'vitest';
import { accessControl, ApiKeyStore, createApiKey, type KeyEntry, type KeyRole } from '../access/index.js';
import { intercept, type CallContext, type OipService, type UnaryOperation } from '../protocol/index.js';
import { OPERATIONS, roleOf } from './operations.js';

/** A service that answers every operation with its name. */
const echo = Object.fromEntries(
  OPERATIONS.map((spec) => [
    spec.operation,
    (_input: unknown, context: CallContext) => Promise.resolve({ by: context.principal?.id }),
  ]),
) as unknown as OipService;

const INPUTS: Record<UnaryOperation, unknown> = {
  serverLive: {},
  serverReady: {},
  serverMetadata: {},
  modelReady: { name: 'fraud-a' },
  modelMetadata: { name: 'fraud-a' },
  modelConfig: { name: 'fraud-a' },
  modelStatistics: { name: 'fraud-a' },
  repositoryIndex: { ready: false },
  repositoryLoad: { name: 'fraud-a' },
  repositoryUnload: { name: 'fraud-a' },
  infer: { name: 'fraud-a', request: {} },
};

async function make(roles: KeyRole[], models?: string[]): Promise<{ key: string; entry: KeyEntry }> {
  const made = await createApiKey();
  const entry: KeyEntry = {
    id: made.id,
    roles,
    ...(models === undefined ? {} : { models }),
    created: '2026-12-06T10:00:00.000Z',
    hash: made.hash,
  };
  return { key: made.key, entry };
}

describe('access control over the operation table', async () => {
  const all = await make(['infer', 'read', 'admin', 'metrics']);
  const metricsOnly = await make(['metrics']);
  const otherModels = await make(['infer', 'read', 'admin'], ['iris*']);
  const store = new ApiKeyStore({ version: 1, keys: [all.entry, metricsOnly.entry, otherModels.entry] });
  const open = intercept(echo, [accessControl({ keys: store, roleOf })]);
  const closed = intercept(echo, [accessControl({ keys: store, roleOf, protectHealth: true })]);

  async function outcome(service: OipService, operation: UnaryOperation, token?: string): Promise<string> {
    const context: CallContext = {
      requestId: 'r',
      transport: 'http',
      ...(token === undefined ? {} : { credentials: { token } }),
    };
    const call = service[operation].bind(service) as (
      input: unknown,
      context: CallContext,
    ) => Promise<{ by?: string }>;
    return call(INPUTS[operation], context).then(
      (answer) => `ok ${answer.by ?? 'anonymous'}`,
      (error: unknown) => (error as { code: string }).code,
    );
  }

  it.each(OPERATIONS.map((spec) => [spec.operation, spec.role] as const))(
    '%s (role %s)',
    async (operation, role) => {
      expect(INPUTS).toHaveProperty(operation);
      if (role === 'health') {
        expect(await outcome(open, operation)).toBe('ok anonymous');
        expect(await outcome(closed, operation)).toBe('BERTH_ERR_AUTH_UNAUTHENTICATED');
        expect(await outcome(closed, operation, metricsOnly.key)).toBe(`ok key:${metricsOnly.entry.id}`);
        return;
      }
      expect(await outcome(open, operation)).toBe('BERTH_ERR_AUTH_UNAUTHENTICATED');
      expect(await outcome(open, operation, 'berth_000000000000_' + 'x'.repeat(43))).toBe(
        'BERTH_ERR_AUTH_UNAUTHENTICATED',
      );
      expect(await outcome(open, operation, metricsOnly.key)).toBe('BERTH_ERR_AUTH_FORBIDDEN');
      expect(await outcome(open, operation, otherModels.key)).toBe(
        operation === 'serverMetadata' ? `ok key:${otherModels.entry.id}` : 'BERTH_ERR_AUTH_FORBIDDEN',
      );
      expect(await outcome(open, operation, all.key)).toBe(`ok key:${all.entry.id}`);
    },
  );

  it('matches model patterns: * for any run of characters, dots literal', async () => {
    const { modelMatches } = await import('../access/index.js');
    expect(modelMatches('fraud-*', 'fraud-v2')).toBe(true);
    expect(modelMatches('fraud-*', 'fraud')).toBe(false);
    expect(modelMatches('*-large', 'bert-large')).toBe(true);
    expect(modelMatches('a.b', 'axb')).toBe(false);
    expect(modelMatches('*', 'anything')).toBe(true);
  });
});
