// The floor for a Node.js reverse proxy: what a user could write in ten lines, node:http in and
// out with a keep-alive agent, no retries, no balancing, no metrics. bench/gateway-overhead.ts
// runs it in front of the same replica as berth up's gateway, to tell what berth's gateway adds
// from what any Node proxy on this machine costs.
//
//   node bench/servers/naive-proxy.mjs PORT UPSTREAM   (UPSTREAM: http://host:port or unix:PATH)
import { Agent, createServer, request } from 'node:http';

const [port, upstream] = process.argv.slice(2);
const target = upstream.startsWith('unix:')
  ? { socketPath: upstream.slice(5) }
  : { host: new URL(upstream).hostname, port: Number(new URL(upstream).port) };
const agent = new Agent({ keepAlive: true, maxSockets: 256 });

createServer((req, res) => {
  const out = request(
    { ...target, path: req.url, method: req.method, headers: req.headers, agent },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  out.on('error', () => {
    res.writeHead(502);
    res.end();
  });
  req.pipe(out);
}).listen(Number(port), '127.0.0.1');
