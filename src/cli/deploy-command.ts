/**
 * `berth deploy`, `berth rollback`: berth.yaml applied to a Kubernetes cluster with server-side
 * apply (field manager `berth`), an inventory of what was applied, pruning, and a rollout watch
 * that names what went wrong (docs/kubernetes.md#berth-deploy).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Command } from 'commander';
import type { SecretRef } from '../access/index.js';
import { BerthError } from '../ground/index.js';
import type { Kube, KubeTarget, RenderInput } from '../kubernetes/index.js';
import { helpSection } from './help-text.js';
import { parseDuration, parseInteger } from './option-parsers.js';
import { renderFromSpec, withRenderOptions, type RenderedSpec, type RenderFlags } from './render-k8s.js';

interface ClusterFlags {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  json?: boolean;
}

interface DeployFlags extends RenderFlags, ClusterFlags {
  dryRun?: string;
  pollInterval: string;
  prune?: boolean;
  wait?: boolean;
  timeout: string;
  forceConflicts?: boolean;
  metricsKey?: string;
}

interface RollbackFlags extends ClusterFlags {
  file?: string;
  name?: string;
  toRevision?: string;
  wait?: boolean;
  timeout: string;
  pollInterval: string;
}

const TIMING = { now: () => performance.now(), sleep: (ms: number) => sleep(ms) };

/** --poll-interval, at least 100 ms. */
function pollInterval(value: string): number {
  const ms = parseDuration('--poll-interval', value);
  if (ms < 100)
    throw new BerthError('BERTH_ERR_CLI_INVALID_OPTION', `--poll-interval: at least 100ms, got "${value}"`);
  return ms;
}

function withCluster(command: Command): Command {
  return command
    .option('--kubeconfig <file>', 'the kubeconfig (default: $KUBECONFIG, ~/.kube/config, or in-cluster)')
    .option('--context <name>', "the kubeconfig's context (default: its current one)")
    .option('--json', 'print the result as JSON, for scripts (progress stays on stderr)');
}

async function connect(flags: ClusterFlags, namespace: string | undefined): Promise<Kube> {
  const { connectKube } = await import('../kubernetes/index.js');
  const target: KubeTarget = { kubeconfig: flags.kubeconfig, context: flags.context, namespace };
  return connectKube(target);
}

const progress = (line: string) => process.stderr.write(`${line}\n`);

