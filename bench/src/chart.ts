/** The chart in BENCHMARKS.md: throughput against p99 latency, one panel per model (Vega-Lite → SVG). */
import { View, parse } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

import type { BenchResults } from './report.js';

export async function throughputChartSvg(results: BenchResults): Promise<string> {
  const values = results.rows
    .filter((r) => r.result.requests > 0)
    .map((r) => ({
      model: r.model,
      series: `${r.label} (${r.format === 'json' ? 'JSON' : 'binary'})`,
      connections: r.connections,
      rps: r.result.rps,
      p99: Math.max(r.result.p99Ms, 0.01),
    }));
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Throughput against p99 latency, connections 1 → 64 along each line', anchor: 'start' },
    background: 'white',
    data: { values },
    facet: {
      column: { field: 'model', type: 'nominal', title: null, sort: ['mlp', 'mobilenet_v2', 'resnet18'] },
    },
    resolve: { scale: { x: 'independent', y: 'independent' } },
    spec: {
      width: 300,
      height: 260,
      mark: { type: 'line', point: true, strokeWidth: 1.5 },
      encoding: {
        x: { field: 'p99', type: 'quantitative', scale: { type: 'log' }, title: 'p99 latency (ms, log)' },
        y: { field: 'rps', type: 'quantitative', scale: { type: 'log' }, title: 'requests per second (log)' },
        color: {
          field: 'series',
          type: 'nominal',
          title: 'target',
          legend: { orient: 'bottom', columns: 3, labelLimit: 260 },
        },
        order: { field: 'connections', type: 'quantitative' },
      },
    },
  };
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  return view.toSVG();
}
