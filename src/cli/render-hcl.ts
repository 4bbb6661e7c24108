/**
 * `berth render nomad` and `berth render terraform`: berth.yaml as a Nomad job, and as the
 * hashicorp/kubernetes provider's resources (docs/nomad.md, docs/terraform.md). The image, name
 * and models are taken as `berth render k8s` takes them.
 */
import { Command } from 'commander';
import { helpSection } from './help-text.js';
import { renderFromSpec, withRenderOptions, type RenderFlags } from './render-k8s.js';
import { VERSION } from './version.js';

interface HclFlags extends RenderFlags {
  output: string;
  force?: boolean;
  json?: boolean;
}

function hclCommand(name: 'nomad' | 'terraform'): Command {
  return withRenderOptions(new Command(name))
    .option(
      '-o, --output <dir>',
      'folder to write into (created if missing)',
      name === 'nomad' ? '.' : 'terraform',
    )
    .option('--force', 'replace files that exist')
    .option('--json', 'print what was written as JSON, for scripts');
}

export function nomadCommand(): Command {
  return hclCommand('nomad')
    .summary('write a Nomad job from berth.yaml')
    .description(
      [
        'Write DIR/<name>.nomad.hcl: a service job with one group of replicas.min berth tasks (Docker or',
        'Podman driver; user 65532, read-only root filesystem, a /tmp tmpfs, no capabilities, no new',
        'privileges), the service and its HTTP and gRPC health checks, an update stanza that replaces one',
        'task at a time and reverts on its own (a canary for rollout.strategy canary), resources and GPU',
        "devices, the serve section's secrets from Nomad Variables, and Consul Connect when the nomad",
        'section asks.',
      ].join(' '),
    )
    .addHelpText(
      'after',
      helpSection({
        examples: [
          'berth render nomad -f berth.yaml --image-from build.json && nomad job run fraud.nomad.hcl',
          'nomad var put nomad/jobs/fraud api-keys.json=@berth-keys.json  # when the spec has secrets',
        ],
      }),
    )
    .action(async (models: string[], flags: HclFlags) => {
      const { name, image, input, rendered } = await renderFromSpec(models, flags);
      const { renderNomad } = await import('../kubernetes/index.js');
      const text = renderNomad(input);
      const { reportWritten, writeOutputFiles } = await import('./render-output.js');
      const written = await writeOutputFiles(flags, { [`${name}.nomad.hcl`]: text });
      const warnings = rendered.warnings.filter((w) => w.includes('pinned by digest'));
      reportWritten(flags, written, warnings, [`run: nomad job run ${written[0] ?? ''}`], { name, image });
    });
}

export function terraformCommand(): Command {
  return hclCommand('terraform')
    .option('--namespace <ns>', 'put every object in this namespace (default: kubernetes.namespace)')
    .summary('write Terraform (hashicorp/kubernetes) for the objects of render k8s')
    .description(
      [
        'Write DIR/main.tf: the objects `berth render k8s` makes, each a kubernetes_manifest resource of',
        'the hashicorp/kubernetes provider (server-side apply as field manager berth; the Deployment',
        'waits for its rollout), with variables for the kubeconfig and its context.',
      ].join(' '),
    )
    .addHelpText(
      'after',
      helpSection({
        examples: [
          'berth render terraform -f berth.yaml --image-from build.json && cd terraform && terraform init && terraform apply',
        ],
      }),
    )
    .action(async (models: string[], flags: HclFlags) => {
      const { name, image, rendered } = await renderFromSpec(models, flags);
      const { renderTerraform } = await import('../kubernetes/index.js');
      const { reportWritten, writeOutputFiles } = await import('./render-output.js');
      const written = await writeOutputFiles(flags, {
        'main.tf': renderTerraform(rendered.objects, VERSION),
      });
      reportWritten(
        flags,
        written,
        rendered.warnings,
        [`apply: cd ${flags.output} && terraform init && terraform apply`],
        {
          name,
          image,
          resources: rendered.objects.length,
        },
      );
    });
}