export function deployCommand(): Command {
  return withCluster(
    withRenderOptions(new Command('deploy'))
      .summary('apply berth.yaml to Kubernetes and watch the rollout')
      .description(
        [
          'Render berth.yaml as `berth render k8s` does and apply every object with server-side apply',
          '(field manager "berth"), record the revision in an inventory ConfigMap (<name>-berth), with',
          '--prune delete what the previous revision had and this one does not, and with --wait watch the',
          "Deployment's rollout: it fails with the cause in plain words (the image cannot be pulled, no node",
          'fits, a probe fails, a crash loop with its last log lines) instead of waiting for the deadline.',
        ].join(' '),
      )
      .option('--namespace <ns>', "the namespace (default: kubernetes.namespace, else the context's)")
      .option(
        '--dry-run <mode>',
        'client: print the objects, apply nothing; server: the API server checks them, nothing is stored',
      )
      .option('--prune', 'delete the objects the previous revision had and this one does not')
      .option('--wait', 'watch the rollout until the new pods are ready (exit status 2 if it fails)')
      .option('--timeout <duration>', 'with --wait, or a canary: the longest wait', '5m')
      .option(
        '--metrics-key <ref>',
        "a canary with serve.auth: a key with the metrics role, as env:NAME or file:PATH, sent to the pods' /metrics through the API server",
      )
      .option('--poll-interval <duration>', 'how often the rollout is looked at', '2s')
      .option('--force-conflicts', 'take over fields another field manager set (server-side apply force)'),
  )
    .addHelpText(
      'after',
      helpSection({
        examples: [
          'berth build ./models --push registry.example/fraud --json > build.json',
          'berth deploy --image-from build.json --wait',
          'berth deploy -f berth.yaml --image registry.example/fraud@sha256:... --namespace ml --prune --wait --timeout 10m',
          'berth deploy --image-from build.json --dry-run server',
          'berth rollback --wait',
        ],
      }),
    )
    .action(async (models: string[], flags: DeployFlags) => {
      if (flags.dryRun !== undefined && flags.dryRun !== 'client' && flags.dryRun !== 'server')
        throw new BerthError(
          'BERTH_ERR_CLI_INVALID_OPTION',
          `--dry-run: expected client or server, got "${flags.dryRun}"`,
        );
      const timeoutMs = parseDuration('--timeout', flags.timeout);
      const intervalMs = pollInterval(flags.pollInterval);
      const prepared = await renderFromSpec(models, flags);
      const { name, image, namespace, gpu, rendered } = prepared;
      for (const warning of rendered.warnings) process.stderr.write(`berth: warning: ${warning}\n`);
      if (flags.dryRun === 'client') {
        const { stringify } = await import('yaml');
        process.stdout.write(
          flags.json === true
            ? `${JSON.stringify(rendered.objects, null, 2)}\n`
            : rendered.objects.map((o) => `---\n${stringify(o, { lineWidth: 0 })}`).join(''),
        );
        return;
      }
      const kube = await connect(flags, namespace);
      const kubernetes = await import('../kubernetes/index.js');
      const { applyRevision, watchRollout } = kubernetes;
      progress(`deploying ${name} (${image}) to ${kube.server}, namespace ${kube.namespace}`);
      const strategy = prepared.input.spec.rollout;
      const inventory = await kubernetes.loadInventory(kube, name);
      const current = inventory.revisions.at(-1);
      if (
        flags.dryRun === undefined &&
        strategy !== undefined &&
        strategy.strategy !== 'rolling' &&
        current !== undefined &&
        current.image !== image
      ) {
        checkCanary(prepared, flags.metricsKey !== undefined);
        const metricsKey =
          flags.metricsKey === undefined ? undefined : await readMetricsKey(flags.metricsKey);
        const result = await kubernetes.runCanary(
          kube,
          {
            name,
            objects: rendered.objects,
            candidateObjects: kubernetes.render(candidateInput(prepared.input)).objects,
            stableObjects: current.objects,
            image,
            rollout: strategy,
            timeoutMs,
            intervalMs,
            tls: rendered.tls,
            ...(metricsKey === undefined ? {} : { metricsKey }),
            gatewayTls: prepared.input.spec.serve?.tls !== undefined,
            gpu,
            prune: flags.prune === true,
            onProgress: progress,
          },
          TIMING,
        );
        const summary = {
          name,
          namespace: kube.namespace,
          image,
          revision: result.revision,
          canary: result.state,
        };
        process.stdout.write(
          flags.json === true
            ? `${JSON.stringify(summary, null, 2)}\n`
            : `revision ${result.revision}: the canary passed every step and was promoted\n`,
        );
        return;
      }
      const result = await applyRevision(kube, {
        name,
        inventory,
        objects: rendered.objects,
        image,
        dryRun: flags.dryRun === 'server',
        prune: flags.prune === true,
        forceConflicts: flags.forceConflicts === true,
        onProgress: progress,
      });
      let rollout: string | undefined;
      if (flags.wait === true && flags.dryRun === undefined) {
        const verdict = await watchRollout(
          kube,
          {
            name,
            namespace: kube.namespace,
            image,
            timeoutMs,
            gpu,
            intervalMs,
            kind: kubernetes.workloadOf(rendered.objects).kind,
            onProgress: progress,
          },
          TIMING,
        );
        rollout = verdict.summary;
      }
      const summary = {
        name,
        namespace: kube.namespace,
        image,
        dryRun: flags.dryRun ?? false,
        revision: result.revision,
        applied: result.applied,
        pruned: result.pruned,
        ...(rollout === undefined ? {} : { rollout: 'complete' }),
        warnings: rendered.warnings,
      };
      if (flags.json === true) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
      else
        process.stdout.write(
          flags.dryRun === 'server'
            ? `the API server accepts all ${result.applied.length} objects (nothing was stored)\n`
            : `revision ${result.revision}: ${result.applied.length} objects applied, ${result.pruned.length} pruned${rollout === undefined ? '' : `; rollout complete (${rollout})`}\n`,
        );
    });
}

/** What a canary on a cluster needs that the spec may not have. */
function checkCanary(prepared: RenderedSpec, metricsKey: boolean): void {
  const { spec } = prepared.input;
  const invalid = (path: string, message: string) =>
    new BerthError('BERTH_ERR_SPEC_INVALID', `${path}: ${message}`);
  const gateway = spec.kubernetes?.gateway.enabled === true;
  if (spec.rollout?.analysis.agreement !== undefined && !gateway)
    throw invalid(
      'rollout.analysis.agreement',
      "prediction agreement is judged where one process sees both answers: put berth's gateway in front (kubernetes.gateway.enabled), which compares them, or remove agreement",
    );
  if (spec.rollout?.analysis.agreement !== undefined && spec.serve?.auth !== undefined && !metricsKey)
    throw invalid(
      'rollout.analysis.agreement',
      "the agreement is read from the gateway's /metrics, which serve.auth guards: give --metrics-key with a key that has the metrics role",
    );
  // berth's gateway weighs the tracks itself, copies shadow traffic, and holds the access control.
  if (gateway) return;
  if (spec.rollout?.strategy === 'shadow')
    throw invalid(
      'rollout.strategy',
      "shadow on Kubernetes needs berth's gateway to copy the traffic: set kubernetes.gateway.enabled",
    );
  const traffic = spec.kubernetes?.traffic ?? 'service';
  if (traffic === 'service')
    throw invalid(
      'kubernetes.traffic',
      "a canary on Kubernetes needs something to weigh two Deployments: kubernetes.gateway.enabled (berth's gateway), or traffic gateway-api or istio",
    );
  if (spec.serve?.auth !== undefined && !metricsKey)
    throw invalid(
      'serve.auth',
      "a canary's analysis reads the pods' /metrics through the API server: give --metrics-key with a key that has the metrics role, or put the access control on berth's gateway (kubernetes.gateway.enabled), whose pods behind it need none",
    );
}

