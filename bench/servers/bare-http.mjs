// The HTTP limit: a bare node:http server that reads the request body and answers a fixed, small
// OIP-shaped response. No model, no parsing. Listens on 127.0.0.1:$PORT.
import { createServer } from 'node:http';

const body = JSON.stringify({
  model_name: 'fixed',
  model_version: '1',
  outputs: [{ name: 'logits', datatype: 'FP32', shape: [1, 1], data: [0] }],
});
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
