/**
 * `berth render nomad` and `berth render terraform` through the real CLI, read back by HashiCorp's
 * own HCL parser (@cdktf/hcl2json) and checked field by field: the Nomad job's hardening, checks,
 * update stanza, resources, GPU devices, secrets and Connect; and Terraform's resources, each the
 * very object `berth render k8s` writes.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { parseHcl as parse } from '../helpers/hcl.js';
import { validateKubeObject } from '../helpers/kube-validate.js';
import { tempDirsForFile } from '../helpers/temp-dir.js';

const tempDir = tempDirsForFile('berth-render-hcl-');
const IMAGE = `registry.example/fraud@sha256:${'e'.repeat(64)}`;

/** HCL's JSON form: a literal `${` or `%{` is `$${` or `%%{`; an expression is `${...}`. */
function literal(value: unknown): unknown {
  if (typeof value === 'string') return value.replaceAll('$${', '${').replaceAll('%%{', '%{');
  if (Array.isArray(value)) return value.map(literal);
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, literal(v)]));
  return value;
}

function specIn(text: string): string {
  const dir = tempDir();
  writeFileSync(join(dir, 'berth.yaml'), text);
  return dir;
}

type Block = Record<string, unknown>;
const one = (blocks: unknown, label?: string): Block => {
  const list = (label === undefined ? blocks : (blocks as Record<string, unknown>)[label]) as Block[];
  expect(list).toHaveLength(1);
  return list[0] as Block;
};

