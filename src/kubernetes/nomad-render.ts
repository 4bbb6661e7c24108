/**
 * `berth render nomad`: berth.yaml as a Nomad job (HCL), with the semantics the Kubernetes
 * objects have: one group of `replicas.min` berth tasks (the Docker or Podman driver) hardened as
 * `berth render compose` hardens its service (user 65532, read-only root filesystem with a /tmp
 * tmpfs, every capability dropped, no new privileges), the service and its checks on the OIP
 * health endpoints, an `update` stanza that replaces one task at a time and reverts on its own
 * (with a canary for `rollout.strategy: canary`), a drain longer than berth's, resources and GPU
 * devices, the serve section's secrets read from Nomad Variables into the task's secrets folder,
 * and Consul Connect when asked. Pure.
 */
import { stringify } from 'yaml';
import { BerthError } from '../ground/index.js';
import { kubernetesSection, nomadSection, replicasSection } from '../spec/index.js';
import { attr, block, writeHcl, type HclItem } from './hcl.js';
import { podSecrets } from './pod-secrets.js';
import { GRPC_PORT, HTTP_PORT, type RenderInput } from './render-context.js';
import { IMAGE_UID, PRE_STOP_SECONDS, serveArgs } from './workload.js';

/** Where the Docker and Podman drivers put a task's `local/` and `secrets/` folders. */
const LOCAL_DIR = '/local';
const SECRETS_DIR = '/secrets';
const TMP_BYTES = 256 * 1024 * 1024;

const UNITS: Record<string, number> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
};

/** A Kubernetes memory quantity in MiB, as Nomad counts memory. */
export function memoryMiB(quantity: string): number {
  const match = /^(\d+(?:\.\d+)?)([kMGT]i?|)$/.exec(quantity);
  const unit = UNITS[match?.[2] ?? 'x'];
  if (match === null || unit === undefined)
    throw new BerthError(
      'BERTH_ERR_SPEC_INVALID',
      `kubernetes.resources.memory: "${quantity}" has no unit Nomad can take (use Mi or Gi)`,
    );
  return Math.max(10, Math.ceil((Number(match[1]) * unit) / 1024 ** 2));
}

/** CPU: whole cores are reserved as `cores`; a share (500m, 1.5) as MHz, counting 1000 per core. */
function cpu(quantity: string): HclItem[] {
  const cores = quantity.endsWith('m') ? Number(quantity.slice(0, -1)) / 1000 : Number(quantity);
  return Number.isInteger(cores)
    ? attr('cores', cores)
    : attr('cpu', Math.max(100, Math.round(cores * 1000)));
}

/**
 * The job's HCL.
 *
 * @throws BerthError BERTH_ERR_SPEC_INVALID for what a Nomad job cannot do as written.
 */
