/**
 * `berth render terraform`: the same objects as `berth render k8s`, as resources of the
 * hashicorp/kubernetes provider. Each object is a `kubernetes_manifest` (server-side apply, field
 * manager berth, as `berth deploy` applies it), so the HCL carries exactly the rendered object,
 * CRDs included; the Deployment waits for its rollout; objects wait for their Namespace, or take
 * `var.namespace` when the spec names none. Pure.
 */
import { attr, block, HclExpression, writeHcl, type HclItem, type HclValue } from './hcl.js';
import type { KubeObject } from './objects.js';

/** The provider version with `kubernetes_manifest`'s field_manager and wait.rollout. */
export const PROVIDER_VERSION = '>= 2.31.0';

/** A Terraform name for an object: kind and name, in letters, digits and _. */
export function resourceName(object: KubeObject): string {
  return `${object.kind}_${object.metadata?.name ?? ''}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
}

/**
 * The Terraform configuration of `objects`.
 *
 * @example
 * renderTerraform(render(input).objects, '0.1.0');
 */
export function renderTerraform(objects: readonly KubeObject[], berthVersion: string): string {
  const namespace = objects.find((o) => o.kind === 'Namespace');
  const items: HclItem[] = [
    block(
      'terraform',
      [],
      [
        ...attr('required_version', '>= 1.5.0'),
        block(
          'required_providers',
          [],
          attr('kubernetes', { source: 'hashicorp/kubernetes', version: PROVIDER_VERSION }),
        ),
      ],
    ),
    block(
      'variable',
      ['kubeconfig'],
      [
        ...attr('type', new HclExpression('string')),
        ...attr('default', '~/.kube/config'),
        ...attr('description', 'The kubeconfig the provider uses.'),
      ],
    ),
    block(
      'variable',
      ['kube_context'],
      [
        ...attr('type', new HclExpression('string')),
        ...attr('default', null),
        ...attr('description', "The kubeconfig's context; null for its current one."),
      ],
    ),
    block(
      'provider',
      ['kubernetes'],
      [
        ...attr('config_path', new HclExpression('var.kubeconfig')),
        ...attr('config_context', new HclExpression('var.kube_context')),
      ],
    ),
  ];
  for (const object of objects) {
    const waitsForNamespace = namespace !== undefined && object !== namespace;
    // kubernetes_manifest needs the namespace of a namespaced object in the manifest itself.
    const manifest =
      object.kind === 'Namespace' || object.metadata?.namespace !== undefined
        ? object
        : { ...object, metadata: { ...object.metadata, namespace: new HclExpression('var.namespace') } };
    items.push(
      block(
        'resource',
        ['kubernetes_manifest', resourceName(object)],
        [
          ...attr('manifest', manifest as unknown as HclValue),
          block('field_manager', [], [...attr('name', 'berth'), ...attr('force_conflicts', false)]),
          ...(object.kind === 'Deployment' ? [block('wait', [], attr('rollout', true))] : []),
          ...(waitsForNamespace
            ? attr('depends_on', [new HclExpression(`kubernetes_manifest.${resourceName(namespace)}`)])
            : []),
        ],
      ),
    );
  }
  return `# Written by \`berth render terraform\` ${berthVersion}: the objects of \`berth render k8s\`.\n# Run with: terraform init && terraform apply\n\n${writeHcl(items)}`;
}
