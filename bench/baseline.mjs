// Baseline request-path benchmark: berth serving the built-in iris model (JSON and binary tensors)
// against a bare node:http server returning a fixed response (the HTTP limit on this machine).
// Usage: (cd .. && npm run build) && npm run baseline [-- --duration 10 --connections 1,16,64]
import { spawn } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const duration = Number(option('duration', '10'));
const connectionsList = option('connections', '1,16,64').split(',').map(Number);

function startBerth() {
  const bin = fileURLToPath(new URL('../bin/berth.js', import.meta.url));
  const child = spawn(
    process.execPath,
    [bin, 'serve', '--port', '0', '--log-format', 'json', '--log-level', 'info'],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  return new Promise((resolve, reject) => {
    let buffered = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => {
      buffered += chunk;
      for (const line of buffered.split('\n')) {
        try {
          const log = JSON.parse(line);
          if (log.msg?.startsWith('models loaded')) {
            const listening = buffered
              .split('\n')
              .map((l) => {
                try {
                  return JSON.parse(l);
                } catch {
                  return {};
                }
              })
              .find((l) => l.url);
            resolve({ url: listening.url, stop: () => child.kill('SIGTERM') });
          }
        } catch {}
      }
    });
    child.on('exit', (code) => reject(new Error(`berth exited ${code}`)));
  });
}

/** The bare server runs in its own process, as berth does, so it does not share the load generator's thread. */
function startBare() {
  const source = `
    const body = JSON.stringify({ model_name: 'iris', model_version: '1', outputs: [] });
    const server = require('node:http').createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      });
    });
    server.listen(0, '127.0.0.1', () => console.log(server.address().port));`;
  const child = spawn(process.execPath, ['-e', source], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve) => {
    child.stdout.once('data', (port) =>
      resolve({ url: `http://127.0.0.1:${String(port).trim()}`, stop: () => child.kill() }),
    );
  });
}

const features = [5.1, 3.5, 1.4, 0.2];
const jsonBody = JSON.stringify({
  inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', data: features }],
});
const header = JSON.stringify({
  parameters: { binary_data_output: true },
  inputs: [{ name: 'features', shape: [1, 4], datatype: 'FP32', parameters: { binary_data_size: 16 } }],
});
const binaryBody = Buffer.concat([Buffer.from(header), Buffer.from(new Float32Array(features).buffer)]);

async function run(url, body, headers, connections) {
  const result = await autocannon({
    url: `${url}/v2/models/iris/infer`,
    method: 'POST',
    body,
    headers,
    connections,
    duration,
    warmup: { connections, duration: 2 },
  });
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${result.non2xx} non-2xx, ${result.errors} errors`);
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p90: result.latency.p90,
    p99: result.latency.p99,
  };
}

const berth = await startBerth();
const bare = await startBare();
const rows = [];
for (const connections of connectionsList) {
  rows.push([
    'bare node:http (fixed response)',
    connections,
    await run(bare.url, jsonBody, { 'content-type': 'application/json' }, connections),
  ]);
  rows.push([
    'berth iris, JSON',
    connections,
    await run(berth.url, jsonBody, { 'content-type': 'application/json' }, connections),
  ]);
  rows.push([
    'berth iris, binary',
    connections,
    await run(
      berth.url,
      binaryBody,
      {
        'content-type': 'application/octet-stream',
        'inference-header-content-length': String(Buffer.byteLength(header)),
      },
      connections,
    ),
  ]);
}
berth.stop();
bare.stop();
console.log(
  `node ${process.version}, ${cpus().length} x ${cpus()[0]?.model}, ${duration}s per run after a 2s warm-up\n`,
);
console.log('| target | connections | req/s | p50 ms | p90 ms | p99 ms |\n|---|---:|---:|---:|---:|---:|');
for (const [name, c, r] of rows)
  console.log(`| ${name} | ${c} | ${Math.round(r.rps)} | ${r.p50} | ${r.p90} | ${r.p99} |`);
