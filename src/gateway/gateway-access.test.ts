import { describe, expect, it } from 'vitest';
import { ApiKeyStore, createApiKey } from '../access/index.js';
import { OPERATION_ADDRESSES, type UnaryOperation } from '../protocol/index.js';
import { createGatewayAccess, grpcOperation, restOperation } from './gateway-access.js';

/** A concrete path for a route in fastify's syntax. */
const concrete = (path: string) => path.replace(':model', 'fraud%2Da').replace(':version', '3');

describe('the gateway names each request by the operation table', () => {
  it('maps every REST route of every operation back to its operation, with the model', () => {
    for (const operation of Object.keys(OPERATION_ADDRESSES) as UnaryOperation[]) {
      for (const route of OPERATION_ADDRESSES[operation].routes) {
        const named = restOperation(route.method, `${concrete(route.path)}?x=1`);
        expect(named, `${route.method} ${route.path}`).toEqual({
          operation,
          model: route.path.includes(':model') ? 'fraud-a' : '',
        });
      }
    }
  });

  it('names no operation for other routes or methods', () => {
    expect(restOperation('GET', '/v2/models/fraud/infer')).toBeUndefined();
    expect(restOperation('DELETE', '/v2/models/fraud')).toBeUndefined();
    expect(restOperation('GET', '/v2/models/fraud/extra/ready')).toBeUndefined();
    expect(restOperation('GET', '/metrics')).toBeUndefined();
  });

  it('maps every gRPC method, reading the model from its field', () => {
    // Field 1 = "fraud" (0x0a len "fraud"), field 2 = "other" (0x12 len "other").
    const message = Buffer.from([0x0a, 5, ...Buffer.from('fraud'), 0x12, 5, ...Buffer.from('other')]);
    for (const operation of Object.keys(OPERATION_ADDRESSES) as UnaryOperation[]) {
      const address = OPERATION_ADDRESSES[operation];
      const expected = address.grpcModelField === 1 ? 'fraud' : address.grpcModelField === 2 ? 'other' : '';
      expect(grpcOperation(address.grpcMethod, message)).toEqual({ operation, model: expected });
    }
    expect(grpcOperation('ModelStreamInfer', message)).toBeUndefined();
  });
});

describe('createGatewayAccess', () => {
  async function store(): Promise<{ keys: ApiKeyStore; token: string }> {
    const made = await createApiKey();
    const entry = {
      id: made.id,
      roles: ['infer' as const],
      models: ['fraud-*'],
      created: '2026-12-06T10:00:00.000Z',
      hash: made.hash,
    };
    return { keys: new ApiKeyStore({ version: 1, keys: [entry] }), token: made.key };
  }

  const call = (operation: UnaryOperation, model: string, token?: string) => ({
    operation,
    model,
    credentials: token === undefined ? undefined : { token },
    peer: '127.0.0.1',
    requestId: 'r1',
    transport: 'http' as const,
  });

  it('forwards what a key may do, and refuses the rest before forwarding', async () => {
    const { keys, token } = await store();
    const access = createGatewayAccess({ keys });
    const forwarded: string[] = [];
    const forward = (what: string) => () => {
      forwarded.push(what);
      return Promise.resolve(what);
    };
    expect(await access.run(call('infer', 'fraud-a', token), forward('ok'))).toBe('ok');
    await expect(access.run(call('infer', 'other', token), forward('other'))).rejects.toMatchObject({
      code: 'BERTH_ERR_AUTH_FORBIDDEN',
    });
    await expect(access.run(call('infer', 'fraud-a'), forward('anonymous'))).rejects.toMatchObject({
      code: 'BERTH_ERR_AUTH_UNAUTHENTICATED',
    });
    expect(await access.run(call('serverLive', '', undefined), forward('live'))).toBe('live');
    await expect(access.check({ token }, 'metrics', '/metrics')).rejects.toMatchObject({
      code: 'BERTH_ERR_AUTH_FORBIDDEN',
    });
    expect(forwarded).toEqual(['ok', 'live']);
  });

  it('limits per model with the access module’s token buckets', async () => {
    const access = createGatewayAccess({ limits: { perModel: { fraud: { perSecond: 1, burst: 1 } } } });
    const forward = () => Promise.resolve('ok');
    expect(await access.run(call('infer', 'fraud'), forward)).toBe('ok');
    await expect(access.run(call('infer', 'fraud'), forward)).rejects.toMatchObject({
      code: 'BERTH_ERR_RATE_LIMITED',
    });
    expect(await access.run(call('infer', 'other'), forward)).toBe('ok');
  });
});
