import { describe, expect, it } from 'vitest';
import { BerthError } from '../ground/index.js';
import { DnsDiscovery, endpointOf, membership, parseDnsTarget } from './dns-discovery.js';
import { UpstreamPool } from './upstream-pool.js';

const target = { host: 'fraud-pods', port: 8000, grpcPort: 8001 };

/** A resolver that answers what the test last set, or fails with the error set. */
function fakeDns(answer: readonly string[] | Error) {
  const dns = {
    answer,
    lookups: 0,
    resolve: (host: string) => {
      dns.lookups++;
      expect(host).toBe('fraud-pods');
      return dns.answer instanceof Error ? Promise.reject(dns.answer) : Promise.resolve(dns.answer);
    },
  };
  return dns;
}

const notFound = () => Object.assign(new Error('getaddrinfo ENOTFOUND fraud-pods'), { code: 'ENOTFOUND' });

describe('parseDnsTarget', () => {
  it('reads dns:HOST:PORT', () => {
    expect(parseDnsTarget('--upstream', 'dns:fraud-pods.ml.svc.cluster.local:8000', 8001)).toEqual({
      host: 'fraud-pods.ml.svc.cluster.local',
      port: 8000,
      grpcPort: 8001,
    });
  });

  it.each([
    'fraud-pods:8000',
    'dns:fraud-pods',
    'dns:fraud-pods:0',
    'dns:fraud-pods:70000',
    'dns:-x:80',
    'dns::80',
  ])('refuses %s, naming the option and the form', (text) => {
    const error = (() => {
      try {
        parseDnsTarget('--upstream', text, undefined);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(BerthError);
    expect((error as BerthError).code).toBe('BERTH_ERR_CLI_INVALID_OPTION');
    expect((error as BerthError).message).toMatch(/^--upstream: expected dns:HOST:PORT/);
  });
});

describe('endpointOf', () => {
  it('brackets IPv6 addresses in URLs and gRPC addresses', () => {
    expect(endpointOf('10.1.2.3', target)).toEqual({ url: 'http://10.1.2.3:8000', grpc: '10.1.2.3:8001' });
    expect(endpointOf('fd00::7', target)).toEqual({ url: 'http://[fd00::7]:8000', grpc: '[fd00::7]:8001' });
    expect(endpointOf('10.1.2.3', { ...target, grpcPort: undefined }).grpc).toBeUndefined();
  });
});

describe('membership', () => {
  it('adds what appeared and removes what is gone, once each', () => {
    expect(membership(new Set(['a', 'b']), ['b', 'c', 'c'])).toEqual({ add: ['c'], remove: ['a'] });
    expect(membership(new Set(), [])).toEqual({ add: [], remove: [] });
  });
});

describe('DnsDiscovery', () => {
  it('follows the answers: pods that appear join, pods that go leave', async () => {
    const pool = new UpstreamPool();
    const dns = fakeDns(['10.0.0.1', '10.0.0.2']);
    const changes: string[] = [];
    const discovery = new DnsDiscovery(target, pool, {
      resolve: dns.resolve,
      onChange: (added, removed) => changes.push(`+${added.join(',')} -${removed.join(',')}`),
    });
    await discovery.refresh();
    expect(pool.view().map((u) => [u.id, u.url])).toEqual([
      ['10.0.0.1', 'http://10.0.0.1:8000'],
      ['10.0.0.2', 'http://10.0.0.2:8000'],
    ]);
    dns.answer = ['10.0.0.2', '10.0.0.3'];
    await discovery.refresh();
    expect(pool.view().map((u) => u.id)).toEqual(['10.0.0.2', '10.0.0.3']);
    expect(discovery.addresses).toEqual(['10.0.0.2', '10.0.0.3']);
    expect(changes).toEqual(['+10.0.0.1,10.0.0.2 -', '+10.0.0.3 -10.0.0.1']);
    // The same answer again changes nothing and says nothing.
    await discovery.refresh();
    expect(changes).toHaveLength(2);
  });

  it('keeps the last answer when a lookup fails, and reports the failure once', async () => {
    const pool = new UpstreamPool();
    const dns = fakeDns(['10.0.0.1']);
    const errors: string[] = [];
    const discovery = new DnsDiscovery(target, pool, {
      resolve: dns.resolve,
      onError: (e) => errors.push(e.message),
    });
    await discovery.refresh();
    dns.answer = Object.assign(new Error('queryA ETIMEOUT fraud-pods'), { code: 'ETIMEOUT' });
    await discovery.refresh();
    expect(pool.view().map((u) => u.id)).toEqual(['10.0.0.1']);
    // A resolver that stays down is reported once, and again after it came back and failed anew.
    await discovery.refresh();
    expect(errors).toEqual(['queryA ETIMEOUT fraud-pods']);
    dns.answer = ['10.0.0.1'];
    await discovery.refresh();
    dns.answer = Object.assign(new Error('queryA ETIMEOUT fraud-pods'), { code: 'ETIMEOUT' });
    await discovery.refresh();
    expect(errors).toEqual(['queryA ETIMEOUT fraud-pods', 'queryA ETIMEOUT fraud-pods']);
  });

  it('believes an empty answer (or ENOTFOUND) only the second time in a row', async () => {
    const pool = new UpstreamPool();
    const dns = fakeDns(['10.0.0.1']);
    const discovery = new DnsDiscovery(target, pool, { resolve: dns.resolve });
    await discovery.refresh();
    dns.answer = notFound();
    await discovery.refresh();
    expect(pool.view()).toHaveLength(1);
    dns.answer = ['10.0.0.1'];
    await discovery.refresh();
    // The count starts again after a full answer: one more empty one is still not believed.
    dns.answer = [];
    await discovery.refresh();
    expect(pool.view()).toHaveLength(1);
    await discovery.refresh();
    expect(pool.view()).toHaveLength(0);
  });

  it('runs one lookup at a time, however often it is asked', async () => {
    const pool = new UpstreamPool();
    const dns = fakeDns(['10.0.0.1']);
    const discovery = new DnsDiscovery(target, pool, { resolve: dns.resolve });
    await Promise.all([discovery.refresh(), discovery.refresh(), discovery.refresh()]);
    expect(dns.lookups).toBe(1);
  });
});
