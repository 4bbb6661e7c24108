import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { CounterFamily, GaugeFamily, HistogramFamily } from './metric-families.js';

const BUCKETS = [0.001, 0.01, 0.1, 1];
const labelNames = ['model', 'version'] as const;

/** The same observations through prom-client's own metrics and through the families. */
function bothExpositions(openMetrics = false) {
  const theirs = new Registry();
  const ours = new Registry();
  if (openMetrics) {
    theirs.setContentType(Registry.OPENMETRICS_CONTENT_TYPE as never);
    ours.setContentType(Registry.OPENMETRICS_CONTENT_TYPE as never);
  }
  const common = { labelNames, help: 'h' };
  const pc = {
    c: new Counter({ ...common, name: 'c_total', registers: [theirs] }),
    g: new Gauge({ ...common, name: 'g', registers: [theirs] }),
    h: new Histogram({ ...common, name: 'h_seconds', buckets: BUCKETS, registers: [theirs] }),
  };
  const fam = {
    c: new CounterFamily({ ...common, name: 'c_total', registers: [ours] }),
    g: new GaugeFamily({ ...common, name: 'g', registers: [ours] }),
    h: new HistogramFamily({ ...common, name: 'h_seconds', buckets: BUCKETS, registers: [ours] }),
  };
  const values = [0, 0.0005, 0.001, 0.0011, 0.05, 0.1, 0.7, 1, 3, 250];
  for (const [i, v] of values.entries()) {
    const labels = { model: i % 3 === 0 ? 'a "quoted"\nname' : 'iris', version: String(i % 2) };
    pc.h.labels(labels).observe(v);
    fam.h.labels(labels).observe(v);
    pc.c.inc(labels, i);
    fam.c.inc(labels, i);
    pc.g.labels(labels).inc();
    fam.g.labels(labels).inc();
    if (i % 4 === 0) {
      pc.g.labels(labels).dec(2);
      fam.g.labels(labels).dec(2);
    }
  }
  pc.g.set({ model: 'set', version: '1' }, 7.5);
  fam.g.set({ model: 'set', version: 1 }, 7.5);
  return { theirs, ours };
}

describe('metric families', () => {
  it('write the same text exposition as prom-client for the same observations', async () => {
    const { theirs, ours } = bothExpositions();
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });

  it('write the same OpenMetrics exposition and JSON as prom-client', async () => {
    const { theirs, ours } = bothExpositions(true);
    expect(await ours.metrics()).toBe(await theirs.metrics());
    // prom-client adds an empty `exemplar` to each histogram sample; the families have none.
    const withoutExemplars = (value: unknown): unknown =>
      JSON.parse(
        JSON.stringify(value, (key, v: unknown) => (key === 'exemplar' && v == null ? undefined : v)),
      );
    expect(await ours.getMetricsAsJSON()).toEqual(withoutExemplars(await theirs.getMetricsAsJSON()));
  });

  it('give the same child for the same label values, whatever their order', () => {
    const family = new CounterFamily({ name: 'x_total', help: 'h', labelNames, registers: [] });
    const one = family.labels({ model: 'm', version: '1' });
    expect(family.labels({ version: 1, model: 'm' })).toBe(one);
    expect(family.labels({ model: 'm', version: '2' })).not.toBe(one);
  });

  it('refuse a missing or unknown label when a child is made', () => {
    const family = new HistogramFamily({ name: 'y', help: 'h', labelNames, buckets: [1], registers: [] });
    expect(() => family.labels({ model: 'm' } as never)).toThrow('metric y: label "version" is missing');
    expect(() => family.labels({ model: 'm', version: '1', zone: 'z' } as never)).toThrow(
      'metric y: it has no label "zone"',
    );
  });

  it('zero on reset, and children handed out before keep counting', async () => {
    const registry = new Registry();
    const family = new HistogramFamily({
      name: 'z',
      help: 'h',
      labelNames,
      buckets: [1],
      registers: [registry],
    });
    const child = family.labels({ model: 'm', version: '1' });
    child.observe(0.5);
    registry.resetMetrics();
    child.observe(2);
    const text = await registry.metrics();
    expect(text).toContain('z_bucket{le="1",model="m",version="1"} 0');
    expect(text).toContain('z_bucket{le="+Inf",model="m",version="1"} 1');
    expect(text).toContain('z_sum{model="m",version="1"} 2');
  });

  it('refuse a second metric of the same name in one registry', () => {
    const registry = new Registry();
    new GaugeFamily({ name: 'dup', help: 'h', labelNames, registers: [registry] });
    expect(() => new GaugeFamily({ name: 'dup', help: 'h', labelNames, registers: [registry] })).toThrow(
      'already been registered',
    );
  });
});
