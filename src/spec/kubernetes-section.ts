/**
 * The `kubernetes` section of berth.yaml: what `berth render k8s` makes beyond what the other
 * sections already say (replicas, rollout, serve). Strict: an unknown key is an error naming its
 * path. Every field has a default that gives manifests a security review passes on a cluster with
 * nothing installed beyond Kubernetes itself; the options that need something installed (KEDA,
 * Gateway API, Istio, prometheus-operator, External Secrets, Vault) are off until asked for
 * (docs/kubernetes.md says what each needs).
 */
import { z } from 'zod';
import { duration } from './duration.js';

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const dnsLabel = z.string().regex(DNS_LABEL, 'expected a DNS label: lower-case letters, digits and -');
/** A Kubernetes object name (a DNS subdomain). */
const objectName = z
  .string()
  .max(253)
  .regex(
    /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/,
    'expected an object name: lower-case letters, digits, "." and -',
  );
/** A Kubernetes quantity: 2, 500m, 1.5, 2Gi, 512Mi, 10G. */
const quantity = z
  .union([z.number().positive(), z.string()])
  .transform((v) => String(v))
  .refine(
    (v) => /^(\d+(\.\d+)?|\.\d+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/.test(v) && Number.parseFloat(v) > 0,
    {
      message: 'expected a quantity above 0 such as 2, 500m, 2Gi or 512Mi',
    },
  );
/** A label key as Kubernetes allows: an optional DNS-subdomain prefix and a name. */
const labelKey = z
  .string()
  .max(316)
  .regex(
    /^([a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?$/,
    'expected a label key such as nvidia.com/gpu.present or pool',
  );
const labelValue = z
  .string()
  .regex(
    /^([A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?)?$/,
    'expected a label value: at most 63 letters, digits, _ . -',
  );
const labels = z.record(labelKey, labelValue);

const toleration = z
  .object({
    key: labelKey.optional(),
    operator: z.enum(['Equal', 'Exists']).default('Equal'),
    value: labelValue.optional(),
    effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional(),
    tolerationSeconds: z.number().int().min(0).optional(),
  })
  .strict()
  .refine((t) => t.operator === 'Equal' || t.value === undefined, {
    message: 'a value needs operator Equal (Exists matches any value)',
    path: ['value'],
  })
  .refine((t) => t.key !== undefined || t.operator === 'Exists', {
    message: 'without a key, the operator must be Exists (it then tolerates every taint)',
    path: ['operator'],
  });

/** Where traffic may come from: pods (by labels) in namespaces (by name). */
const peer = z
  .object({
    namespace: dnsLabel.optional().describe("The namespace's name. Default: the deployment's own."),
    pods: labels.optional().describe('Pod labels the peer has. Default: every pod of the namespace.'),
  })
  .strict();

export const kubernetesSection = z
  .object({
    namespace: dnsLabel
      .optional()
      .describe('The namespace every object goes in. Default: none set (kubectl -n or kustomize decides).'),
    image: z
      .string()
      .min(1)
      .max(512)
      .optional()
      .describe(
        'The image the pods run, by digest (registry/name@sha256:...). Default: what --image or --image-from gives.',
      ),
    resources: z
      .object({
        cpu: quantity
          .default('1')
          .describe('CPU requested and the limit (equal: the Guaranteed class). Default 1.'),
        memory: quantity.default('1Gi').describe('Memory requested and the limit. Default 1Gi.'),
        gpu: z
          .number()
          .int()
          .min(0)
          .max(64)
          .optional()
          .describe('GPUs per pod. Default: 1 when a model has execution: cuda, else 0.'),
        gpuResource: labelKey
          .default('nvidia.com/gpu')
          .describe('The extended resource a GPU is. Default nvidia.com/gpu.'),
      })
      .strict()
      .prefault({})
      .describe("Each pod's resources: requests equal limits."),
    scheduling: z
      .object({
        nodeSelector: labels.optional().describe('Labels a node must have.'),
        tolerations: z.array(toleration).max(32).optional().describe('Taints the pods tolerate.'),
        spread: z
          .enum(['zone', 'node', 'none'])
          .default('zone')
          .describe(
            'Spread pods over zones (topology.kubernetes.io/zone) or nodes, as a preference (ScheduleAnyway), or not. Default zone.',
          ),
      })
      .strict()
      .prefault({})
      .describe('Where pods may run.'),
    autoscaler: z
      .enum(['hpa', 'keda', 'none'])
      .optional()
      .describe(
        'hpa: autoscaling/v2 on CPU and in-flight requests; keda: a ScaledObject on a Prometheus query, which can scale to zero; none. Default: keda when replicas.min is 0, hpa when replicas.max > min, else none.',
      ),
    hpa: z
      .object({
        cpuUtilization: z
          .number()
          .int()
          .min(1)
          .max(100)
          .default(70)
          .describe('Target CPU use, percent of the request. Default 70.'),
        inflightMetric: z
          .boolean()
          .default(true)
          .describe(
            "Also scale on berth's in-flight requests per pod (needs prometheus-adapter with the rendered rule). Default true.",
          ),
      })
      .strict()
      .prefault({})
      .describe('The HorizontalPodAutoscaler.'),
    keda: z
      .object({
        prometheus: z
          .url({ protocol: /^https?$/ })
          .default('http://prometheus-operated.monitoring.svc:9090')
          .describe("The Prometheus KEDA queries (the default is prometheus-operator's)."),
      })
      .strict()
      .prefault({})
      .describe('The KEDA ScaledObject.'),
    models: z
      .object({
        source: z
          .enum(['image', 'volume', 'oci'])
          .default('image')
          .describe(
            'image: the models are in the image (berth build); volume: a PersistentVolumeClaim; oci: an init container pulls them from the image models.image names (berth models pull). Default image.',
          ),
        image: z
          .string()
          .min(1)
          .max(512)
          .optional()
          .describe('oci: the image whose models are pulled (berth build --push), by digest.'),
        pullSecret: objectName
          .optional()
          .describe("oci: a kubernetes.io/dockerconfigjson Secret with the registry's credentials."),
        cache: z
          .boolean()
          .default(false)
          .describe(
            'oci: keep the pulled models on a claim per pod (a StatefulSet), so a restarted pod does not pull them again. Default false.',
          ),
        claim: objectName
          .optional()
          .describe('volume: an existing claim to mount. Default: one rendered as <name>-models.'),
        size: quantity
          .default('10Gi')
          .describe("volume, and oci: the claim's (or the emptyDir's) size. Default 10Gi."),
        storageClass: objectName.optional().describe("volume: the rendered claim's storage class."),
        accessMode: z
          .enum(['ReadOnlyMany', 'ReadWriteOnce', 'ReadWriteMany'])
          .default('ReadOnlyMany')
          .describe("volume: the rendered claim's access mode. Default ReadOnlyMany."),
      })
      .strict()
      .prefault({})
      .refine((m) => m.source !== 'oci' || m.image !== undefined, {
        message: 'source oci needs image (the image berth build pushed with the models)',
        path: ['image'],
      })
      .describe('Where the pods read the models.'),
    network: z
      .object({
        policy: z.boolean().default(true).describe('Render a NetworkPolicy. Default true.'),
        from: z
          .array(peer)
          .max(32)
          .optional()
          .describe(
            'Who may call the pods, besides the monitoring scraper. Default: pods of the same namespace.',
          ),
        monitoring: peer
          .default({ namespace: 'monitoring' })
          .describe('Where the Prometheus that scrapes /metrics runs.'),
        egress: z
          .array(
            z
              .object({
                cidr: z.string().regex(/^[0-9a-fA-F.:]+\/\d{1,3}$/, 'expected a CIDR such as 10.0.0.0/8'),
                ports: z.array(z.number().int().min(1).max(65535)).min(1).max(32),
              })
              .strict(),
          )
          .max(32)
          .default([])
          .describe(
            'Addresses the pods may reach besides DNS (a Redis for shared limits, an identity provider, Vault).',
          ),
        apiServer: z
          .array(z.string().regex(/^[0-9a-fA-F.:]+\/\d{1,3}$/, 'expected a CIDR such as 10.0.0.0/24'))
          .max(16)
          .default([])
          .describe(
            "Addresses the API server connects from (the control plane's), let in to the pods' /metrics: a canary reads them through the API server's proxy.",
          ),
      })
      .strict()
      .prefault({})
      .describe('The NetworkPolicy.'),
    secrets: z
      .object({
        provider: z
          .enum(['secret', 'external-secrets', 'vault'])
          .default('secret')
          .describe(
            'secret: a Secret you create, by name; external-secrets: an ExternalSecret fills it; vault: Vault Agent Injector writes the files. Default secret.',
          ),
        name: objectName.optional().describe('The Secret. Default <name>-secrets.'),
        store: z
          .object({
            name: objectName.describe('The SecretStore or ClusterSecretStore.'),
            kind: z
              .enum(['SecretStore', 'ClusterSecretStore'])
              .default('ClusterSecretStore')
              .describe('Its kind. Default ClusterSecretStore.'),
          })
          .strict()
          .optional()
          .describe('external-secrets: the store to read from.'),
        remoteKey: z
          .string()
          .min(1)
          .max(512)
          .optional()
          .describe(
            'external-secrets: the key in the store; vault: the secret path (e.g. secret/data/fraud).',
          ),
        vaultRole: z
          .string()
          .min(1)
          .max(256)
          .optional()
          .describe("vault: the Vault role the pods' service account has."),
      })
      .strict()
      .prefault({})
      .refine(
        (s) => s.provider !== 'external-secrets' || (s.store !== undefined && s.remoteKey !== undefined),
        {
          message: 'external-secrets needs store and remoteKey',
          path: ['provider'],
        },
      )
      .refine((s) => s.provider !== 'vault' || (s.vaultRole !== undefined && s.remoteKey !== undefined), {
        message: 'vault needs vaultRole and remoteKey',
        path: ['provider'],
      })
      .describe("Where the serve section's secrets (API keys, TLS key, Redis URL) come from."),
    traffic: z
      .enum(['service', 'gateway-api', 'istio'])
      .default('service')
      .describe(
        'service: a ClusterIP Service only; gateway-api: also an HTTPRoute and a GRPCRoute; istio: also a VirtualService and DestinationRule (retries, outlier detection). Default service.',
      ),
    gateway: z
      .object({
        enabled: z
          .boolean()
          .default(false)
          .describe(
            "Put berth's gateway in front of the pods, as its own Deployment <name>-gateway behind the Service <name>: the serve section (keys, JWTs, rate limits, TLS, audit) applies there, the pods behind it serve plaintext to the gateway only, and a canary's traffic is weighed by the gateway. Default false.",
          ),
        replicas: z.number().int().min(1).max(64).default(2).describe('Gateway pods. Default 2.'),
        cpu: quantity
          .default('500m')
          .describe("Each gateway pod's CPU, requested and the limit. Default 500m."),
        memory: quantity
          .default('256Mi')
          .describe("Each gateway pod's memory, requested and the limit. Default 256Mi."),
      })
      .strict()
      .prefault({})
      .describe("berth's gateway as its own Deployment (berth gateway)."),
    gatewayApi: z
      .object({
        gateway: objectName.describe('The Gateway the routes attach to.'),
        gatewayNamespace: dnsLabel.optional().describe("The Gateway's namespace. Default: the deployment's."),
        hostnames: z
          .array(z.string().min(1).max(253))
          .max(16)
          .optional()
          .describe('Host names the routes answer.'),
      })
      .strict()
      .optional()
      .describe('gateway-api: the parent Gateway.'),
    mtls: z
      .boolean()
      .default(false)
      .describe('istio: require mutual TLS from the mesh (a STRICT PeerAuthentication). Default false.'),
    serviceMonitor: z
      .boolean()
      .default(false)
      .describe('Render a prometheus-operator ServiceMonitor for /metrics. Default false.'),
    drainTimeout: duration('30s').describe(
      'How long a stopping pod lets requests finish (berth serve --drain-timeout); the grace period adds 10s. Default 30s.',
    ),
    probes: z
      .enum(['http', 'grpc'])
      .default('http')
      .describe("Probe the OIP's REST health endpoints or gRPC health. Default http."),
  })
  .strict()
  .refine((k) => k.traffic !== 'gateway-api' || k.gatewayApi !== undefined, {
    message: 'traffic gateway-api needs gatewayApi.gateway',
    path: ['gatewayApi'],
  })
  .refine((k) => !k.gateway.enabled || k.network.policy, {
    message:
      'the gateway needs the NetworkPolicy: without it, any pod could call the model pods directly, past the access control the gateway applies',
    path: ['gateway', 'enabled'],
  })
  .refine((k) => !k.mtls || k.traffic === 'istio', {
    message: 'mtls needs traffic istio',
    path: ['mtls'],
  });

export type KubernetesSpec = z.output<typeof kubernetesSection>;
