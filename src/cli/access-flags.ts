/**
 * The access-control flags `berth serve`, `berth up` and `berth gateway` share (docs/security.md): API keys and
 * who may skip them, rate limits and the concurrency cap, the audit log, and TLS, with their parsing.
 */
import type { Command } from 'commander';
import { BerthError } from '../ground/index.js';
import type {
  AuditLog,
  Authenticator,
  CertificateRoles,
  KeyRole,
  JwtVerifier,
  LoadedKeys,
  RatePolicy,
  SharedBuckets,
  TlsFiles,
} from '../access/index.js';
import { resolve } from 'node:path';
import type { GatewayAccess } from '../gateway/index.js';
import type { Logger } from '../observability/index.js';
import type { ServeSpec } from '../spec/index.js';
import { parseDuration, parseInteger } from './option-parsers.js';

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
  jwtJwks?: string;
  jwtIssuer?: string;
  jwtAudience?: string;
  jwtAlgorithms?: string;
  jwtRolesClaim: string;
  jwtModelsClaim?: string;
  jwtClockSkew: string;
  rateLimitRedis?: string;
  tlsClientRole: string[];
}

/** Who callers are, from `--api-keys` and/or `--jwt-jwks`, and how to stop watching their files. */
export interface CallerAuth {
  readonly authenticator: Authenticator;
  close(): void;
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
      '--rate-limit-redis <url>',
      'share the rate limits with other berth processes through this Redis (redis://host:port, or env:NAME / file:PATH holding the URL)',
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
      '--tls-client-role <cn=roles>',
      'with --tls-client-ca: what a client certificate with this common name may do, e.g. fraud-app=infer@fraud-* (repeatable)',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option(
      '--jwt-jwks <url|file>',
      "accept JWT bearer tokens signed by a key of this JWKS (an identity provider's jwks_uri, or a file; reloaded when it changes)",
    )
    .option('--jwt-issuer <iss>', 'with --jwt-jwks: the one issuer (iss) accepted')
    .option('--jwt-audience <aud>', 'with --jwt-jwks: the audience (aud) a token must name')
    .option(
      '--jwt-algorithms <list>',
      'with --jwt-jwks: accepted algorithms, comma-separated (default RS256,ES256,EdDSA; never none or HS*)',
    )
    .option('--jwt-roles-claim <claim>', "with --jwt-jwks: the claim holding berth's roles", 'roles')
    .option(
      '--jwt-models-claim <claim>',
      'with --jwt-jwks: a claim holding model-name patterns (default: every model)',
    )
    .option(
      '--jwt-clock-skew <duration>',
      'with --jwt-jwks: clock difference tolerated on exp and nbf',
      '60s',
    )
    .option(
      '--auth-health',
      'with --api-keys or --jwt-jwks: health and readiness need credentials too (default: open, for probes)',
    );
}

/** The API keys `--api-keys` names, loaded and watched; undefined without it. */
export async function authOf(flags: AccessFlags, logger: Logger): Promise<CallerAuth | undefined> {
  const keys = await keysOf(flags, logger);
  const jwt = await jwtOf(flags, logger);
  const certificates = await certificateRolesOf(flags);
  if (keys === undefined && jwt === undefined && certificates === undefined) {
    if (flags.authHealth) {
      throw new BerthError(
        'BERTH_ERR_CLI_INVALID_OPTION',
        '--auth-health needs --api-keys, --jwt-jwks or --tls-client-role',
      );
    }
    return undefined;
  }
  const { authenticatorOf } = await import('../access/index.js');
  return {
    authenticator: authenticatorOf(keys?.store, jwt, certificates),
    close: () => {
      keys?.close();
      jwt?.close();
    },
  };
}

/** `--tls-client-role CN=roles[@models]`: what each client certificate may do; undefined without it. */
async function certificateRolesOf(flags: AccessFlags): Promise<CertificateRoles | undefined> {
  if (flags.tlsClientRole.length === 0) return undefined;
  if (flags.tlsClientCa === undefined) {
    throw new BerthError('BERTH_ERR_CLI_INVALID_OPTION', '--tls-client-role needs --tls-client-ca');
  }
  const { KEY_ROLES, MODEL_PATTERN } = await import('../access/index.js');
  const roles = new Map<string, { roles: KeyRole[]; models?: string[] }>();
  for (const entry of flags.tlsClientRole) {
    const match = /^([^=]{1,256})=([a-z,]+)(?:@(.+))?$/.exec(entry);
    const granted = match?.[2]?.split(',') ?? [];
    const models = match?.[3]?.split(',');
    if (
      match?.[1] === undefined ||
      !granted.every((role) => (KEY_ROLES as readonly string[]).includes(role)) ||
      (models !== undefined && !models.every((pattern) => MODEL_PATTERN.test(pattern)))
    ) {
      throw new BerthError(
        'BERTH_ERR_CLI_INVALID_OPTION',
        `--tls-client-role: expected CN=ROLES[@MODELS] with roles from ${KEY_ROLES.join(', ')}, such as fraud-app=infer@fraud-*; got "${entry}"`,
      );
    }
    roles.set(match[1], { roles: granted as KeyRole[], ...(models === undefined ? {} : { models }) });
  }
  return roles;
}

