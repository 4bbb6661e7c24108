// The compute limit: onnxruntime-node in-process, no HTTP, with onnxruntime's own default session
// options (its threads spin while waiting, which berth's do not by default), one input tensor
// reused, each batch size run back to back for a fixed time.
// Usage: node compute-limit.mjs MODEL.onnx ITEM_SHAPE_JSON BATCHES_JSON SECONDS
// Prints one JSON line: { "results": [{ "batch": 8, "itemsPerSecond": 173.0 }, ...] }
import * as ort from 'onnxruntime-node';

const [path, itemShapeJson, batchesJson, secondsText] = process.argv.slice(2);
const itemShape = JSON.parse(itemShapeJson);
const seconds = Number(secondsText);
const session = await ort.InferenceSession.create(path);
const [inputName] = session.inputNames;
const itemSize = itemShape.reduce((a, b) => a * b, 1);

const results = [];
for (const batch of JSON.parse(batchesJson)) {
  const data = new Float32Array(batch * itemSize);
  for (let i = 0; i < data.length; i++) data[i] = ((i * 7919) % 1000) / 1000 - 0.5;
  const feeds = { [inputName]: new ort.Tensor('float32', data, [batch, ...itemShape]) };
  for (let i = 0; i < 3; i++) await session.run(feeds);
  let items = 0;
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) {
    await session.run(feeds);
    items += batch;
  }
  results.push({ batch, itemsPerSecond: items / ((performance.now() - start) / 1000) });
}
console.log(JSON.stringify({ results }));
