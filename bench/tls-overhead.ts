/**
 * What TLS costs on the request path (issue 14): `berth serve` on the tiny MLP, binary, plain and
 * with `--tls-cert` (an ECDSA P-256 certificate made by openssl here), at 1 and 64 connections:
 * p50, requests per second, and the server's CPU per request. berth bench keeps its connections,
 * so this is the cost of encrypting requests and answers, not of handshakes. Rounds alternate the
 * order, as this VM's speed drifts.
 *
 *   npm run build && node bench/tls-overhead.ts [--rounds 3] [--duration 5s]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { benchWithCpu, median, serveRepo } from './src/measured-run.ts';
import { writeTinyMlpRepo } from './src/tiny-mlp.ts';

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '3' }, duration: { type: 'string', default: '5s' } },
});
const rounds = Number(values.rounds);

const dir = mkdtempSync(join(tmpdir(), 'berth-tls-bench-'));
const repo = join(dir, 'models');
writeTinyMlpRepo(repo);
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
  const served = await serveRepo(
    repo,
    tls ? ['--tls-cert', cert, '--tls-key', key] : [],
    tls ? ca : undefined,
  );
  try {
    const run = (concurrency: number) =>
      benchWithCpu({
        url: served.url,
        model: 'mlp',
        concurrency,
        duration: values.duration,
        pid: served.pid,
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
    await served.stop();
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
