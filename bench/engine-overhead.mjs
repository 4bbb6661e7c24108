// berth's own cost per inference, without HTTP: the tiny MLP's run alone (the model instance),
// through the engine (a decoded request: version, validation, queue, statistics, metrics), and
// the whole REST path in process (decode the body, the request seam with its metrics, the
// engine, encode the answer). Medians of three rounds of 20,000 calls each, in microseconds.
// Usage (after `npm run build` and one `npm run bench`, which makes bench/models/):
//   node bench/engine-overhead.mjs
// Prints one JSON line: { "run": "45.9", "engine": "61.3", "full": "98.2" }
import { readFileSync } from 'node:fs';
const root = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
const { createEngine } = await import(`${root}/dist/engine/index.js`);
const { createServerMetrics, createLogger } = await import(`${root}/dist/observability/index.js`);
const { createModelCatalog } = await import(`${root}/dist/repository/index.js`);
const { intercept } = await import(`${root}/dist/protocol/index.js`);
const { requestMetrics } = await import(`${root}/dist/server/index.js`);
const { INFER_OPERATION } = await import(`${root}/dist/server/operations.js`);
const logger = createLogger({ level: 'warn', format: 'json' });
const metrics = createServerMetrics();
const catalog = await createModelCatalog([`${root}/bench/models/repos/mlp.batching`], []);
const engine = await createEngine({
  catalog,
  logger,
  metrics,
  version: '0',
  intraOpThreads: 0,
  interOpThreads: 0,
  strictReadiness: true,
});
await engine.start();
const body = readFileSync(`${root}/bench/models/bodies/mlp.bin`);
const m = '"binary_data_output":true}}';
const headers = { 'inference-header-content-length': String(body.indexOf(Buffer.from(m)) + m.length) };
const limits = { maxBodyBytes: 1 << 26, maxTensorElements: 1 << 26 };
const served = intercept(engine, [requestMetrics(metrics)]);
const ready = engine.registry.resolve('mlp');
const inst = ready.instances[0];
const x = await INFER_OPERATION.http
  .decode({ params: { model: 'mlp' }, body, headers, limits })
  .input.request(ready.signature);
const outs = ready.signature.outputs.map((o) => o.name);
const ctx = { requestId: 'x', transport: 'http' };
async function time(f, n = 20000) {
  for (let i = 0; i < 3000; i++) await f();
  const a = performance.now();
  for (let i = 0; i < n; i++) await f();
  return ((performance.now() - a) / n) * 1000;
}
const r = { run: [], engine: [], full: [] };
for (let k = 0; k < 3; k++) {
  r.run.push(await time(() => inst.run(x.inputs, outs)));
  r.engine.push(await time(() => engine.infer({ name: 'mlp', request: x }, ctx)));
  r.full.push(
    await time(async () => {
      const c = INFER_OPERATION.http.decode({ params: { model: 'mlp' }, body, headers, limits });
      return c.answer(await served.infer(c.input, ctx));
    }),
  );
}
const med = (a) => a.sort((p, q) => p - q)[1].toFixed(1);
console.log(JSON.stringify({ run: med(r.run), engine: med(r.engine), full: med(r.full) }));
await engine.close();
