/**
 * The rendered objects as a kustomize base: one YAML file per object, named after its kind, and a
 * kustomization.yaml listing them, so that `kubectl apply -k DIR` applies them and an overlay can
 * patch them (`resources: [../base]`).
 */
import { stringify } from 'yaml';
import type { KubeObject } from './objects.js';

/** File name → text, kustomization.yaml included. */
export function kustomizeFiles(
  objects: readonly KubeObject[],
  header: string,
  extraFiles: Readonly<Record<string, string>> = {},
): Record<string, string> {
  const files: Record<string, string> = {};
  const kinds = new Map<string, number>();
  for (const object of objects) kinds.set(object.kind, (kinds.get(object.kind) ?? 0) + 1);
  const comment = header
    .split('\n')
    .map((line) => `# ${line}`.trimEnd())
    .join('\n');
  const names: string[] = [];
  for (const object of objects) {
    const kind = object.kind.toLowerCase();
    const name =
      (kinds.get(object.kind) ?? 0) > 1 ? `${kind}-${object.metadata?.name ?? ''}.yaml` : `${kind}.yaml`;
    names.push(name);
    files[name] = `${comment}\n${stringify(object, { lineWidth: 0, aliasDuplicateObjects: false })}`;
  }
  files['kustomization.yaml'] =
    `${comment}\n` +
    stringify(
      { apiVersion: 'kustomize.config.k8s.io/v1beta1', kind: 'Kustomization', resources: names },
      { lineWidth: 0 },
    );
  for (const [name, text] of Object.entries(extraFiles)) files[name] = `${comment}\n${text}`;
  return files;
}
