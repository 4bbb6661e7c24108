/**
 * `berth deploy` and `berth rollback` through the real CLI against the stand-in API server
 * (test/helpers/kube-standin), over HTTPS with the kubeconfig's CA and token: objects applied with
 * server-side apply as field manager berth, the inventory and its revisions, pruning, rollback,
 * the rollout watch's plain-words failures (image pull, crash loop with its log, no GPU node, a
 * failing readiness probe), conflicts with another field manager, a cluster without an API, bad
 * credentials, an unreachable server, and both dry runs.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCa, makeCert, pem } from '../helpers/certs.js';
import { BERTH_BIN, runCli, type CliResult } from '../helpers/cli.js';
import { METRICS_KEY, startStandin, type Standin } from '../helpers/kube-standin/server.js';
import { tempDirsForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirsForFile('berth-deploy-');
const TOKEN = 'standin-token-7f3a';
const digest = (c: string) => `sha256:${c.repeat(64)}`;
const image = (repo: string, c = 'a') => `registry.example/${repo}@${digest(c)}`;

let dir: string;
let standin: Standin;
let kubeconfig: string;

function writeKubeconfig(path: string, server: string, token: string): void {
  writeFileSync(
    path,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: standin`,
      `  cluster: { server: "${server}", certificate-authority: "${join(dir, 'ca.crt')}" }`,
      'users:',
      `- name: berth`,
      `  user: { token: "${token}" }`,
      'contexts:',
      '- name: standin',
      '  context: { cluster: standin, user: berth, namespace: default }',
      'current-context: standin',
      '',
    ].join('\n'),
  );
}

/** berth ARGS with the stand-in's kubeconfig, asynchronously (the stand-in runs in this process). */
function berth(args: readonly string[], env: Record<string, string> = {}): Promise<CliResult> {
  // The stand-in's pods are ready in 300 ms: look often (the default is every 2 s).
  const poll = args[0] === 'deploy' || args[0] === 'rollback' ? ['--poll-interval', '250ms'] : [];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BERTH_BIN, ...args, ...poll], {
      env: { ...process.env, KUBECONFIG: kubeconfig, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

function spec(name: string, text: string): string {
  const path = join(dir, `${name}.yaml`);
  writeFileSync(path, `name: ${name}\n${text}`);
  return path;
}

beforeAll(async () => {
  dir = tempDir();
  const ca = makeCa(dir);
  const server = makeCert(dir, ca, 'server', 'server');
  standin = await startStandin({
    cert: pem(server.cert),
    key: pem(server.key),
    token: TOKEN,
    installed: ['prometheus-operator', 'gateway-api'],
    progressDeadlineMs: 1500,
    crashLog: 'berth: /models/fraud/1/model.onnx: cannot read (ENOENT) (BERTH_ERR_REPOSITORY_NOT_FOUND)\n',
  });
  kubeconfig = join(dir, 'kubeconfig');
  writeKubeconfig(kubeconfig, standin.url, TOKEN);
});

afterAll(async () => {
  await standin.close();
});

describe('berth deploy', () => {
  it('applies every object as field manager berth, records revisions, prunes, watches, and rolls back', async () => {
    const file = spec(
      'fraud',
      'replicas: { min: 2, max: 4 }\nkubernetes: { namespace: ml, serviceMonitor: true }\n',
    );
    const first = await berth(['deploy', '-f', file, '--image', image('fraud'), '--wait', '--json']);
    expect(first.stderr).toMatch(/applied Namespace ml/);
    expect(first.stderr).toMatch(/rollout: 2 of 1 updated|rollout: .*available/);
    expect(first.status).toBe(0);
    const summary = JSON.parse(first.stdout) as {
      revision: number;
      applied: { kind: string }[];
      rollout: string;
    };
    expect(summary).toMatchObject({ revision: 1, rollout: 'complete' });
    expect(summary.applied.map((r) => r.kind)).toContain('HorizontalPodAutoscaler');
    const deployment = standin.get('apps/v1', 'Deployment', 'ml', 'fraud');
    expect(
      (deployment?.metadata['managedFields'] as { manager: string; operation: string }[])[0],
    ).toMatchObject({
      manager: 'berth',
      operation: 'Apply',
    });
    const inventory = standin.get('v1', 'ConfigMap', 'ml', 'fraud-berth');
    expect((inventory?.metadata['annotations'] as Record<string, string>)['berth.dev/revision']).toBe('1');

    // The autoscaler goes: without --prune its HPA stays, with --prune it is deleted.
    const fixed = spec(
      'fraud',
      'replicas: { min: 2 }\nkubernetes: { namespace: ml, serviceMonitor: true }\n',
    );
    const second = await berth(['deploy', '-f', fixed, '--image', image('fraud', 'b'), '--prune', '--wait']);
    expect(second.status).toBe(0);
    expect(second.stderr).toMatch(/pruned HorizontalPodAutoscaler ml\/fraud/);
    expect(second.stdout).toMatch(/revision 2: \d+ objects applied, 1 pruned; rollout complete/);
    expect(standin.get('autoscaling/v2', 'HorizontalPodAutoscaler', 'ml', 'fraud')).toBeUndefined();
    const container = () =>
      (
        standin.get('apps/v1', 'Deployment', 'ml', 'fraud')?.['spec'] as {
          template: { spec: { containers: { image: string }[] } };
        }
      ).template.spec.containers[0]?.image;
    expect(container()).toBe(image('fraud', 'b'));

    const back = await berth(['rollback', '-f', fixed, '--wait']);
    expect(back.stderr).toMatch(/rolling fraud back to revision 1/);
    expect(back.status).toBe(0);
    expect(back.stdout).toMatch(/revision 3: back to revision 1/);
    expect(container()).toBe(image('fraud'));
    expect(standin.get('autoscaling/v2', 'HorizontalPodAutoscaler', 'ml', 'fraud')).toBeDefined();
    const status = await berth(['status', '--kube', '-f', fixed, '--json']);
    expect(status.status).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({
      name: 'fraud',
      namespace: 'ml',
      // Revision 1 leaves replicas to its HPA, and the stand-in runs no HPA controller: the API's default, 1.
      deployment: { replicas: 1, updated: 1, available: 1 },
      pods: [{ phase: 'Running', ready: true, restarts: 0 }],
      revisions: [{ revision: 1 }, { revision: 2 }, { revision: 3, image: image('fraud') }],
    });
    const text = await berth(['status', '--kube', '-f', fixed]);
    expect(text.stdout).toMatch(
      /deployment\s+ml\/fraud on https:\/\/localhost:\d+\n\s+replicas\s+1 available, 1 updated, of 1/,
    );
    expect(text.stdout).toMatch(/POD\s+PHASE\s+READY\s+RESTARTS/);
    const none = await berth(['rollback', '--name', 'nothing-here']);
    expect(none.status).toBe(2);
    expect(none.stderr).toMatch(
      /no revision before the first deploy in the inventory \(BERTH_ERR_KUBE_NO_REVISION\)/,
    );
  });

  it('says why a rollout fails: an image that cannot be pulled', async () => {
    const result = await berth([
      'deploy',
      '--name',
      'pull',
      '--image',
      image('pull-fails'),
      '--wait',
      '--timeout',
      '30s',
    ]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/the rollout of Deployment default\/pull failed/);
    expect(result.stderr).toMatch(
      /the rollout made no progress within the deadline: ReplicaSet "pull-[0-9a-f]+" has timed out progressing/,
    );
    expect(result.stderr).toMatch(
      /the image cannot be pulled: Failed to pull image "registry\.example\/pull-fails@sha256:a+": rpc error: code = NotFound/,
    );
    expect(result.stderr).toMatch(/BERTH_ERR_KUBE_ROLLOUT_FAILED/);
  });

  it('says why a rollout fails: a crash loop, with the last log lines', async () => {
    const result = await berth(['deploy', '--name', 'crash', '--image', image('crashes'), '--wait']);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(
      /crash loop: container berth exited 2 \(Error\), 4 restarts; last log lines:\nberth: \/models\/fraud\/1\/model\.onnx: cannot read \(ENOENT\)/,
    );
  });

  it('rolls out a StatefulSet (models pulled into a claim per pod), and says why one fails', async () => {
    const models = `registry.example/fraud-models@${digest('e')}`;
    const file = spec(
      'cached',
      `replicas: { min: 2, max: 2 }\nkubernetes: { models: { source: oci, image: "${models}", cache: true } }\n`,
    );
    const first = await berth(['deploy', '-f', file, '--image', image('cached'), '--wait']);
    expect(first.status).toBe(0);
    expect(first.stderr).toMatch(/applied StatefulSet default\/cached/);
    expect(first.stdout).toMatch(/rollout complete \(2 of 2 updated, 2 available\)/);
    expect(standin.get('apps/v1', 'StatefulSet', 'default', 'cached')).toBeDefined();
    expect(standin.get('apps/v1', 'Deployment', 'default', 'cached')).toBeUndefined();
    expect(standin.get('v1', 'Pod', 'default', 'cached-1')).toBeDefined();
    expect(standin.get('v1', 'PersistentVolumeClaim', 'default', 'models-cached-1')).toBeDefined();
    // A new image replaces the pods; their claims (the models already pulled) stay.
    const second = await berth(['deploy', '-f', file, '--image', image('cached', 'c'), '--wait']);
    expect(second.status).toBe(0);
    const pod = standin.get('v1', 'Pod', 'default', 'cached-0') as unknown as {
      spec: { containers: { image: string }[] };
    };
    expect(pod.spec.containers[0]?.image).toBe(image('cached', 'c'));
    const failed = await berth(['deploy', '-f', file, '--image', image('cached-crashes'), '--wait']);
    expect(failed.status).toBe(2);
    expect(failed.stderr).toMatch(/crash loop: container berth exited 2 \(Error\), 4 restarts/);
  });

  it('says why a rollout fails: no GPU node, and a failing readiness probe', async () => {
    const gpu = spec('resnet', 'kubernetes: { resources: { gpu: 1 } }\n');
    const unschedulable = await berth(['deploy', '-f', gpu, '--image', image('resnet'), '--wait']);
    expect(unschedulable.status).toBe(2);
    expect(unschedulable.stderr).toMatch(
      /no node can run the pods: 0\/3 nodes are available: 3 Insufficient nvidia\.com\/gpu\..*No GPU node matches/,
    );
    const probe = await berth(['deploy', '--name', 'sick', '--image', image('unready'), '--wait']);
    expect(probe.status).toBe(2);
    expect(probe.stderr).toMatch(/Readiness probe failed: HTTP probe failed with statuscode: 503/);
  });

  it('refuses to take a field another manager set, unless told to', async () => {
    const file = spec('scaled', 'replicas: { min: 2 }\n');
    expect((await berth(['deploy', '-f', file, '--image', image('scaled')])).status).toBe(0);
    standin.edit('apps/v1', 'Deployment', 'default', 'scaled', ['spec', 'replicas'], 5, 'kubectl-scale');
    const conflict = await berth(['deploy', '-f', file, '--image', image('scaled')]);
    expect(conflict.status).toBe(2);
    expect(conflict.stderr).toMatch(
      /apply Deployment default\/scaled: Apply failed with 1 conflict: conflict with "kubectl-scale" using apps\/v1: \.spec\.replicas; pass --force-conflicts/,
    );
    const forced = await berth(['deploy', '-f', file, '--image', image('scaled'), '--force-conflicts']);
    expect(forced.status).toBe(0);
    expect(
      (standin.get('apps/v1', 'Deployment', 'default', 'scaled')?.['spec'] as { replicas: number }).replicas,
    ).toBe(2);
  });

  it('names an API the cluster does not serve', async () => {
    const file = spec('keda', 'replicas: { min: 1, max: 3 }\nkubernetes: { autoscaler: keda }\n');
    const result = await berth(['deploy', '-f', file, '--image', image('keda')]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(
      /the cluster at https:\/\/localhost:\d+ does not serve keda\.sh\/v1alpha1\/ScaledObject: install what provides it .*nothing was applied \(BERTH_ERR_KUBE_MISSING_API\)/,
    );
    expect(result.stderr).not.toMatch(/^applied /m);
    expect(standin.get('apps/v1', 'Deployment', 'default', 'keda')).toBeUndefined();
  });

  it('checks with the API server or prints the objects, storing nothing', async () => {
    const server = await berth(['deploy', '--name', 'dry', '--image', image('dry'), '--dry-run', 'server']);
    expect(server.status).toBe(0);
    expect(server.stdout).toMatch(/the API server accepts all \d+ objects \(nothing was stored\)/);
    expect(standin.requests.some((r) => r.startsWith('PATCH') && r.includes('dryRun=All'))).toBe(true);
    expect(standin.get('apps/v1', 'Deployment', 'default', 'dry')).toBeUndefined();
    const client = runCli(['deploy', '--name', 'dry', '--image', image('dry'), '--dry-run', 'client'], {
      env: { KUBECONFIG: join(dir, 'missing') },
    });
    expect(client.status).toBe(0);
    expect(client.stdout).toMatch(/^---\napiVersion: v1\nkind: ServiceAccount/);
    expect(runCli(['deploy', '--image', image('dry'), '--name', 'dry', '--dry-run', 'maybe']).stderr).toMatch(
      /--dry-run: expected client or server, got "maybe"/,
    );
  });

  it('reports bad credentials, an unknown context and an unreachable server', async () => {
    const wrong = join(dir, 'wrong-token');
    writeKubeconfig(wrong, standin.url, 'not-the-token');
    const refused = await berth(['deploy', '--name', 'x', '--image', image('x'), '--kubeconfig', wrong]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/the API server refused \(401\).*BERTH_ERR_KUBE_FORBIDDEN/s);
    expect(refused.stderr).not.toContain('not-the-token');
    const context = await berth(['deploy', '--name', 'x', '--image', image('x'), '--context', 'prod']);
    expect(context.stderr).toMatch(/--context: no context "prod" in the kubeconfig \(it has: standin\)/);
    const gone = join(dir, 'gone');
    writeKubeconfig(gone, 'https://127.0.0.1:9', TOKEN);
    const unreachable = await berth(['deploy', '--name', 'x', '--image', image('x'), '--kubeconfig', gone]);
    expect(unreachable.status).toBe(2);
    expect(unreachable.stderr).toMatch(
      /the API server at https:\/\/127\.0\.0\.1:9 did not answer.*BERTH_ERR_KUBE_UNREACHABLE/s,
    );
    const missing = await berth([
      'deploy',
      '--name',
      'x',
      '--image',
      image('x'),
      '--kubeconfig',
      join(dir, 'nope'),
    ]);
    expect(missing.stderr).toMatch(/BERTH_ERR_KUBE_CONFIG/);
  });
});

describe('berth deploy, a canary', () => {
  const CANARY = [
    'rollout: { strategy: canary, steps: [50, 100], interval: 300ms, failAfter: 2, analysis: { minRequests: 10 } }',
    'kubernetes: { traffic: gateway-api, gatewayApi: { gateway: public } }',
    '',
  ].join('\n');
  const routeBackends = () =>
    (
      standin.applied.filter((o) => o.kind === 'HTTPRoute' && o.metadata.name === 'scorer') as unknown as {
        spec: { rules: { backendRefs: { name: string; weight?: number }[] }[] };
      }[]
    ).map((r) =>
      r.spec.rules
        .map((rule) => rule.backendRefs.map((b) => `${b.name}:${b.weight ?? '-'}`).join(' '))
        .join(' | '),
    );
  const stableImage = () =>
    (
      standin.get('apps/v1', 'Deployment', 'default', 'scorer')?.['spec'] as {
        template: { spec: { containers: { image: string }[] } };
      }
    ).template.spec.containers[0]?.image;

  it('moves traffic through the steps on the analysis of both tracks, and promotes', async () => {
    const file = spec('scorer', CANARY);
    expect((await berth(['deploy', '-f', file, '--image', image('scorer'), '--wait'])).status).toBe(0);
    const result = await berth(['deploy', '-f', file, '--image', image('scorer', 'c'), '--timeout', '60s']);
    expect(result.stderr).toMatch(/candidate scorer-canary applied/);
    expect(result.stderr).toMatch(/canary: 50 % of traffic to scorer-canary/);
    expect(result.stderr).toMatch(
      /canary: \d+ requests, 0 errors, p99 5\.0 ms \(stable \d+, 0\): passed step 1: now 100 %/,
    );
    expect(result.stderr).toMatch(/promoted: every step passed/);
    expect(result.stderr).toMatch(/removed the candidate scorer-canary/);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/revision 2: the canary passed every step and was promoted/);
    const status = JSON.parse((await berth(['status', '--kube', '--name', 'scorer', '--json'])).stdout) as {
      canary: unknown;
    };
    expect(status.canary).toMatchObject({
      phase: 'promoted',
      weight: 100,
      reason: 'promoted: every step passed',
    });
    expect(stableImage()).toBe(image('scorer', 'c'));
    expect(standin.get('apps/v1', 'Deployment', 'default', 'scorer-canary')).toBeUndefined();
    expect(standin.get('v1', 'Service', 'default', 'scorer-canary')).toBeUndefined();
    // The header rule, then the weights, step by step; then the route as rendered again.
    expect(routeBackends()).toEqual([
      'scorer:-',
      'scorer-canary:- | scorer:50 scorer-canary:50',
      'scorer-canary:- | scorer:0 scorer-canary:100',
      'scorer:-',
    ]);
  });

  it('rolls back on its own when the candidate fails its checks, and says why', async () => {
    const file = spec('scorer', CANARY);
    const result = await berth(['deploy', '-f', file, '--image', image('scorer-errors'), '--timeout', '60s']);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/check failed \(1 of 2\): error rate 20\.0 % above 1\.0 %; stable 0\.00 %/);
    expect(result.stderr).toMatch(/canary: all traffic back to the stable pods/);
    expect(result.stderr).toMatch(
      /the canary of default\/scorer was rolled back after 2 failed check\(s\): error rate 20\.0 % above 1\.0 %; stable 0\.00 % \(BERTH_ERR_KUBE_ROLLOUT_FAILED\)/,
    );
    expect(stableImage()).toBe(image('scorer', 'c'));
    expect(standin.get('apps/v1', 'Deployment', 'default', 'scorer-canary')).toBeUndefined();
    expect(routeBackends().at(-1)).toBe('scorer:-');
    const status = JSON.parse((await berth(['status', '--kube', '--name', 'scorer', '--json'])).stdout) as {
      revisions: unknown[];
      canary: unknown;
    };
    expect(status.revisions).toHaveLength(2);
    expect(status.canary).toMatchObject({
      image: image('scorer-errors'),
      phase: 'rolled-back',
      step: 0,
      steps: [50, 100],
      weight: 0,
      reason: expect.stringMatching(/^rolled back after 2 failed check\(s\): error rate 20\.0 %/),
    });
    const text = await berth(['status', '--kube', '--name', 'scorer']);
    expect(text.stdout).toMatch(
      /canary\s+registry\.example\/scorer-errors@sha256:a+: rolled-back, step 1 of 2, 0 % of traffic/,
    );
  });

  it("says where to look when the API server cannot read the candidate's /metrics, and rolls back at the deadline", async () => {
    const file = spec('scorer', CANARY);
    const result = await berth([
      'deploy',
      '-f',
      file,
      '--image',
      image('scorer-nometrics'),
      '--timeout',
      '4s',
    ]);
    expect(result.stderr).toMatch(
      /canary: the API server could not read \/metrics from any pod of scorer-canary; with the NetworkPolicy, list the control plane's addresses in kubernetes\.network\.apiServer/,
    );
    expect(result.stderr).toMatch(/no verdict within 4 s/);
    expect(result.status).toBe(2);
    expect(standin.get('apps/v1', 'Deployment', 'default', 'scorer-canary')).toBeUndefined();
  });

  it('reads the /metrics of pods with access control with --metrics-key, a reference to a key', async () => {
    const file = spec(
      'keyed',
      [
        'serve: { auth: { apiKeys: keys.json } }',
        'rollout: { strategy: canary, steps: [100], interval: 300ms, failAfter: 2, analysis: { minRequests: 10 } }',
        'kubernetes: { traffic: gateway-api, gatewayApi: { gateway: public } }',
        '',
      ].join('\n'),
    );
    expect((await berth(['deploy', '-f', file, '--image', image('keyed')])).status).toBe(0);
    const refused = await berth(['deploy', '-f', file, '--image', image('keyed', 'c')]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(/serve\.auth: .*give --metrics-key with a key that has the metrics role/);
    const result = await berth(
      [
        'deploy',
        '-f',
        file,
        '--image',
        image('keyed', 'c'),
        '--metrics-key',
        'env:KEYED_METRICS_KEY',
        '--timeout',
        '60s',
      ],
      { KEYED_METRICS_KEY: `${METRICS_KEY}\n` },
    );
    expect(result.stderr).toMatch(/canary: \d+ requests, 0 errors/);
    expect(result.status).toBe(0);
    expect(result.stderr + result.stdout).not.toContain(METRICS_KEY);
    const unset = await berth([
      'deploy',
      '-f',
      file,
      '--image',
      image('keyed', 'd'),
      '--metrics-key',
      'env:NOT_SET_HERE',
    ]);
    expect(unset.status).toBe(2);
    expect(unset.stderr).toMatch(/env:NOT_SET_HERE: the environment variable is not set/);
  });

  it("refuses prediction agreement without berth's gateway, which alone sees both answers, rather than ignore it", async () => {
    const file = spec(
      'agreeing',
      [
        'rollout: { strategy: canary, analysis: { agreement: 0.99 } }',
        'kubernetes: { traffic: gateway-api, gatewayApi: { gateway: public } }',
        '',
      ].join('\n'),
    );
    expect((await berth(['deploy', '-f', file, '--image', image('agreeing')])).status).toBe(0);
    const result = await berth(['deploy', '-f', file, '--image', image('agreeing', 'd')]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(
      /rollout\.analysis\.agreement: prediction agreement is judged where one process sees both answers/,
    );
    expect(standin.get('apps/v1', 'Deployment', 'default', 'agreeing-canary')).toBeUndefined();
  });

  it('needs something to weigh the tracks, and refuses a plain Service', async () => {
    const file = spec('plain', 'rollout: { strategy: canary }\n');
    expect((await berth(['deploy', '-f', file, '--image', image('plain')])).status).toBe(0);
    const result = await berth(['deploy', '-f', file, '--image', image('plain', 'd')]);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(
      /kubernetes\.traffic: a canary on Kubernetes needs something to weigh two Deployments: kubernetes\.gateway\.enabled/,
    );
  });

  it("weighs a canary in berth's gateway, with access control on, through its traffic ConfigMap", async () => {
    const file = spec(
      'guarded',
      [
        'serve: { auth: { apiKeys: keys.json } }',
        'rollout: { strategy: canary, steps: [25, 100], interval: 300ms, failAfter: 2, analysis: { minRequests: 10 } }',
        'kubernetes: { gateway: { enabled: true, replicas: 1 } }',
        '',
      ].join('\n'),
    );
    expect((await berth(['deploy', '-f', file, '--image', image('guarded'), '--wait'])).status).toBe(0);
    expect(standin.get('apps/v1', 'Deployment', 'default', 'guarded-gateway')).toBeDefined();
    const result = await berth(['deploy', '-f', file, '--image', image('guarded', 'c'), '--timeout', '60s']);
    expect(result.stderr).toMatch(/canary: 25 % of traffic to guarded-canary, weighed by the gateway/);
    expect(result.stderr).toMatch(/promoted: every step passed/);
    expect(result.status).toBe(0);
    // The traffic file as each apply left it: none, the steps, none again with the promotion.
    const traffic = standin.applied
      .filter((o) => o.kind === 'ConfigMap' && o.metadata.name === 'guarded-traffic')
      .map((o) => (o['data'] as Record<string, string>)['traffic.json']?.trim());
    expect(traffic).toEqual([
      '{}',
      '{"candidate":true,"weight":25,"mirror":0,"step":0}',
      '{"candidate":true,"weight":100,"mirror":0,"step":1}',
      '{}',
    ]);
    // The traffic ConfigMap is berth's alone, labels kept: a plain deploy later meets no conflict.
    const map = standin.get('v1', 'ConfigMap', 'default', 'guarded-traffic') as unknown as {
      metadata: { labels: Record<string, string>; managedFields: { manager: string }[] };
    };
    expect(map.metadata.labels['app.kubernetes.io/component']).toBe('gateway');
    expect(map.metadata.managedFields.map((f) => f.manager)).toEqual(['berth']);
    // The candidate was only servers, behind its headless Service, and is gone.
    expect(standin.applied.some((o) => o.metadata.name === 'guarded-canary-pods')).toBe(true);
    expect(standin.applied.some((o) => o.metadata.name === 'guarded-canary-gateway')).toBe(false);
    expect(standin.get('v1', 'Service', 'default', 'guarded-canary-pods')).toBeUndefined();
  });

  it("judges prediction agreement on what berth's gateway compared, and rolls back a candidate that disagrees", async () => {
    const file = spec(
      'agreed',
      [
        'rollout: { strategy: shadow, steps: [100], interval: 300ms, failAfter: 1, analysis: { minRequests: 10, agreement: 0.9 } }',
        'kubernetes: { gateway: { enabled: true, replicas: 1 } }',
        '',
      ].join('\n'),
    );
    expect((await berth(['deploy', '-f', file, '--image', image('agreed'), '--wait'])).status).toBe(0);
    const agreeing = await berth(['deploy', '-f', file, '--image', image('agreed', 'c'), '--timeout', '60s']);
    expect(agreeing.stderr).toMatch(/, 20 of 20 answers agree \(stable \d+, 0\): promoted/);
    expect(agreeing.status).toBe(0);
    const traffic = standin.applied
      .filter((o) => o.kind === 'ConfigMap' && o.metadata.name === 'agreed-traffic')
      .map((o) => (o['data'] as Record<string, string>)['traffic.json']?.trim());
    expect(traffic).toContain('{"candidate":true,"weight":0,"mirror":100,"step":0,"compare":true}');
    const disagreeing = await berth([
      'deploy',
      '-f',
      file,
      '--image',
      image('agreed-disagrees'),
      '--timeout',
      '60s',
    ]);
    expect(disagreeing.stderr).toMatch(/15 of 20 answers agree .*agreement 75\.0 % below 90\.0 %/);
    expect(disagreeing.status).toBe(2);
  });

  it("copies traffic to a shadow in berth's gateway, and rolls it back on errors", async () => {
    const file = spec(
      'mirrored',
      [
        'rollout: { strategy: shadow, steps: [100], interval: 300ms, failAfter: 1, analysis: { minRequests: 10 } }',
        'kubernetes: { gateway: { enabled: true, replicas: 1 } }',
        '',
      ].join('\n'),
    );
    expect((await berth(['deploy', '-f', file, '--image', image('mirrored')])).status).toBe(0);
    const result = await berth([
      'deploy',
      '-f',
      file,
      '--image',
      image('mirrored-errors'),
      '--timeout',
      '60s',
    ]);
    expect(result.stderr).toMatch(/shadow: 100 % of traffic copied to mirrored-canary by the gateway/);
    expect(result.status).toBe(2);
    const traffic = standin.applied
      .filter((o) => o.kind === 'ConfigMap' && o.metadata.name === 'mirrored-traffic')
      .map((o) => (o['data'] as Record<string, string>)['traffic.json']?.trim());
    expect(traffic.slice(1)).toEqual(['{"candidate":true,"weight":0,"mirror":100,"step":0}', '{}']);
  });
});
