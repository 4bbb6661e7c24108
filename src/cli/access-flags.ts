/**
 * The access-control flags `berth serve` and `berth up` share (docs/security.md): API keys and
 * who may skip them, rate limits and the concurrency cap, the audit log, and TLS, with their parsing.
 */
import type { Command } from 'commander';
import { BerthError } from '../ground/index.js';
import type { AuditLog, LoadedKeys, RatePolicy, TlsFiles } from '../access/index.js';
import type { Logger } from '../observability/index.js';
import { parseInteger } from './option-parsers.js';

export interface AccessFlags {
  apiKeys?: string;
  authHealth: boolean;
  rateLimit?: string;
  rateBurst?: string;
  modelRateLimit: string[];
  maxConcurrent?: string;
  auditLog?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsClientCa?: string;
}

/** Adds the access-control options to `command`. */
export function addAccessOptions(command: Command): Command {
  return command
    .option(
      '--api-keys <ref>',
      'require API keys: a key file made by `berth keys create` (a path, file:PATH, or env:NAME holding the file); reloaded when the file changes',
    )
    .option(
      '--rate-limit <rate>',
      'each caller (API key, or address) may make this many requests: 100/s, 600/m, 1000/h',
    )
    .option(
      '--rate-burst <n>',
      'with --rate-limit: requests allowed at once after an idle spell (default: one second of the rate)',
    )
    .option(
      '--model-rate-limit <model=rate>',
      'a limit for one model over all its callers, e.g. fraud=50/s (repeatable)',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option(
      '--audit-log <file>',
      'append a JSON line for every refused key and every admin operation (repository load and unload) to this file (0600)',
    )
    .option('--max-concurrent <n>', 'most requests one caller may have in progress at once')
    .option(
      '--tls-cert <file>',
      'serve HTTPS and gRPC over TLS with this PEM certificate (chain); reloaded when it changes',
    )
    .option('--tls-key <file>', "the certificate's PEM private key (with --tls-cert)")
    .option('--tls-client-ca <file>', 'mTLS: require client certificates signed by this PEM CA')
    .option(
      '--auth-health',
      'with --api-keys: health and readiness need a key too (default: open, for probes)',
    );
}

/** The API keys `--api-keys` names, loaded and watched; undefined without it. */
export async function keysOf(flags: AccessFlags, logger: Logger): Promise<LoadedKeys | undefined> {
  if (flags.apiKeys === undefined) {
    if (flags.authHealth)
      throw new BerthError('BERTH_ERR_CLI_INVALID_OPTION', '--auth-health needs --api-keys');
    return undefined;
  }
  const { loadKeys, parseSecretRef } = await import('../access/index.js');
  const keys = await loadKeys(parseSecretRef(flags.apiKeys, true), logger);
  logger.info({ keys: keys.store.size }, `access control on: ${keys.store.size} API key(s)`);
  return keys;
}

/** A rate from its flag, with the burst `burst` names (default: one second of it, at least 1). */
function policyOf(
  parseRate: (text: string) => number | undefined,
  option: string,
  rate: string,
  burst: string | undefined,
): RatePolicy {
  const perSecond = parseRate(rate);
  if (perSecond === undefined) {
    throw new BerthError(
      'BERTH_ERR_CLI_INVALID_OPTION',
      `${option}: expected a rate such as 100/s, 600/m or 1000/h; got "${rate}"`,
    );
  }
  return {
    perSecond,
    burst:
      burst === undefined
        ? Math.max(1, Math.ceil(perSecond))
        : parseInteger('--rate-burst', burst, 1, 1_000_000),
  };
}

/** The limits `--rate-limit`, `--model-rate-limit` and `--max-concurrent` ask for; undefined for none. */
export async function limitsOf(
  flags: AccessFlags,
): Promise<
  { perCaller?: RatePolicy; perModel?: Record<string, RatePolicy>; maxConcurrent?: number } | undefined
> {
  if (flags.rateLimit === undefined && flags.rateBurst !== undefined) {
    throw new BerthError('BERTH_ERR_CLI_INVALID_OPTION', '--rate-burst needs --rate-limit');
  }
  if (
    flags.rateLimit === undefined &&
    flags.modelRateLimit.length === 0 &&
    flags.maxConcurrent === undefined
  ) {
    return undefined;
  }
  const { parseRate } = await import('../access/index.js');
  const perModel: Record<string, RatePolicy> = {};
  for (const entry of flags.modelRateLimit) {
    const at = entry.indexOf('=');
    const model = entry.slice(0, at);
    if (at <= 0 || !/^[A-Za-z0-9_.-]{1,128}$/.test(model)) {
      throw new BerthError(
        'BERTH_ERR_CLI_INVALID_OPTION',
        `--model-rate-limit: expected MODEL=RATE such as fraud=50/s; got "${entry}"`,
      );
    }
    perModel[model] = policyOf(parseRate, '--model-rate-limit', entry.slice(at + 1), undefined);
  }
  const limits = {
    ...(flags.rateLimit === undefined
      ? {}
      : { perCaller: policyOf(parseRate, '--rate-limit', flags.rateLimit, flags.rateBurst) }),
    ...(Object.keys(perModel).length === 0 ? {} : { perModel }),
    ...(flags.maxConcurrent === undefined
      ? {}
      : { maxConcurrent: parseInteger('--max-concurrent', flags.maxConcurrent, 1, 1_000_000) }),
  };
  return limits;
}

/** The audit log `--audit-log` names, opened; undefined without it. */
export async function auditOf(flags: AccessFlags): Promise<AuditLog | undefined> {
  if (flags.auditLog === undefined) return undefined;
  return (await import('../access/index.js')).AuditLog.toFile(flags.auditLog);
}

/** The TLS files `--tls-cert` and `--tls-key` name, read and watched; undefined without them. */
export async function tlsOf(flags: AccessFlags, logger: Logger): Promise<TlsFiles | undefined> {
  const { tlsCert, tlsKey, tlsClientCa } = flags;
  if (tlsCert === undefined && tlsKey === undefined) {
    if (tlsClientCa !== undefined) {
      throw new BerthError('BERTH_ERR_CLI_INVALID_OPTION', '--tls-client-ca needs --tls-cert and --tls-key');
    }
    return undefined;
  }
  if (tlsCert === undefined || tlsKey === undefined) {
    throw new BerthError('BERTH_ERR_CLI_INVALID_OPTION', '--tls-cert and --tls-key go together: give both');
  }
  const { TlsFiles } = await import('../access/index.js');
  return TlsFiles.open(
    {
      certFile: tlsCert,
      keyFile: tlsKey,
      ...(tlsClientCa === undefined ? {} : { clientCaFile: tlsClientCa }),
    },
    logger,
  );
}
