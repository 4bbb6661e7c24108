/**
 * Labelled counters, gauges and histograms for the request path, kept as plain numbers and read
 * by prom-client's Registry when it is scraped. prom-client validates and hashes a labels object
 * at every observation, even on a child made once with `labels()`: about 1.5 µs a call, and a
 * request of the tiny MLP makes eleven (docs/request-path.md). A child here checks its labels once,
 * when it is made, and an observation is a few field updates. The families register in the
 * Registry as its own metrics do (`get`, `getForPromString`, `reset`), so the exposition format,
 * content types and merging stay prom-client's.
 */
import type { Registry } from 'prom-client';

type Labels<L extends string> = Readonly<Record<L, string | number>>;

interface FamilyOptions<L extends string> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly L[];
  readonly registers: readonly Registry[];
}

/** One exported sample: prom-client's shape, with the series' own labels as `sharedLabels`. */
interface Sample {
  readonly metricName?: string;
  readonly labels: Record<string, string | number>;
  readonly sharedLabels: Record<string, string>;
  readonly value: number;
}

interface Exported {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge' | 'histogram';
  readonly values: Sample[];
  readonly aggregator: 'sum';
}

/** The part every family shares: its label names, checked once per child, and its children. */
abstract class Family<L extends string, Child> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly L[];
  readonly aggregator = 'sum';
  abstract readonly type: Exported['type'];
  /** Children by their label values, in the order they were first asked for. */
  protected readonly children = new Map<string, { labels: Record<string, string>; child: Child }>();

  constructor(options: FamilyOptions<L>) {
    this.name = options.name;
    this.help = options.help;
    this.labelNames = options.labelNames;
    for (const registry of options.registers) registry.registerMetric(this as never);
  }

  protected abstract create(): Child;
  protected abstract samples(labels: Record<string, string>, child: Child): Sample[];
  protected abstract zero(child: Child): void;

  /**
   * The series of one set of label values, made on first use; keep it, since the lookup hashes.
   *
   * @throws Error when `labels` names a label the family does not have, or misses one.
   */
  labels(labels: Labels<L>): Child {
    const values: string[] = [];
    for (const name of this.labelNames) {
      const value = labels[name] as string | number | undefined;
      if (value === undefined) throw new Error(`metric ${this.name}: label "${name}" is missing`);
      values.push(String(value));
    }
    for (const name of Object.keys(labels)) {
      if (!this.labelNames.includes(name as L)) {
        throw new Error(`metric ${this.name}: it has no label "${name}"`);
      }
    }
    const key = JSON.stringify(values);
    let found = this.children.get(key);
    if (found === undefined) {
      const own: Record<string, string> = {};
      this.labelNames.forEach((name, i) => (own[name] = values[i] as string));
      found = { labels: own, child: this.create() };
      this.children.set(key, found);
    }
    return found.child;
  }

  /** Drops the series of these label values (an upstream that left for good); a no-op when there is none. */
  remove(labels: Labels<L>): void {
    this.children.delete(JSON.stringify(this.labelNames.map((name) => String(labels[name]))));
  }

  /** What the Registry writes in the text format. */
  getForPromString(): Promise<Exported> {
    const values: Sample[] = [];
    for (const { labels, child } of this.children.values()) values.push(...this.samples(labels, child));
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type,
      values,
      aggregator: this.aggregator,
    });
  }

  /** As prom-client's `get()`: each sample's labels with the series' labels merged in. */
  async get(): Promise<Omit<Exported, 'values'> & { values: Omit<Sample, 'sharedLabels'>[] }> {
    const exported = await this.getForPromString();
    return {
      ...exported,
      values: exported.values.map(({ sharedLabels, labels, ...rest }) => ({
        ...rest,
        labels: { ...labels, ...sharedLabels },
      })),
    };
  }

  /** Zeroes every series; children already handed out stay valid. */
  reset(): void {
    for (const { child } of this.children.values()) this.zero(child);
  }
}

export class CounterSeries {
  value = 0;

  inc(by = 1): void {
    this.value += by;
  }
}

export class CounterFamily<L extends string> extends Family<L, CounterSeries> {
  readonly type = 'counter';

  /** For rare series (failures by reason): looks the series up by its labels each call. */
  inc(labels: Labels<L>, by = 1): void {
    this.labels(labels).inc(by);
  }

  protected create(): CounterSeries {
    return new CounterSeries();
  }

  protected samples(labels: Record<string, string>, child: CounterSeries): Sample[] {
    return [{ labels: {}, sharedLabels: labels, value: child.value }];
  }

  protected zero(child: CounterSeries): void {
    child.value = 0;
  }
}

export class GaugeSeries {
  value = 0;

  inc(by = 1): void {
    this.value += by;
  }

  dec(by = 1): void {
    this.value -= by;
  }

  set(value: number): void {
    this.value = value;
  }
}

export class GaugeFamily<L extends string> extends Family<L, GaugeSeries> {
  readonly type = 'gauge';

  set(labels: Labels<L>, value: number): void {
    this.labels(labels).set(value);
  }

  protected create(): GaugeSeries {
    return new GaugeSeries();
  }

  protected samples(labels: Record<string, string>, child: GaugeSeries): Sample[] {
    return [{ labels: {}, sharedLabels: labels, value: child.value }];
  }

  protected zero(child: GaugeSeries): void {
    child.value = 0;
  }
}

export class HistogramSeries {
  /** Observations per bucket (not cumulative); the last counts those above every bound. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const { bounds } = this;
    let i = 0;
    while (i < bounds.length && value > (bounds[i] as number)) i++;
    this.counts[i] = (this.counts[i] as number) + 1;
    this.sum += value;
    this.count++;
  }
}

export class HistogramFamily<L extends string> extends Family<L, HistogramSeries> {
  readonly type = 'histogram';
  private readonly bounds: readonly number[];

  constructor(options: FamilyOptions<L> & { readonly buckets: readonly number[] }) {
    super(options);
    this.bounds = [...options.buckets].sort((a, b) => a - b);
  }

  protected create(): HistogramSeries {
    return new HistogramSeries(this.bounds);
  }

  protected samples(labels: Record<string, string>, child: HistogramSeries): Sample[] {
    const bucket = `${this.name}_bucket`;
    const out: Sample[] = [];
    let below = 0;
    this.bounds.forEach((le, i) => {
      below += child.counts[i] as number;
      out.push({ metricName: bucket, labels: { le }, sharedLabels: labels, value: below });
    });
    out.push(
      { metricName: bucket, labels: { le: '+Inf' }, sharedLabels: labels, value: child.count },
      { metricName: `${this.name}_sum`, labels: {}, sharedLabels: labels, value: child.sum },
      { metricName: `${this.name}_count`, labels: {}, sharedLabels: labels, value: child.count },
    );
    return out;
  }

  protected zero(child: HistogramSeries): void {
    child.counts.fill(0);
    child.sum = 0;
    child.count = 0;
  }
}
