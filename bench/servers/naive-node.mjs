// The naive Node server a user might write instead of berth: node:http + onnxruntime-node, one
// session.run per request, no queue, no batching. It speaks the same OIP subset as the other
// targets (JSON tensors, or Triton's binary tensor extension) so one request body fits all.
// Usage: node naive-node.mjs MODEL.onnx   (listens on 127.0.0.1:$PORT)
import { createServer } from 'node:http';
import * as ort from 'onnxruntime-node';

const session = await ort.InferenceSession.create(process.argv[2]);
const [inputName] = session.inputNames;
const [outputName] = session.outputNames;

function decode(body, headerLength) {
  const header = JSON.parse(body.subarray(0, headerLength ?? body.length).toString('utf8'));
  const [input] = header.inputs;
  let data;
  if (headerLength === undefined) data = Float32Array.from(input.data.flat(Infinity));
  else {
    const bytes = body.subarray(headerLength);
    data = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  }
  return { header, tensor: new ort.Tensor('float32', data, input.shape) };
}

function encode(header, output) {
  const binary = header.parameters?.binary_data_output === true;
  const meta = { name: outputName, datatype: 'FP32', shape: output.dims };
  if (!binary)
    return {
      body: JSON.stringify({ model_name: 'naive', outputs: [{ ...meta, data: Array.from(output.data) }] }),
    };
  const json = Buffer.from(
    JSON.stringify({
      model_name: 'naive',
      outputs: [{ ...meta, parameters: { binary_data_size: output.data.byteLength } }],
    }),
  );
  const raw = Buffer.from(output.data.buffer, output.data.byteOffset, output.data.byteLength);
  return { body: Buffer.concat([json, raw]), headerLength: json.length };
}

const server = createServer((req, res) => {
  if (req.method === 'GET') {
    res.writeHead(200).end();
    return;
  }
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', async () => {
    try {
      const length = req.headers['inference-header-content-length'];
      const { header, tensor } = decode(
        Buffer.concat(chunks),
        length === undefined ? undefined : Number(length),
      );
      const results = await session.run({ [inputName]: tensor });
      const { body, headerLength } = encode(header, results[outputName]);
      const headers = {
        'content-type': headerLength === undefined ? 'application/json' : 'application/octet-stream',
      };
      if (headerLength !== undefined) headers['inference-header-content-length'] = String(headerLength);
      res.writeHead(200, headers).end(body);
    } catch (error) {
      res
        .writeHead(400, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: String(error) }));
    }
  });
});
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
