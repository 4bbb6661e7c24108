/** `berth status`: what `berth up` runs now, from its control API. */
import { Command } from 'commander';
import type { DeploymentStatus, ReplicaView } from '../orchestrator/index.js';
import { callControl, controlUrl } from './control-client.js';
import type { KubeStatusFlags } from './deploy-command.js';
import { helpSection } from './help-text.js';
import { table } from './table.js';

export function statusCommand(): Command {
  return new Command('status')
    .summary('show the replicas, load and scaling of a running `berth up`, or of a Kubernetes deployment')
    .description(
      [
        'Ask a running `berth up` (its control API, on loopback) what it runs: the gateway, the',
        'replicas (state, pid, requests in flight, whether the balancer sends them requests,',
        'restarts, crash loops, last exit), the load the gateway sees, and how many replicas the',
        'autoscaler wants and why.',
      ].join('\n'),
    )
    .option('--url <url>', 'the control API (default: $BERTH_CONTROL_URL or http://127.0.0.1:8002)')
    .option('--json', 'print the status as JSON, for scripts')
    .option('--kube', 'show a Kubernetes deployment instead: its Deployment, pods and revisions')
    .option('-f, --file <berth.yaml>', "with --kube: the spec, for the deployment's name and namespace")
    .option('--name <name>', "with --kube: the deployment's name (default: the spec's name)")
    .option(
      '--namespace <ns>',
      "with --kube: the namespace (default: kubernetes.namespace, else the context's)",
    )
    .option('--kubeconfig <file>', 'with --kube: the kubeconfig (default: $KUBECONFIG, ~/.kube/config)')
    .option('--context <name>', "with --kube: the kubeconfig's context")
    .addHelpText(
      'after',
      helpSection({
        examples: [
          'berth status',
          'berth status --json | jq ".replicas[] | {id, state, restarts}"',
          'berth status --url http://127.0.0.1:9002',
          'berth status --kube -f berth.yaml',
        ],
      }),
    )
    .action(async (flags: KubeStatusFlags & { url?: string; kube?: boolean }) => {
      if (flags.kube === true) {
        await (await import('./deploy-command.js')).kubeStatus(flags);
        return;
      }
      const status = await callControl<DeploymentStatus>(controlUrl(flags.url), 'GET', '/berth/v1/status');
      process.stdout.write(
        flags.json === true ? `${JSON.stringify(status, null, 2)}\n` : formatStatus(status),
      );
    });
}

/** The status as people read it. */
export function formatStatus(status: DeploymentStatus, now = Date.now()): string {
  const { scaling, traffic } = status;
  const range = scaling.mode === 'auto' ? `${scaling.min} to ${scaling.max}` : String(scaling.desired);
  const last = traffic.lastRequestAt === undefined ? 'never' : `${ago(now - traffic.lastRequestAt)} ago`;
  const head = table([
    [
      'gateway',
      status.gateway.grpc === undefined
        ? status.gateway.url
        : `${status.gateway.url} and grpc://${status.gateway.grpc}`,
    ],
    ['up for', ago(now - status.startedAt)],
    [
      'scaling',
      `${scaling.mode}, ${range} replica(s), ${scaling.desired} desired, target ${scaling.targetInflightPerReplica} in flight per replica`,
    ],
    ['why', scaling.reason],
    [
      'traffic',
      `${traffic.inflight} in flight, ${traffic.waiting} waiting for a replica, last request ${last}`,
    ],
    ...(status.lastColdStartMs === undefined
      ? []
      : [['cold start', `${status.lastColdStartMs} ms (the last scale from zero)`]]),
    [
      'revision',
      `${status.revision.id}: ${status.revision.args.length === 0 ? 'the built-in example model' : status.revision.args.join(' ')}`,
    ],
    ...rolloutRows(status.rollout),
  ]);
  const rows = status.replicas.map((r) => [
    r.id,
    r.track === 'canary' ? `${r.state} (candidate)` : r.crashLooping ? `${r.state} (crash loop)` : r.state,
    r.revision === undefined ? '-' : String(r.revision),
    String(r.pid ?? '-'),
    String(r.outstanding),
    balancer(r),
    String(r.restarts),
    lastExit(r, now),
    r.url ?? '-',
  ]);
  const replicas =
    rows.length === 0
      ? '  no replica (scaled to zero: the next request starts one)'
      : table([
          ['REPLICA', 'STATE', 'REV', 'PID', 'IN-FLIGHT', 'BALANCER', 'RESTARTS', 'LAST EXIT', 'URL'],
          ...rows,
        ]);
  return `${head}\n\n${replicas}\n`;
}

/** A rollout as `berth rollout` prints it. */
export function formatRollout(rollout: Record<string, unknown>): string {
  return table(rolloutRows(rollout));
}

/** The rollout's lines: what, where it stands, why. */
function rolloutRows(rollout: Record<string, unknown> | undefined): string[][] {
  if (rollout === undefined) return [];
  const { strategy, revision, phase, step, steps, weight, mirror, reason, replaced, of } = rollout as {
    strategy: string;
    revision: number;
    phase: string;
    step?: number;
    steps?: number[];
    weight?: number;
    mirror?: number;
    reason?: string;
    replaced?: number;
    of?: number;
  };
  let where = phase;
  if (strategy === 'rolling' && replaced !== undefined && of !== undefined) {
    where += `, ${replaced} of ${of} replicas replaced`;
  } else if (phase === 'progressing' && step !== undefined && steps !== undefined) {
    const share =
      strategy === 'shadow' ? `${mirror ?? 0} % of traffic copied` : `${weight ?? 0} % of traffic`;
    where += `, step ${step} of ${steps.length} (${share})`;
  }
  return [
    ['rollout', `${strategy} to revision ${revision}: ${where}`],
    ...(reason === undefined ? [] : [['', reason]]),
  ];
}

function balancer(replica: ReplicaView): string {
  if (replica.ejected) return 'ejected';
  if (!replica.healthy && replica.state === 'ready') return 'unhealthy';
  if (replica.breaker === 'open') return 'breaker open';
  if (replica.breaker === 'half-open') return 'probing';
  return replica.inBalancer ? 'in' : 'out';
}

function lastExit(replica: ReplicaView, now: number): string {
  const exit = replica.lastExit;
  if (exit === undefined) return '-';
  const how = exit.signal ?? `status ${exit.code ?? '?'}`;
  return `${how}, ${ago(now - exit.at)} ago`;
}

/** 4200 -> "4s", 185000 -> "3m5s", 7300000 -> "2h1m". */
export function ago(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${seconds % 60 === 0 ? '' : `${seconds % 60}s`}`;
  const hours = Math.floor(minutes / 60);
  return `${hours}h${minutes % 60 === 0 ? '' : `${minutes % 60}m`}`;
}
