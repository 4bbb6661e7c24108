/**
 * The `serve` section of berth.yaml: who may call a server and how it is reached securely — the
 * same settings as the access and TLS options of `berth serve` and `berth up` (docs/security.md),
 * which win over the spec when both are given. Strict: an unknown key is an error naming its path.
 * Paths are relative to the spec file; a secret may be given as `env:NAME` or `file:PATH` where a
 * value says so.
 */
import { z } from 'zod';

const text = z.string().min(1).max(4096);
const rate = z
  .string()
  .regex(
    /^\d+(?:\.\d+)?\s*\/\s*(?:s|sec|second|m|min|minute|h|hour)$/,
    'expected a rate such as 100/s, 600/m or 1000/h',
  );

export const serveSection = z
  .object({
    auth: z
      .object({
        apiKeys: text
          .optional()
          .describe(
            'The API key file `berth keys create` writes: a path, file:PATH, or env:NAME holding its JSON.',
          ),
        jwt: z
          .object({
            jwks: text.describe("An identity provider's jwks_uri (https://...) or a JWKS file."),
            issuer: text.describe('The one issuer (iss) accepted.'),
            audience: text.describe('The audience (aud) a token must name.'),
            algorithms: z
              .array(z.string().regex(/^[A-Za-z0-9]{2,16}$/))
              .min(1)
              .optional()
              .describe(
                'Accepted signature algorithms. Default [RS256, ES256, EdDSA]; none and HS* are never accepted.',
              ),
            rolesClaim: text.optional().describe("The claim holding berth's roles. Default roles."),
            modelsClaim: text
              .optional()
              .describe('A claim holding model-name patterns. Default: every model.'),
            clockSkew: z
              .string()
              .optional()
              .describe('Clock difference tolerated on exp and nbf, e.g. 60s. Default 60s.'),
          })
          .strict()
          .optional()
          .describe('Accept JWT bearer tokens verified against a JWKS.'),
        protectHealth: z
          .boolean()
          .optional()
          .describe('Health and readiness need credentials too. Default false (open, for probes).'),
      })
      .strict()
      .optional()
      .describe('Who may call: API keys and/or JWTs (docs/security.md).'),
    limits: z
      .object({
        perCaller: rate
          .optional()
          .describe('Requests each caller (key, token subject, or address) may make.'),
        burst: z
          .number()
          .int()
          .min(1)
          .max(1_000_000)
          .optional()
          .describe('Requests at once after an idle spell. Default: one second of perCaller.'),
        perModel: z
          .record(z.string().regex(/^[A-Za-z0-9_.-]{1,128}$/), rate)
          .optional()
          .describe('A limit per model over all its callers.'),
        maxConcurrent: z
          .number()
          .int()
          .min(1)
          .max(1_000_000)
          .optional()
          .describe('Most requests one caller may have in progress.'),
        redis: text
          .optional()
          .describe(
            'Share the limits through this Redis: redis://host:port, or env:NAME / file:PATH holding the URL.',
          ),
      })
      .strict()
      .optional()
      .describe(
        'Rate limits and a concurrency cap (token buckets; 429 with Retry-After and RateLimit fields).',
      ),
    tls: z
      .object({
        cert: text.describe('PEM certificate (chain); reloaded when it changes.'),
        key: text.describe("The certificate's PEM private key."),
        clientCa: text.optional().describe('mTLS: require client certificates signed by this PEM CA.'),
        clientRoles: z
          .record(
            z.string().min(1).max(256),
            z
              .object({
                roles: z.array(z.enum(['infer', 'read', 'admin', 'metrics'])).min(1),
                models: z
                  .array(z.string().regex(/^[A-Za-z0-9_.*-]{1,128}$/))
                  .min(1)
                  .optional(),
              })
              .strict(),
          )
          .optional()
          .describe(
            'mTLS: what a client certificate may do, by its common name: { fraud-app: { roles: [infer], models: [fraud-*] } }.',
          ),
      })
      .strict()
      .optional()
      .describe('Serve HTTPS and gRPC over TLS.'),
    auditLog: text
      .optional()
      .describe('Append a JSON line for every refused credential and admin operation here.'),
  })
  .strict();

export type ServeSpec = z.output<typeof serveSection>;
