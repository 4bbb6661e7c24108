// The floor under any Node.js proxy: a process that only copies bytes between each client
// connection and a connection of its own to the upstream, one for one. No HTTP parsing, no
// pooling, no balancing. bench/gateway-overhead.ts measures it beside berth's gateway to tell what
// node and the kernel cost for the two reads and two writes a proxied request needs on this
// machine from what the gateway's own work costs.
//
//   node bench/servers/byte-pipe.mjs PORT SOCKET_PATH
import { connect, createServer } from 'node:net';

const [port, path] = process.argv.slice(2);

createServer((client) => {
  const upstream = connect({ path });
  client.on('data', (chunk) => upstream.write(chunk));
  upstream.on('data', (chunk) => client.write(chunk));
  client.on('close', () => upstream.destroy());
  upstream.on('close', () => client.destroy());
  client.on('error', () => undefined);
  upstream.on('error', () => undefined);
}).listen(Number(port), '127.0.0.1');
