/**
 * What TLS costs on the request path (issue 14): `berth serve` on the tiny MLP, binary, plain and
 * with `--tls-cert` (an ECDSA P-256 certificate made by openssl here), at 1 and 64 connections:
 * p50, requests per second, and the server's CPU per request. berth bench keeps its connections,
 * so this is the cost of encrypting requests and answers, not of handshakes. Rounds alternate the
 * order, as this VM's speed drifts.
 *
 *   npm run build && node bench/tls-overhead.ts [--rounds 3] [--duration 5s]
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { benchWithCpu, median, ready, stop, until } from './src/measured-run.ts';
import { buildTinyMlp } from './src/tiny-mlp.ts';

const BERTH = fileURLToPath(new URL('../bin/berth.js', import.meta.url));
const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '3' }, duration: { type: 'string', default: '5s' } },
});
const rounds = Number(values.rounds);

const dir = mkdtempSync(join(tmpdir(), 'berth-tls-bench-'));
const repo = join(dir, 'models');
mkdirSync(join(repo, 'mlp', '1'), { recursive: true });
writeFileSync(join(repo, 'mlp', '1', 'model.onnx'), buildTinyMlp());
const cert = join(dir, 'tls.crt');
const key = join(dir, 'tls.key');
const made = spawnSync(
  'openssl',
  [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '1',
    '-subj',
    '/CN=localhost',
    '-addext',
    'subjectAltName=IP:127.0.0.1',
  ],
  { encoding: 'utf8' },
);
if (made.status !== 0) throw new Error(`openssl failed: ${made.stderr}`);
const ca = readFileSync(cert, 'utf8');

async function variant(tls: boolean): Promise<Record<string, number>> {
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const child = spawn(
    process.execPath,
    [
      BERTH,
      'serve',
      repo,
      '--port',
      String(port),
      '--no-grpc',
      '--log-level',
      'warn',
      ...(tls ? ['--tls-cert', cert, '--tls-key', key] : []),
    ],
    { stdio: 'ignore' },
  );
  const url = `${tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  try {
    await until(() => ready(url, tls ? ca : undefined), 'berth serve');
    const run = (concurrency: number) =>
      benchWithCpu({
        url,
        model: 'mlp',
        concurrency,
        duration: values.duration,
        pid: child.pid as number,
        env: { NODE_EXTRA_CA_CERTS: cert },
      });
    run(1); // warm-up
    const c1 = run(1);
    const c64 = run(64);
    return {
      p50C1: c1.level.latencyMs.p50,
      cpuC1: c1.cpuUs,
      rpsC64: c64.level.ok / Number.parseFloat(values.duration),
      p50C64: c64.level.latencyMs.p50,
      cpuC64: c64.cpuUs,
    };
  } finally {
    await stop(child);
  }
}

try {
  const plain: Record<string, number>[] = [];
  const tls: Record<string, number>[] = [];
  for (let round = 0; round < rounds; round++) {
    for (const withTls of round % 2 === 0 ? [false, true] : [true, false]) {
      (withTls ? tls : plain).push(await variant(withTls));
    }
    const [a, b] = [plain.at(-1) ?? {}, tls.at(-1) ?? {}];
    console.error(
      `round ${round + 1}: c1 p50 plain ${a.p50C1?.toFixed(3)} ms, TLS ${b.p50C1?.toFixed(3)} ms; ` +
        `c64 req/s plain ${Math.round(a.rpsC64 ?? 0)}, TLS ${Math.round(b.rpsC64 ?? 0)}; ` +
        `server CPU µs/request c1/c64 plain ${Math.round(a.cpuC1 ?? 0)}/${Math.round(a.cpuC64 ?? 0)}, ` +
        `TLS ${Math.round(b.cpuC1 ?? 0)}/${Math.round(b.cpuC64 ?? 0)}`,
    );
  }
  const of = (runs: Record<string, number>[], k: string) => median(runs.map((r) => r[k] as number));
  const keys = ['p50C1', 'cpuC1', 'rpsC64', 'p50C64', 'cpuC64'];
  console.log(
    JSON.stringify(
      {
        command: 'node bench/tls-overhead.ts',
        rounds,
        duration: values.duration,
        plain,
        tls,
        medians: {
          plain: Object.fromEntries(keys.map((k) => [k, of(plain, k)])),
          tls: Object.fromEntries(keys.map((k) => [k, of(tls, k)])),
        },
      },
      null,
      2,
    ),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