export function renderNomad(input: RenderInput): string {
  const { spec } = input;
  const nomad = spec.nomad ?? nomadSection.parse({});
  const kube = spec.kubernetes ?? kubernetesSection.parse({});
  const replicas = spec.replicas ?? replicasSection.parse({});
  const tls = spec.serve?.tls !== undefined;
  if (spec.serve?.auth?.protectHealth === true)
    throw new BerthError(
      'BERTH_ERR_SPEC_INVALID',
      "serve.auth.protectHealth: Nomad's checks carry no credentials; leave the health endpoints open",
    );
  if (kube.models.source === 'volume')
    throw new BerthError(
      'BERTH_ERR_SPEC_INVALID',
      'kubernetes.models.source: render nomad takes the models from the image (berth build); a volume is not supported',
    );
  const secrets = podSecrets(spec.serve, 'secret', SECRETS_DIR);
  const config = stringify(
    { name: input.name, ...(secrets.serve === undefined ? {} : { serve: secrets.serve }) },
    { lineWidth: 0 },
  );
  const drainSeconds = Math.ceil(kube.drainTimeout / 1000);
  const cuda = input.models.some((m) => m.execution === 'cuda');
  const gpus = kube.resources.gpu ?? (cuda ? 1 : 0);
  const count = Math.max(1, replicas.min);
  const canary = spec.rollout?.strategy === 'canary';
  const args = serveArgs(`${LOCAL_DIR}/berth.yaml`, input.models.length > 0, kube.drainTimeout);
  const driverConfig: HclItem[] = [
    ...attr('image', input.image),
    ...attr('args', args),
    ...attr('ports', ['http', 'grpc']),
    ...attr('readonly_rootfs', true),
    ...attr('cap_drop', ['ALL']),
    ...attr('security_opt', ['no-new-privileges']),
    ...(nomad.driver === 'docker'
      ? [
          block(
            'mount',
            [],
            [
              ...attr('type', 'tmpfs'),
              ...attr('target', '/tmp'),
              ...attr('readonly', false),
              block('tmpfs_options', [], attr('size', TMP_BYTES)),
            ],
          ),
        ]
      : attr('tmpfs', ['/tmp'])),
  ];
  const scheme = tls ? 'https' : 'http';
  const httpService = block(
    'service',
    [],
    [
      ...attr('name', input.name),
      ...attr('port', nomad.connect ? String(HTTP_PORT) : 'http'),
      ...attr('provider', nomad.serviceProvider),
      ...attr('tags', ['berth', 'oip', 'rest']),
      block(
        'check',
        [],
        [
          ...attr('name', 'ready'),
          ...attr('type', 'http'),
          ...attr('protocol', scheme),
          ...attr('path', '/v2/health/ready'),
          ...attr('interval', '10s'),
          ...attr('timeout', '3s'),
          ...(nomad.connect ? attr('expose', true) : []),
        ],
      ),
      ...(nomad.connect ? [block('connect', [], [block('sidecar_service', [], [])])] : []),
    ],
  );
  const grpcService = block(
    'service',
    [],
    [
      ...attr('name', `${input.name}-grpc`),
      ...attr('port', 'grpc'),
      ...attr('provider', nomad.serviceProvider),
      ...attr('tags', ['berth', 'oip', 'grpc']),
      block(
        'check',
        [],
        [
          ...attr('name', 'grpc-health'),
          ...attr('type', 'grpc'),
          ...attr('grpc_service', ''),
          ...attr('grpc_use_tls', tls),
          ...attr('interval', '10s'),
          ...attr('timeout', '3s'),
        ],
      ),
    ],
  );
  const templates: HclItem[] = [
    block(
      'template',
      [],
      [
        ...attr('data', config),
        ...attr('destination', 'local/berth.yaml'),
        // The spec is plain text: delimiters nothing in it uses, so no value is read as a template.
        ...attr('left_delimiter', '[[berth'),
        ...attr('right_delimiter', 'berth]]'),
        ...attr('change_mode', 'restart'),
      ],
    ),
    ...secrets.keys.map((key) =>
      block(
        'template',
        [],
        [
          ...attr('data', `{{ with nomadVar "nomad/jobs/${input.name}" }}{{ index . "${key}" }}{{ end }}`),
          ...attr('destination', `secrets/${key}`),
          ...attr('perms', '0440'),
          // berth reloads key files and certificates when they change.
          ...attr('change_mode', 'noop'),
        ],
      ),
    ),
  ];
  const task = block(
    'task',
    ['berth'],
    [
      ...attr('driver', nomad.driver),
      ...attr('user', `${IMAGE_UID}:${IMAGE_UID}`),
      block('config', [], driverConfig),
      ...templates,
      block(
        'resources',
        [],
        [
          ...cpu(kube.resources.cpu),
          ...attr('memory', memoryMiB(kube.resources.memory)),
          ...(gpus > 0 ? [block('device', ['nvidia/gpu'], attr('count', gpus))] : []),
        ],
      ),
      ...attr('kill_signal', 'SIGTERM'),
      ...attr('kill_timeout', `${drainSeconds + 10}s`),
      // Out of the service catalog first, then SIGTERM starts berth's drain.
      ...attr('shutdown_delay', `${PRE_STOP_SECONDS}s`),
    ],
  );
  const group = block(
    'group',
    [input.name],
    [
      ...attr('count', count),
      ...(replicas.max > count
        ? [
            block(
              'scaling',
              [],
              [...attr('enabled', true), ...attr('min', count), ...attr('max', replicas.max)],
            ),
          ]
        : []),
      block(
        'network',
        [],
        [
          ...(nomad.connect ? attr('mode', 'bridge') : []),
          block('port', ['http'], attr('to', HTTP_PORT)),
          block('port', ['grpc'], attr('to', GRPC_PORT)),
        ],
      ),
      httpService,
      grpcService,
      task,
    ],
  );
  const job = block(
    'job',
    [input.name],
    [
      ...attr('type', 'service'),
      ...attr('datacenters', nomad.datacenters),
      ...attr('region', nomad.region),
      ...attr('namespace', nomad.namespace),
      block('meta', [], attr('berth_version', input.berthVersion)),
      block(
        'update',
        [],
        [
          ...attr('max_parallel', 1),
          ...attr('health_check', 'checks'),
          ...attr('min_healthy_time', '10s'),
          ...attr('healthy_deadline', '5m'),
          ...attr('progress_deadline', '10m'),
          ...attr('auto_revert', true),
          ...(canary ? [...attr('canary', 1), ...attr('auto_promote', false)] : []),
        ],
      ),
      group,
    ],
  );
  const header = [
    `# Written by \`berth render nomad\` ${input.berthVersion}. Run with: nomad job run ${input.name}.nomad.hcl`,
    ...(secrets.keys.length === 0
      ? []
      : [
          `# Secrets come from the Nomad Variable nomad/jobs/${input.name}, items: ${secrets.keys.join(', ')}.`,
        ]),
  ].join('\n');
  return `${header}\n\n${writeHcl([job])}`;
}
