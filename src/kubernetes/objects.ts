/**
 * The Kubernetes objects `berth render k8s` makes, typed by the `kubernetes-models` packages'
 * interfaces (generated from the upstream OpenAPI schemas and the CRDs of Gateway API, Istio,
 * KEDA, prometheus-operator and External Secrets), so that a misspelt field fails the build. The
 * imports are types only: nothing of those packages is loaded at run time, and the tests validate
 * every rendered object with their validators.
 */
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IStatefulSet } from 'kubernetes-models/apps/v1/StatefulSet';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { INamespace } from 'kubernetes-models/v1/Namespace';
import type { IPersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IExternalSecret } from '@kubernetes-models/external-secrets/external-secrets.io/v1/ExternalSecret';
import type { IGRPCRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/GRPCRoute';
import type { IHTTPRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute';
import type { IDestinationRule } from '@kubernetes-models/istio/networking.istio.io/v1/DestinationRule';
import type { IVirtualService } from '@kubernetes-models/istio/networking.istio.io/v1/VirtualService';
import type { IPeerAuthentication } from '@kubernetes-models/istio/security.istio.io/v1/PeerAuthentication';
import type { IScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import type { IServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';

export type {
  IConfigMap,
  IDeployment,
  IDestinationRule,
  IExternalSecret,
  IGRPCRoute,
  IHorizontalPodAutoscaler,
  IHTTPRoute,
  INamespace,
  INetworkPolicy,
  IPeerAuthentication,
  IPersistentVolumeClaim,
  IPodDisruptionBudget,
  IScaledObject,
  IService,
  IServiceAccount,
  IServiceMonitor,
  IStatefulSet,
  IVirtualService,
};

/** Every kind of object berth renders. */
export type KubeObject =
  | INamespace
  | IServiceAccount
  | IConfigMap
  | IPersistentVolumeClaim
  | IDeployment
  | IStatefulSet
  | IService
  | IPodDisruptionBudget
  | IHorizontalPodAutoscaler
  | IScaledObject
  | INetworkPolicy
  | IExternalSecret
  | IHTTPRoute
  | IGRPCRoute
  | IVirtualService
  | IDestinationRule
  | IPeerAuthentication
  | IServiceMonitor;

/** The labels every object carries; the selector is the first three (they never change). */
export interface BerthLabels {
  readonly selector: Readonly<Record<string, string>>;
  readonly all: Readonly<Record<string, string>>;
}

/** Kubernetes' recommended labels, berth as the manager; `gateway` for the berth gateway's pods. */
export function berthLabels(name: string, component: 'server' | 'gateway' = 'server'): BerthLabels {
  const selector = {
    'app.kubernetes.io/name': 'berth',
    'app.kubernetes.io/instance': name,
    'app.kubernetes.io/component': component,
  };
  return {
    selector,
    all: {
      ...selector,
      'app.kubernetes.io/part-of': name,
      'app.kubernetes.io/managed-by': 'berth',
    },
  };
}
