/**
 * What the gateway's metrics cost a request, in process: one upstream attempt and one answered
 * request recorded (`attemptEnded` + `requestEnded`, what every proxied request does), 300,000
 * times per round, in 5 rounds. `--before DIR` measures another built checkout's gateway metrics in
 * the same rounds, alternated (an A/B on the same machine).
 *
 *   npm run build && node bench/gateway-metrics.ts [--before DIR]
 */
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

interface Metrics {
  attemptEnded(upstream: string, seconds: number): void;
  requestEnded(model: string, track: string, status: number, seconds: number): void;
}
type Create = (options: { collect: () => { upstreams: never[]; desired: number } }) => Metrics;

const { values } = parseArgs({ options: { before: { type: 'string' } } });
const load = async (root: string): Promise<Create> =>
  (
    (await import(pathToFileURL(resolve(root, 'dist/gateway/gateway-metrics.js')).href)) as {
      createGatewayMetrics: Create;
    }
  ).createGatewayMetrics;

const builds: [string, Create][] = [['this build', await load(new URL('..', import.meta.url).pathname)]];
if (values.before !== undefined) builds.push([`before (${values.before})`, await load(values.before)]);

const CALLS = 300_000;
function perRequestUs(create: Create): number {
  const metrics = create({ collect: () => ({ upstreams: [], desired: 1 }) });
  const started = process.hrtime.bigint();
  for (let i = 0; i < CALLS; i++) {
    metrics.attemptEnded('r1', 0.0004);
    metrics.requestEnded('mlp', 'stable', 200, 0.0005);
  }
  return Number(process.hrtime.bigint() - started) / CALLS / 1000;
}

for (let round = 1; round <= 5; round++) {
  const order = round % 2 === 0 ? [...builds].reverse() : builds;
  const line = order.map(([name, create]) => `${name} ${perRequestUs(create).toFixed(3)} µs`).join(', ');
  console.log(`round ${round}: ${line}`);
}
