/**
 * Kubernetes objects checked against the upstream OpenAPI schemas and the CRDs' schemas, through
 * the `kubernetes-models` packages' validators (generated from them). An object of a kind this
 * table does not know fails: nothing berth renders goes unchecked.
 *
 * The validators check types, enums, required fields and formats; like the OpenAPI schemas
 * themselves they do not refuse unknown fields (the API server's strict field validation does),
 * which is why the renderer is typed with the same packages' interfaces.
 */
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { StatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { Role } from 'kubernetes-models/rbac.authorization.k8s.io/v1/Role';
import { RoleBinding } from 'kubernetes-models/rbac.authorization.k8s.io/v1/RoleBinding';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { ExternalSecret } from '@kubernetes-models/external-secrets/external-secrets.io/v1/ExternalSecret';
import { GRPCRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/GRPCRoute';
import { HTTPRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute';
import { DestinationRule } from '@kubernetes-models/istio/networking.istio.io/v1/DestinationRule';
import { VirtualService } from '@kubernetes-models/istio/networking.istio.io/v1/VirtualService';
import { PeerAuthentication } from '@kubernetes-models/istio/security.istio.io/v1/PeerAuthentication';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';

interface Validating {
  validate(): void;
}
type ModelClass = new (data: never) => Validating;

const MODELS: Record<string, ModelClass> = {};
for (const model of [
  Namespace,
  ServiceAccount,
  ConfigMap,
  Secret,
  PersistentVolumeClaim,
  Service,
  Deployment,
  StatefulSet,
  PodDisruptionBudget,
  HorizontalPodAutoscaler,
  NetworkPolicy,
  Role,
  RoleBinding,
  ExternalSecret,
  HTTPRoute,
  GRPCRoute,
  VirtualService,
  DestinationRule,
  PeerAuthentication,
  ScaledObject,
  ServiceMonitor,
] as unknown as (ModelClass & { apiVersion: string; kind: string })[]) {
  MODELS[`${model.apiVersion}/${model.kind}`] = model;
}

/**
 * Throws, naming the object and the schema's complaint, unless `object` is valid for its
 * apiVersion and kind.
 */
export function validateKubeObject(object: {
  apiVersion?: unknown;
  kind?: unknown;
  metadata?: { name?: unknown };
}): void {
  const key = `${String(object.apiVersion)}/${String(object.kind)}`;
  const model = MODELS[key];
  if (model === undefined)
    throw new Error(`${key}: no schema known for this kind; add its model to kube-validate.ts`);
  try {
    new model(structuredClone(object) as never).validate();
  } catch (error) {
    throw new Error(`${key} ${String(object.metadata?.name)}: ${(error as Error).message}`, { cause: error });
  }
}