describe('berth render nomad', () => {
  it("writes a hardened job whose every field HashiCorp's parser reads back", async () => {
    const dir = specIn(
      [
        'name: fraud',
        'replicas: { min: 2, max: 6 }',
        'rollout: { strategy: canary }',
        'serve: { auth: { apiKeys: keys.json }, limits: { redis: "redis://:pw@redis:6379" }, tls: { cert: t.crt, key: t.key } }',
        'kubernetes: { resources: { cpu: 2, memory: 4Gi, gpu: 1 }, drainTimeout: 20s }',
        'nomad: { datacenters: [eu-1, eu-2], namespace: ml, serviceProvider: consul, connect: true }',
        '',
      ].join('\n'),
    );
    const result = runCli([
      'render',
      'nomad',
      '-f',
      join(dir, 'berth.yaml'),
      '--image',
      IMAGE,
      '-o',
      dir,
      '--json',
    ]);
    expect(result.status).toBe(0);
    const text = readFileSync(join(dir, 'fraud.nomad.hcl'), 'utf8');
    expect(text).not.toContain(':pw@');
    const job = one(
      (literal(await parse('fraud.nomad.hcl', text)) as { job: Record<string, unknown> }).job,
      'fraud',
    );
    expect(job).toMatchObject({ type: 'service', datacenters: ['eu-1', 'eu-2'], namespace: 'ml' });
    expect(one(job['update'])).toEqual({
      max_parallel: 1,
      health_check: 'checks',
      min_healthy_time: '10s',
      healthy_deadline: '5m',
      progress_deadline: '10m',
      auto_revert: true,
      canary: 1,
      auto_promote: false,
    });
    const group = one(job['group'], 'fraud');
    expect(group['count']).toBe(2);
    expect(one(group['scaling'])).toEqual({ enabled: true, min: 2, max: 6 });
    expect(one(group['network'])['mode']).toBe('bridge');
    const [rest, grpc] = group['service'] as Block[];
    expect(rest).toMatchObject({ name: 'fraud', provider: 'consul', connect: [{ sidecar_service: [{}] }] });
    expect(one(rest?.['check'])).toMatchObject({
      type: 'http',
      protocol: 'https',
      path: '/v2/health/ready',
      expose: true,
    });
    expect(one(grpc?.['check'])).toMatchObject({ type: 'grpc', grpc_service: '', grpc_use_tls: true });
    const task = one(group['task'], 'berth');
    expect(task).toMatchObject({
      driver: 'docker',
      user: '65532:65532',
      kill_signal: 'SIGTERM',
      kill_timeout: '30s',
      shutdown_delay: '5s',
    });
    const config = one(task['config']);
    expect(config).toMatchObject({
      image: IMAGE,
      readonly_rootfs: true,
      cap_drop: ['ALL'],
      security_opt: ['no-new-privileges'],
      ports: ['http', 'grpc'],
    });
    expect(config['args']).toEqual(
      expect.arrayContaining(['serve', '-f', '/local/berth.yaml', '--drain-timeout', '20s']),
    );
    expect(one(config['mount'])).toMatchObject({ type: 'tmpfs', target: '/tmp', readonly: false });
    expect(one(task['resources'])).toEqual({
      cores: 2,
      memory: 4096,
      device: { 'nvidia/gpu': [{ count: 1 }] },
    });
    const templates = task['template'] as Block[];
    expect(templates.map((t) => t['destination'])).toEqual([
      'local/berth.yaml',
      'secrets/api-keys.json',
      'secrets/redis-url',
      'secrets/tls.crt',
      'secrets/tls.key',
    ]);
    const podSpec = parseAllDocuments(String(templates[0]?.['data']))[0]?.toJS() as {
      serve: Record<string, Record<string, string>>;
    };
    expect(podSpec.serve['auth']?.['apiKeys']).toBe('/secrets/api-keys.json');
    expect(podSpec.serve['limits']?.['redis']).toBe('file:/secrets/redis-url');
    expect(templates[1]).toMatchObject({
      data: '{{ with nomadVar "nomad/jobs/fraud" }}{{ index . "api-keys.json" }}{{ end }}',
      change_mode: 'noop',
      perms: '0440',
    });
  });

  it('uses the Podman driver when asked, and refuses what a job cannot do', async () => {
    const dir = specIn('name: fraud\nnomad: { driver: podman }\nkubernetes: { resources: { cpu: 500m } }\n');
    expect(
      runCli(['render', 'nomad', '-f', join(dir, 'berth.yaml'), '--image', IMAGE, '-o', dir]).status,
    ).toBe(0);
    const job = one(
      (
        (await parse('j', readFileSync(join(dir, 'fraud.nomad.hcl'), 'utf8'))) as {
          job: Record<string, unknown>;
        }
      ).job,
      'fraud',
    );
    const task = one(one(job['group'], 'fraud')['task'], 'berth');
    expect(one(task['config'])['tmpfs']).toEqual(['/tmp']);
    expect(one(task['resources'])).toEqual({ cpu: 500, memory: 1024 });
    const volume = specIn('name: fraud\nkubernetes: { models: { source: volume } }\n');
    const refused = runCli([
      'render',
      'nomad',
      '-f',
      join(volume, 'berth.yaml'),
      '--image',
      IMAGE,
      '-o',
      volume,
    ]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toMatch(
      /kubernetes\.models\.source: render nomad takes the models from the image/,
    );
    const connect = specIn('name: fraud\nnomad: { connect: true }\n');
    expect(runCli(['render', 'nomad', '-f', join(connect, 'berth.yaml'), '--image', IMAGE]).stderr).toMatch(
      /nomad\.connect: connect needs serviceProvider consul/,
    );
  });
});

describe('berth render terraform', () => {
  for (const [name, spec] of [
    ['defaults', 'name: fraud\nreplicas: { min: 1, max: 3 }\n'],
    [
      'a namespace, Istio and External Secrets',
      'name: fraud\nserve: { auth: { apiKeys: k.json } }\nkubernetes: { namespace: ml, traffic: istio, mtls: true, secrets: { provider: external-secrets, store: { name: aws }, remoteKey: prod/fraud } }\n',
    ],
  ] as const) {
    it(`${name}: one kubernetes_manifest per object of render k8s, the same object`, async () => {
      const dir = specIn(spec);
      const file = join(dir, 'berth.yaml');
      expect(
        runCli(['render', 'terraform', '-f', file, '--image', IMAGE, '-o', join(dir, 'tf')]).status,
      ).toBe(0);
      expect(runCli(['render', 'k8s', '-f', file, '--image', IMAGE, '-o', join(dir, 'k8s')]).status).toBe(0);
      const built = spawnSync('kubectl', ['kustomize', join(dir, 'k8s')], { encoding: 'utf8' });
      const k8s = parseAllDocuments(built.stdout).map(
        (d) => d.toJS() as { kind: string; metadata: { name: string; namespace?: string } },
      );
      const tf = literal(await parse('main.tf', readFileSync(join(dir, 'tf', 'main.tf'), 'utf8'))) as {
        terraform: [{ required_providers: [{ kubernetes: { source: string } }] }];
        provider: { kubernetes: [{ config_path: string }] };
        resource: {
          kubernetes_manifest: Record<
            string,
            [
              {
                manifest: { kind: string; metadata: { name: string; namespace?: string } };
                field_manager: [{ name: string }];
                wait?: unknown;
                depends_on?: string[];
              },
            ]
          >;
        };
      };
      expect(tf.terraform[0].required_providers[0].kubernetes.source).toBe('hashicorp/kubernetes');
      expect(tf.provider.kubernetes[0].config_path).toBe('${var.kubeconfig}');
      const resources = Object.values(tf.resource.kubernetes_manifest).map((r) => r[0]);
      expect(resources).toHaveLength(k8s.length);
      const namespaced = spec.includes('namespace: ml');
      for (const resource of resources) {
        expect(resource.field_manager[0].name).toBe('berth');
        const manifest = resource.manifest;
        const object = k8s.find(
          (o) => o.kind === manifest.kind && o.metadata.name === manifest.metadata.name,
        );
        expect(object, `${manifest.kind} ${manifest.metadata.name}`).toBeDefined();
        if (!namespaced && manifest.kind !== 'Namespace') {
          expect(manifest.metadata.namespace).toBe('${var.namespace}');
          const metadata: { name: string; namespace?: string } = { ...manifest.metadata };
          delete metadata.namespace;
          expect({ ...manifest, metadata }).toEqual(object);
        } else {
          expect(manifest).toEqual(object);
        }
        validateKubeObject(object as object);
        if (manifest.kind === 'Deployment') expect(resource.wait).toEqual([{ rollout: true }]);
        if (namespaced && manifest.kind !== 'Namespace')
          expect(resource.depends_on).toEqual(['${kubernetes_manifest.namespace_ml}']);
      }
    });
  }
});
