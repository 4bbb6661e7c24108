// The compute limit: onnxruntime-node in-process, no HTTP, one input tensor reused, each
// configuration run back to back for a fixed time. A configuration is an intra-op thread count,
// whether idle onnxruntime threads spin (session option allow_spinning, on in onnxruntime's own
// default, off in berth's) and a batch size; the session options are otherwise berth's
// (graphOptimizationLevel 'all', CPU provider). One session per thread/spinning pair, released
// before the next. CPU is process.cpuUsage() (user + system, all threads) over the timed loop.
// Usage: node compute-limit.mjs MODEL.onnx ITEM_SHAPE_JSON CONFIGS_JSON SECONDS
//   CONFIGS_JSON: [{ "threads": 2, "spinning": true, "batch": 16 }, ...]
// Prints one JSON line:
//   { "results": [{ "threads": 2, "spinning": true, "batch": 16, "items": 3040, "seconds": 3.0,
//                   "itemsPerSecond": 190.1, "cpuUsPerItem": 10400 }, ...] }
import * as ort from 'onnxruntime-node';

const [path, itemShapeJson, configsJson, secondsText] = process.argv.slice(2);
const itemShape = JSON.parse(itemShapeJson);
const configs = JSON.parse(configsJson);
const seconds = Number(secondsText);
const itemSize = itemShape.reduce((a, b) => a * b, 1);

/** Configurations grouped by session options, in the order first given. */
const sessions = new Map();
for (const config of configs) {
  const key = `${config.threads}/${config.spinning}`;
  if (!sessions.has(key))
    sessions.set(key, { threads: config.threads, spinning: config.spinning, batches: [] });
  sessions.get(key).batches.push(config.batch);
}

const results = [];
for (const { threads, spinning, batches } of sessions.values()) {
  const spin = spinning ? '1' : '0';
  const session = await ort.InferenceSession.create(path, {
    intraOpNumThreads: threads,
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    extra: { session: { intra_op: { allow_spinning: spin }, inter_op: { allow_spinning: spin } } },
  });
  const [inputName] = session.inputNames;
  for (const batch of batches) {
    const data = new Float32Array(batch * itemSize);
    for (let i = 0; i < data.length; i++) data[i] = ((i * 7919) % 1000) / 1000 - 0.5;
    const feeds = { [inputName]: new ort.Tensor('float32', data, [batch, ...itemShape]) };
    for (let i = 0; i < 3; i++) await session.run(feeds);
    let items = 0;
    const cpuBefore = process.cpuUsage();
    const start = performance.now();
    while (performance.now() - start < seconds * 1000) {
      await session.run(feeds);
      items += batch;
    }
    const elapsed = (performance.now() - start) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    results.push({
      threads,
      spinning,
      batch,
      items,
      seconds: elapsed,
      itemsPerSecond: items / elapsed,
      cpuUsPerItem: (cpu.user + cpu.system) / items,
    });
  }
  await session.release();
}
console.log(JSON.stringify({ results }));
