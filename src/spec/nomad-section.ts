/**
 * The `nomad` section of berth.yaml: what `berth render nomad` needs beyond the other sections
 * (replicas, rollout, serve, and each replica's resources from `kubernetes.resources`). Strict.
 */
import { z } from 'zod';

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, 'expected letters, digits, _ . -');

export const nomadSection = z
  .object({
    datacenters: z
      .array(name)
      .min(1)
      .max(64)
      .default(['*'])
      .describe('Datacenters the job may run in; * is any.'),
    region: name.optional().describe("The region. Default: the agent's."),
    namespace: name.optional().describe('The Nomad namespace. Default: default.'),
    serviceProvider: z
      .enum(['nomad', 'consul'])
      .default('nomad')
      .describe(
        "Where the service and its checks are registered: Nomad's own catalog or Consul. Default nomad.",
      ),
    connect: z
      .boolean()
      .default(false)
      .describe(
        'Consul Connect: a sidecar proxy for the service mesh (needs serviceProvider consul). Default false.',
      ),
    driver: z.enum(['docker', 'podman']).default('docker').describe('The task driver. Default docker.'),
  })
  .strict()
  .refine((n) => !n.connect || n.serviceProvider === 'consul', {
    message: 'connect needs serviceProvider consul',
    path: ['connect'],
  });

export type NomadSpec = z.output<typeof nomadSection>;