async function keysOf(flags: AccessFlags, logger: Logger): Promise<LoadedKeys | undefined> {
  if (flags.apiKeys === undefined) return undefined;
  const { loadKeys, parseSecretRef } = await import('../access/index.js');
  const keys = await loadKeys(parseSecretRef(flags.apiKeys, true), logger);
  logger.info({ keys: keys.store.size }, `access control on: ${keys.store.size} API key(s)`);
  return keys;
}

/** The JWT verifier `--jwt-jwks` asks for, with its issuer and audience; undefined without it. */
async function jwtOf(flags: AccessFlags, logger: Logger): Promise<JwtVerifier | undefined> {
  const { jwtJwks, jwtIssuer, jwtAudience } = flags;
  if (jwtJwks === undefined) {
    const stray = [
      ['--jwt-issuer', jwtIssuer],
      ['--jwt-audience', jwtAudience],
      ['--jwt-algorithms', flags.jwtAlgorithms],
      ['--jwt-models-claim', flags.jwtModelsClaim],
    ].find(([, value]) => value !== undefined);
    if (stray !== undefined)
      throw new BerthError('BERTH_ERR_CLI_INVALID_OPTION', `${stray[0] ?? ''} needs --jwt-jwks`);
    return undefined;
  }
  if (jwtIssuer === undefined || jwtAudience === undefined) {
    throw new BerthError(
      'BERTH_ERR_CLI_INVALID_OPTION',
      '--jwt-jwks needs --jwt-issuer and --jwt-audience: a token is accepted only from one issuer, for this service',
    );
  }
  const { JwtVerifier } = await import('../access/index.js');
  const verifier = await JwtVerifier.open({
    jwks: jwtJwks,
    issuer: jwtIssuer,
    audience: jwtAudience,
    ...(flags.jwtAlgorithms === undefined
      ? {}
      : {
          algorithms: flags.jwtAlgorithms
            .split(',')
            .map((a) => a.trim())
            .filter((a) => a !== ''),
        }),
    rolesClaim: flags.jwtRolesClaim,
    ...(flags.jwtModelsClaim === undefined ? {} : { modelsClaim: flags.jwtModelsClaim }),
    clockToleranceSeconds: parseDuration('--jwt-clock-skew', flags.jwtClockSkew) / 1000,
  });
  logger.info({ jwks: jwtJwks, issuer: jwtIssuer }, `access control on: JWTs from ${jwtIssuer}`);
  return verifier;
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
export interface Limits {
  readonly perCaller?: RatePolicy;
  readonly perModel?: Record<string, RatePolicy>;
  readonly maxConcurrent?: number;
  /** `--rate-limit-redis`: the buckets live in Redis, shared with other processes. */
  readonly shared?: SharedBuckets;
  readonly onSharedError?: (error: unknown) => void;
}

export async function limitsOf(flags: AccessFlags, logger: Logger): Promise<Limits | undefined> {
  if (flags.rateLimit === undefined && flags.rateBurst !== undefined) {
    throw new BerthError('BERTH_ERR_CLI_INVALID_OPTION', '--rate-burst needs --rate-limit');
  }
  if (
    flags.rateLimitRedis !== undefined &&
    flags.rateLimit === undefined &&
    flags.modelRateLimit.length === 0
  ) {
    throw new BerthError(
      'BERTH_ERR_CLI_INVALID_OPTION',
      '--rate-limit-redis needs --rate-limit or --model-rate-limit',
    );
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
  if (flags.rateLimitRedis === undefined) return limits;
  return { ...limits, ...(await sharedOf(flags.rateLimitRedis, logger)) };
}

/** Connects to the Redis `--rate-limit-redis` names (a URL, or env:NAME / file:PATH holding one). */
async function sharedOf(
  given: string,
  logger: Logger,
): Promise<{ shared: SharedBuckets; onSharedError: (error: unknown) => void }> {
  const { RedisBuckets, parseSecretRef, redactedUrl, resolveSecret } = await import('../access/index.js');
  const url = /^(?:env|file):/.test(given) ? (await resolveSecret(parseSecretRef(given))).trim() : given;
  if (!/^rediss?:\/\//.test(url)) {
    throw new BerthError(
      'BERTH_ERR_CLI_INVALID_OPTION',
      '--rate-limit-redis: expected redis://[user:password@]host:port[/db] or rediss://..., or env:NAME or file:PATH holding one',
    );
  }
  const shared = await RedisBuckets.connect({ url });
  logger.info({ redis: redactedUrl(url) }, 'rate limits shared through Redis');
  const warned = { at: -Infinity };
  return {
    shared,
    // Each failed take lets its request through; one line every 10 s says so.
    onSharedError: (error) => {
      const now = performance.now();
      if (now - warned.at < 10_000) return;
      warned.at = now;
      logger.warn(
        { err: error instanceof Error ? error.message : String(error) },
        'a shared rate limit could not be read from Redis: requests go through unlimited until it answers',
      );
    },
  };
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

/** Where a flag's value came from, as commander says (`cli`, `env`, `default`, or undefined). */
export type OptionSource = (name: string) => string | undefined;

/**
 * The access flags with the spec's `serve` section filling in what the command line did not
 * give: the command line wins. Paths in the spec are relative to it; `env:` and `file:`
 * references and URLs are kept as they are.
 *
 * @example
 * const merged = withServeSpec(flags, loaded?.spec.serve, dirname(loaded.path), (name) => command.getOptionValueSource(name));
 */
export function withServeSpec<F extends AccessFlags>(
  flags: F,
  serve: ServeSpec | undefined,
  specDir: string,
  sourceOf: OptionSource,
): F {
  if (serve === undefined) return flags;
  const path = (value: string | undefined) =>
    value === undefined || /^(?:env:|https?:\/\/|rediss?:\/\/)/.test(value)
      ? value
      : value.startsWith('file:')
        ? `file:${resolve(specDir, value.slice(5))}`
        : resolve(specDir, value);
  const { auth, limits, tls } = serve;
  const fromSpec: { readonly [K in keyof AccessFlags]?: AccessFlags[K] | undefined } = {
    apiKeys: path(auth?.apiKeys),
    authHealth: auth?.protectHealth,
    jwtJwks: path(auth?.jwt?.jwks),
    jwtIssuer: auth?.jwt?.issuer,
    jwtAudience: auth?.jwt?.audience,
    jwtAlgorithms: auth?.jwt?.algorithms?.join(','),
    jwtRolesClaim: auth?.jwt?.rolesClaim,
    jwtModelsClaim: auth?.jwt?.modelsClaim,
    jwtClockSkew: auth?.jwt?.clockSkew,
    rateLimit: limits?.perCaller,
    rateBurst: limits?.burst === undefined ? undefined : String(limits.burst),
    modelRateLimit:
      limits?.perModel === undefined
        ? undefined
        : Object.entries(limits.perModel).map(([model, rate]) => `${model}=${rate}`),
    maxConcurrent: limits?.maxConcurrent === undefined ? undefined : String(limits.maxConcurrent),
    rateLimitRedis: limits?.redis,
    tlsCert: path(tls?.cert),
    tlsKey: path(tls?.key),
    tlsClientCa: path(tls?.clientCa),
    tlsClientRole:
      tls?.clientRoles === undefined
        ? undefined
        : Object.entries(tls.clientRoles).map(
            ([cn, grant]) =>
              `${cn}=${grant.roles.join(',')}${grant.models === undefined ? '' : `@${grant.models.join(',')}`}`,
          ),
    auditLog: path(serve.auditLog),
  };
  const merged: Record<string, unknown> = { ...(flags as AccessFlags) };
  for (const [name, value] of Object.entries(fromSpec)) {
    if (value === undefined) continue;
    const source = sourceOf(name);
    if (source === 'cli' || source === 'env') continue;
    merged[name] = value;
  }
  return merged as F;
}

/** The gateway's access control from the access flags: keys, limits, audit; undefined for none. */
export async function gatewayAccessOf(
  flags: AccessFlags,
  logger: Logger,
): Promise<{ access: GatewayAccess; close: () => void } | undefined> {
  const keys = await authOf(flags, logger);
  const limits = await limitsOf(flags, logger);
  if (flags.auditLog !== undefined && keys === undefined) {
    // What the gateway audits is refused credentials and admin calls: nothing without them.
    throw new BerthError('BERTH_ERR_CLI_INVALID_OPTION', '--audit-log needs --api-keys or --jwt-jwks');
  }
  if (keys === undefined && limits === undefined) return undefined;
  const audit = await auditOf(flags);
  const { createGatewayAccess } = await import('../gateway/index.js');
  const access = createGatewayAccess({
    ...(keys === undefined ? {} : { keys: keys.authenticator, protectHealth: flags.authHealth }),
    ...(limits === undefined ? {} : { limits }),
    ...(audit === undefined ? {} : { audit }),
  });
  return {
    access,
    close: () => {
      keys?.close();
      void audit?.close();
      void limits?.shared?.close();
    },
  };
}