/** The --metrics-key reference's value: `env:NAME` or `file:PATH` (never the key on the command line). */
async function readMetricsKey(text: string): Promise<string> {
  const { parseSecretRef, resolveSecret } = await import('../access/index.js');
  let ref: SecretRef;
  try {
    ref = parseSecretRef(text);
  } catch (error) {
    throw new BerthError('BERTH_ERR_CLI_INVALID_OPTION', `--metrics-key: ${(error as Error).message}`);
  }
  return (await resolveSecret(ref)).trim();
}

/** The candidate: the same spec under `<name>-canary`, at a fixed count, with no autoscaler or routes. */
function candidateInput(input: RenderInput): RenderInput {
  const { spec } = input;
  const min = Math.max(1, spec.replicas?.min ?? 1);
  return {
    ...input,
    name: `${input.name}-canary`,
    candidateOf: input.name,
    spec: {
      ...spec,
      ...(spec.replicas === undefined ? {} : { replicas: { ...spec.replicas, min, max: min } }),
      ...(spec.kubernetes === undefined
        ? {}
        : {
            kubernetes: {
              ...spec.kubernetes,
              autoscaler: 'none',
              traffic: 'service',
              serviceMonitor: false,
              mtls: false,
            },
          }),
    },
  };
}

export function rollbackCommand(): Command {
  return withCluster(
    new Command('rollback')
      .summary('return a Kubernetes deployment to the revision before')
      .description(
        [
          'Re-apply the objects of the revision before the current one (or --to-revision N), as the',
          'inventory ConfigMap (<name>-berth) recorded them, delete what that revision did not have, and',
          'record the result as a new revision. With --wait, watch the rollout.',
        ].join(' '),
      )
      .exitOverride()
      .showHelpAfterError('(run with --help for usage)')
      .option('-f, --file <berth.yaml>', "the spec, for the deployment's name and namespace")
      .option('--name <name>', "the deployment's name (default: the spec's name)")
      .option('--namespace <ns>', "the namespace (default: kubernetes.namespace, else the context's)")
      .option('--to-revision <n>', 'the revision to return to (default: the one before the current)')
      .option('--wait', 'watch the rollout until the pods are ready (exit status 2 if it fails)')
      .option('--timeout <duration>', 'with --wait: the longest wait', '5m')
      .option('--poll-interval <duration>', 'how often the rollout is looked at', '2s'),
  )
    .addHelpText(
      'after',
      helpSection({
        examples: ['berth rollback --wait', 'berth rollback --name fraud --namespace ml --to-revision 3'],
      }),
    )
    .action(async (flags: RollbackFlags) => {
      const timeoutMs = parseDuration('--timeout', flags.timeout);
      const intervalMs = pollInterval(flags.pollInterval);
      const { name, kube } = await deployedTarget(flags);
      const to =
        flags.toRevision === undefined
          ? undefined
          : parseInteger('--to-revision', flags.toRevision, 1, Number.MAX_SAFE_INTEGER);
      const { applyRevision, loadInventory, rollbackTarget, watchRollout, workloadOf } =
        await import('../kubernetes/index.js');
      const inventory = await loadInventory(kube, name);
      const target = rollbackTarget(inventory, to);
      progress(`rolling ${name} back to revision ${target.revision} (${target.image})`);
      const result = await applyRevision(kube, {
        name,
        inventory,
        objects: target.objects,
        image: target.image,
        prune: true,
        forceConflicts: true,
        onProgress: progress,
      });
      if (flags.wait === true) {
        const { kind, gpu } = workloadOf(target.objects);
        await watchRollout(
          kube,
          {
            name,
            namespace: kube.namespace,
            image: target.image,
            timeoutMs,
            gpu,
            kind,
            intervalMs,
            onProgress: progress,
          },
          TIMING,
        );
      }
      const summary = {
        name,
        namespace: kube.namespace,
        from: target.revision,
        revision: result.revision,
        image: target.image,
        pruned: result.pruned,
      };
      process.stdout.write(
        flags.json === true
          ? `${JSON.stringify(summary, null, 2)}\n`
          : `revision ${result.revision}: back to revision ${target.revision} (${target.image}), ${result.pruned.length} pruned\n`,
      );
    });
}

