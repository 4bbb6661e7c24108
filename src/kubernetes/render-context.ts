/**
 * What every part of `render` reads: the validated spec with the kubernetes section's defaults
 * filled in, the names and labels of the objects, and the ports. Built once by render.ts.
 */
import type { BerthSpec, KubernetesSpec, ReplicasSpec, ResilienceSpec } from '../spec/index.js';
import type { BerthLabels } from './objects.js';
import type { PodSecrets } from './pod-secrets.js';

export const HTTP_PORT = 8000;
export const GRPC_PORT = 8001;

export interface RenderInput {
  /** The deployment's name (a DNS label): objects are named after it. */
  readonly name: string;
  /** The image the pods run, ideally by digest. */
  readonly image: string;
  /** The validated spec; its kubernetes section may be absent (defaults). */
  readonly spec: BerthSpec;
  /** The models the image or volume holds (none: the image serves berth's built-in example). */
  readonly models: readonly { readonly name: string; readonly execution: 'cpu' | 'cuda' }[];
  /** berth's version, named in the objects' annotations. */
  readonly berthVersion: string;
  /**
   * The deployment this one is the canary candidate of. With the berth gateway, a candidate is
   * only servers (behind a headless Service `<name>-pods`), called by that deployment's gateway.
   */
  readonly candidateOf?: string;
}

export interface RenderContext {
  readonly input: RenderInput;
  readonly name: string;
  readonly namespace: string | undefined;
  readonly kube: KubernetesSpec;
  readonly replicas: ReplicasSpec;
  readonly resilience: ResilienceSpec;
  readonly labels: BerthLabels;
  /** REST and gRPC over TLS (serve.tls), at the pods; with the gateway, only the gateway's. */
  readonly tls: boolean;
  /**
   * Whether berth's gateway stands in front of the pods (kubernetes.gateway.enabled): the serve
   * section is the gateway's, and the pods are reached through the headless Service `<name>-pods`.
   */
  readonly gateway: boolean;
  /** The deployment whose gateway calls these pods: its own name, or the one it is a candidate of. */
  readonly gatewayOf: string;
  readonly autoscaler: 'hpa' | 'keda' | 'none';
  /** A StatefulSet when each pod keeps its own models claim (models.source oci with cache). */
  readonly workloadKind: 'Deployment' | 'StatefulSet';
  readonly gpus: number;
  /** The Secret the pods read, when they read one. */
  readonly secretName: string;
  /** The serve section as the pods read it, and the secret files it names. */
  readonly secrets: PodSecrets;
  /** ObjectMeta for an object of this deployment named `name`. */
  meta(name?: string): { name: string; namespace?: string; labels: Record<string, string> };
}