/** A deployment already on the cluster: its name (--name, or the spec's) and a client for its namespace. */
async function deployedTarget(
  flags: ClusterFlags & { file?: string; name?: string },
): Promise<{ name: string; kube: Kube }> {
  const { loadSpec } = await import('../spec/index.js');
  const loaded = await loadSpec(flags.file);
  const name = flags.name ?? loaded?.spec.name;
  if (name === undefined)
    throw new BerthError(
      'BERTH_ERR_CLI_INVALID_OPTION',
      '--name: which deployment? Give --name, or a berth.yaml with a name',
    );
  return { name, kube: await connect(flags, flags.namespace ?? loaded?.spec.kubernetes?.namespace) };
}

export interface KubeStatusFlags extends ClusterFlags {
  file?: string;
  name?: string;
}

/** `berth status --kube`: the Deployment, its pods and the inventory's revisions. */
export async function kubeStatus(flags: KubeStatusFlags): Promise<void> {
  const { name, kube } = await deployedTarget(flags);
  const { berthLabels, canaryRecord, loadInventory, workloadOf } = await import('../kubernetes/index.js');
  const { table } = await import('./table.js');
  const [pods, inventory, canary] = await Promise.all([
    kube.pods(kube.namespace, berthLabels(name).selector),
    loadInventory(kube, name),
    canaryRecord(kube, name),
  ]);
  // The recorded revision says whether the workload is a Deployment or a StatefulSet.
  const { kind } = workloadOf(inventory.revisions.at(-1)?.objects ?? []);
  const deployment = await kube.workload(kube.namespace, name, kind);
  const current = inventory.revisions[inventory.revisions.length - 1];
  const status = {
    name,
    namespace: kube.namespace,
    server: kube.server,
    deployment:
      deployment === undefined
        ? null
        : {
            replicas: deployment.spec?.replicas ?? 1,
            updated: deployment.status?.updatedReplicas ?? 0,
            available: deployment.status?.availableReplicas ?? 0,
            conditions: (deployment.status?.conditions ?? []).map((c) => ({
              type: c.type,
              status: c.status,
              reason: c.reason,
              message: c.message,
            })),
          },
    pods: pods.map((p) => {
      const c = p.status?.containerStatuses?.[0];
      return {
        name: p.metadata?.name ?? '',
        phase: p.status?.phase ?? 'Unknown',
        ready: c?.ready === true,
        restarts: c?.restartCount ?? 0,
        waiting: c?.state?.waiting?.reason,
      };
    }),
    revisions: inventory.revisions.map((r) => ({
      revision: r.revision,
      image: r.image,
      appliedAt: r.appliedAt,
    })),
    ...(canary === undefined ? {} : { canary }),
  };
  if (flags.json === true) {
    process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
    return;
  }
  const d = status.deployment;
  const head = table([
    ['deployment', `${kube.namespace}/${name} on ${kube.server}`],
    [
      'replicas',
      d === null
        ? `no ${kind} (not deployed, or deleted)`
        : `${d.available} available, ${d.updated} updated, of ${d.replicas}`,
    ],
    ...(d?.conditions ?? []).map((c) => [
      c.type.toLowerCase(),
      `${c.status} ${c.reason ?? ''}: ${c.message ?? ''}`.trim(),
    ]),
    [
      'revision',
      current === undefined
        ? 'none recorded'
        : `${current.revision}: ${current.image} (${current.appliedAt})`,
    ],
    ...(canary === undefined
      ? []
      : [
          [
            'canary',
            `${canary.image}: ${canary.phase}, step ${canary.step + 1} of ${canary.steps.length}, ${canary.weight} % of traffic (${canary.at})`,
          ],
          ['', canary.reason],
        ]),
  ]);
  const podRows = status.pods.map((p) => [
    p.name,
    p.phase,
    p.ready ? 'yes' : 'no',
    String(p.restarts),
    p.waiting ?? '',
  ]);
  const podTable =
    podRows.length === 0 ? '  no pod' : table([['POD', 'PHASE', 'READY', 'RESTARTS', 'WAITING'], ...podRows]);
  const history =
    status.revisions.length === 0
      ? ''
      : `\n\n${table([['REVISION', 'IMAGE', 'APPLIED'], ...status.revisions.map((r) => [String(r.revision), r.image, r.appliedAt])])}`;
  process.stdout.write(`${head}\n\n${podTable}${history}\n`);
}
