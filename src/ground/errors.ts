/**
 * The one error type of berth. Every failure that can reach a user carries a stable code
 * (`BERTH_ERR_<AREA>_<WHAT>`, never reused) and a category that decides the HTTP and gRPC
 * status in exactly one place (`error-status.ts`). `docs/errors.md` lists every code and a
 * test keeps the two in sync.
 */

export const ERROR_CATEGORIES = [
  'INVALID_ARGUMENT',
  'NOT_FOUND',
  'UNAVAILABLE',
  'RESOURCE_EXHAUSTED',
  'DEADLINE_EXCEEDED',
  'INTERNAL',
  'UNAUTHENTICATED',
  'PERMISSION_DENIED',
] as const;
export type ErrorCategory = (typeof ERROR_CATEGORIES)[number];

interface ErrorCodeInfo {
  readonly category: ErrorCategory;
  /** HTTP status when it differs from the category's default. */
  readonly httpStatus?: number;
  readonly description: string;
}

/** Every error code berth can produce. Add new ones at the end of their area; never reuse one. */
export const ERROR_CODES = {
  BERTH_ERR_PROTOCOL_INVALID_JSON: {
    category: 'INVALID_ARGUMENT',
    description: 'The request body is not valid JSON.',
  },
  BERTH_ERR_PROTOCOL_INVALID_REQUEST: {
    category: 'INVALID_ARGUMENT',
    description: 'The inference request object does not follow the Open Inference Protocol schema.',
  },
  BERTH_ERR_PROTOCOL_INVALID_DATATYPE: {
    category: 'INVALID_ARGUMENT',
    description: 'A tensor datatype is not one of the protocol datatypes.',
  },
  BERTH_ERR_PROTOCOL_INVALID_SHAPE: {
    category: 'INVALID_ARGUMENT',
    description: 'A tensor shape is not a list of non-negative integers.',
  },
  BERTH_ERR_PROTOCOL_INVALID_DATA: {
    category: 'INVALID_ARGUMENT',
    description: 'Tensor data does not match its shape or datatype (count, type or value range).',
  },
  BERTH_ERR_PROTOCOL_INVALID_BINARY: {
    category: 'INVALID_ARGUMENT',
    description:
      'Binary tensor data is malformed: bad Inference-Header-Content-Length, truncated or extra bytes, bad BYTES lengths.',
  },
  BERTH_ERR_PROTOCOL_UNSUPPORTED_MEDIA_TYPE: {
    category: 'INVALID_ARGUMENT',
    httpStatus: 415,
    description: 'The request Content-Type or Content-Encoding is not supported.',
  },
  BERTH_ERR_PROTOCOL_BODY_TOO_LARGE: {
    category: 'RESOURCE_EXHAUSTED',
    httpStatus: 413,
    description: 'The request body is larger than the configured body limit (--max-body-size).',
  },
  BERTH_ERR_PROTOCOL_TENSOR_TOO_LARGE: {
    category: 'RESOURCE_EXHAUSTED',
    httpStatus: 413,
    description: 'A tensor has more elements than the configured limit (--max-tensor-elements).',
  },
  BERTH_ERR_PROTOCOL_HEADERS_TOO_LARGE: {
    category: 'RESOURCE_EXHAUSTED',
    httpStatus: 431,
    description: 'The request line or headers exceed the HTTP parser limit.',
  },
  BERTH_ERR_INFER_UNKNOWN_INPUT: {
    category: 'INVALID_ARGUMENT',
    description: 'The request names an input the model does not have, or names one twice.',
  },
  BERTH_ERR_INFER_MISSING_INPUT: {
    category: 'INVALID_ARGUMENT',
    description: 'The request lacks an input the model requires.',
  },
  BERTH_ERR_INFER_UNKNOWN_OUTPUT: {
    category: 'INVALID_ARGUMENT',
    description: 'The request asks for an output the model does not have, or asks for one twice.',
  },
  BERTH_ERR_INFER_DATATYPE_MISMATCH: {
    category: 'INVALID_ARGUMENT',
    description: "An input's datatype differs from the model's declared datatype.",
  },
  BERTH_ERR_INFER_SHAPE_MISMATCH: {
    category: 'INVALID_ARGUMENT',
    description: "An input's shape does not fit the model's declared shape or maximum batch size.",
  },
  BERTH_ERR_MODEL_NOT_FOUND: {
    category: 'NOT_FOUND',
    description: 'No model of that name is in the repository.',
  },
  BERTH_ERR_MODEL_VERSION_NOT_FOUND: {
    category: 'NOT_FOUND',
    description: 'The model exists but not the requested version, or the version is not a positive integer.',
  },
  BERTH_ERR_MODEL_NOT_READY: {
    category: 'UNAVAILABLE',
    description: 'The model (version) exists but is not ready: loading, unloading or failed to load.',
  },
  BERTH_ERR_RUNTIME_LOAD_FAILED: {
    category: 'INTERNAL',
    description: 'The runtime could not load a model file (corrupt file, unsupported operator, bad config).',
  },
  BERTH_ERR_RUNTIME_INVALID_MODEL: {
    category: 'INVALID_ARGUMENT',
    description: 'The file is not a readable ONNX model (berth inspect, or a model berth serve loads).',
  },
  BERTH_ERR_RUNTIME_EXECUTION_FAILED: {
    category: 'INTERNAL',
    description: 'The runtime failed while executing the model.',
  },
  BERTH_ERR_RUNTIME_PROVIDER_UNAVAILABLE: {
    category: 'UNAVAILABLE',
    description:
      'A model asks for an execution provider (CUDA: KIND_GPU, execution: cuda) that is not installed or cannot start.',
  },
  BERTH_ERR_REPOSITORY_NOT_FOUND: {
    category: 'NOT_FOUND',
    description: 'The model file or repository directory does not exist or cannot be read.',
  },
  BERTH_ERR_REPOSITORY_INVALID_NAME: {
    category: 'INVALID_ARGUMENT',
    description: 'A model name or version folder is not allowed (characters, length, path traversal).',
  },
  BERTH_ERR_REPOSITORY_INVALID_CONFIG: {
    category: 'INVALID_ARGUMENT',
    description: "A model's config.yaml is malformed or contradicts the model file.",
  },
  BERTH_ERR_REPOSITORY_NO_VERSIONS: {
    category: 'NOT_FOUND',
    description: 'A model folder has no numeric version folder holding a model file.',
  },
  BERTH_ERR_REPOSITORY_CONTROL_DISABLED: {
    category: 'INVALID_ARGUMENT',
    description:
      'A repository load or unload was asked of a server whose model control mode is not explicit.',
  },
  BERTH_ERR_REPOSITORY_MODEL_FOLDER: {
    category: 'INVALID_ARGUMENT',
    description: 'A folder given as a model repository is a model folder (it holds version folders).',
  },
  BERTH_ERR_SCHEDULER_QUEUE_FULL: {
    category: 'RESOURCE_EXHAUSTED',
    httpStatus: 503,
    description: "The model's request queue is full (maxQueueSize); the response carries Retry-After.",
  },
  BERTH_ERR_SCHEDULER_TIMEOUT: {
    category: 'DEADLINE_EXCEEDED',
    description: 'The request waited in the queue longer than its timeout without being run.',
  },
  BERTH_ERR_SCHEDULER_CANCELLED: {
    category: 'UNAVAILABLE',
    httpStatus: 499,
    description: 'The client went away while its request was queued; the request was dropped, not run.',
  },
  BERTH_ERR_SERVER_SHUTTING_DOWN: {
    category: 'UNAVAILABLE',
    description: 'The server is draining before exit and accepts no new requests.',
  },
  BERTH_ERR_SERVER_ROUTE_NOT_FOUND: {
    category: 'NOT_FOUND',
    description: 'No endpoint exists at that method and path.',
  },
  BERTH_ERR_SERVER_TIMEOUT: {
    category: 'DEADLINE_EXCEEDED',
    httpStatus: 408,
    description: 'The client took too long to send the request.',
  },
  BERTH_ERR_SERVER_LISTEN_FAILED: {
    category: 'UNAVAILABLE',
    description: 'The server could not listen on its HTTP or gRPC address (port in use, address not local).',
  },
  BERTH_ERR_PACKAGING_INVALID_IMAGE: {
    category: 'INVALID_ARGUMENT',
    description: 'A base image or image blob is missing, corrupt, or not for the platform being built.',
  },
  BERTH_ERR_PACKAGING_INVALID_REFERENCE: {
    category: 'INVALID_ARGUMENT',
    description: 'An image reference is not [REGISTRY/]REPOSITORY[:TAG][@sha256:DIGEST].',
  },
  BERTH_ERR_PACKAGING_IMAGE_NOT_FOUND: {
    category: 'NOT_FOUND',
    description: 'The registry has no such repository, tag, digest or blob.',
  },
  BERTH_ERR_PACKAGING_REGISTRY_UNAVAILABLE: {
    category: 'UNAVAILABLE',
    description:
      'The registry could not be reached, or answered with a server error or an unexpected response.',
  },
  BERTH_ERR_PACKAGING_REGISTRY_UNAUTHORIZED: {
    category: 'UNAUTHENTICATED',
    description: 'The registry wants credentials berth does not have, or refused the ones it sent.',
  },
  BERTH_ERR_PACKAGING_NO_NODE: {
    category: 'INVALID_ARGUMENT',
    description: 'The base image has no executable node where its entrypoint, its PATH or --node say.',
  },
  BERTH_ERR_PACKAGING_REGISTRY_DENIED: {
    category: 'PERMISSION_DENIED',
    description:
      'The registry accepted the credentials but denied the operation (e.g. push to a read-only repository).',
  },
  BERTH_ERR_SPEC_INVALID: {
    category: 'INVALID_ARGUMENT',
    description: 'berth.yaml cannot be read, is not YAML, or has a key or value that is not allowed.',
  },
  BERTH_ERR_CLI_INVALID_OPTION: {
    category: 'INVALID_ARGUMENT',
    description: 'A command-line option has an invalid value.',
  },
  BERTH_ERR_CLI_USAGE: {
    category: 'INVALID_ARGUMENT',
    description: 'An unknown command or option, a missing or extra argument, or an option without its value.',
  },
  BERTH_ERR_CLIENT_REQUEST_FAILED: {
    category: 'UNAVAILABLE',
    description: 'The berth client could not reach the server or got a response it could not read.',
  },
  BERTH_ERR_BENCH_INVALID_METADATA: {
    category: 'INVALID_ARGUMENT',
    description:
      'berth bench: the model metadata the server sent cannot be benchmarked (no inputs, an unknown datatype, a shape that is not integers).',
  },
  BERTH_ERR_BENCH_INVALID_DATA: {
    category: 'INVALID_ARGUMENT',
    description:
      'berth bench --data FILE: the file cannot be read, is not JSON, or its inputs do not match the model (names, shapes, values).',
  },
  BERTH_ERR_GATEWAY_NO_UPSTREAM: {
    category: 'UNAVAILABLE',
    description:
      'The gateway has no replica that can take the request now (none ready, all ejected or with an open breaker).',
  },
  BERTH_ERR_GATEWAY_UPSTREAM_FAILED: {
    category: 'UNAVAILABLE',
    httpStatus: 502,
    description:
      'The gateway could not get an answer from a replica (connection refused or reset, a broken response) and could not retry.',
  },
  BERTH_ERR_GATEWAY_TIMEOUT: {
    category: 'DEADLINE_EXCEEDED',
    description: "The request's deadline passed before a replica answered it through the gateway.",
  },
  BERTH_ERR_CONTROL_INVALID_REQUEST: {
    category: 'INVALID_ARGUMENT',
    description:
      "A request to `berth up`'s control API (berth status, berth scale) is not one it takes: a wrong method, an unknown field, a replica count out of range.",
  },
  BERTH_ERR_CONTROL_FORBIDDEN: {
    category: 'PERMISSION_DENIED',
    description:
      'The control API answers only requests addressed to a loopback host: it refused one whose Host header names another (as a DNS-rebinding web page would send).',
  },
  BERTH_ERR_UP_WATCH_TOO_LARGE: {
    category: 'INVALID_ARGUMENT',
    description:
      '`rollout.watch`: the watched models hold more files and folders than berth up looks at on each poll (100,000).',
  },
  BERTH_ERR_UP_NO_SOCKET_FOLDER: {
    category: 'INVALID_ARGUMENT',
    description:
      "berth up could make no folder for its replicas' unix sockets: TMPDIR's path is too long for a socket path (107 bytes) and /tmp cannot be used. It does not fall back to loopback TCP, where any local user could reach a replica around the gateway.",
  },
  BERTH_ERR_AUTH_UNAUTHENTICATED: {
    category: 'UNAUTHENTICATED',
    description:
      'Access control is on and the request carried no credentials, or ones that are not valid (unknown, revoked, expired or malformed key). The response carries WWW-Authenticate.',
  },
  BERTH_ERR_AUTH_FORBIDDEN: {
    category: 'PERMISSION_DENIED',
    description:
      'The caller is known but may not do this: its key lacks the role the operation needs, or is limited to other models.',
  },
  BERTH_ERR_AUTH_KEY_FILE_INVALID: {
    category: 'INVALID_ARGUMENT',
    description:
      'The API key file cannot be read or is not a key file `berth keys` writes (the message names the field). A server refuses to start on it; one that is running keeps the keys it had.',
  },
  BERTH_ERR_AUTH_KEY_NOT_FOUND: {
    category: 'NOT_FOUND',
    description: '`berth keys revoke`: no key with that id is in the key file.',
  },
  BERTH_ERR_SECRET_UNRESOLVED: {
    category: 'INVALID_ARGUMENT',
    description:
      'A secret reference (`env:NAME`, `file:PATH`) names an environment variable that is not set or a file that cannot be read. The message names the reference, never the secret.',
  },
  BERTH_ERR_RATE_LIMITED: {
    category: 'RESOURCE_EXHAUSTED',
    description:
      'The caller (its key, or its address when anonymous) or the model is over its rate limit. The response carries Retry-After and the RateLimit and RateLimit-Policy fields.',
  },
  BERTH_ERR_CONCURRENCY_LIMITED: {
    category: 'RESOURCE_EXHAUSTED',
    description: 'The caller already has as many requests in progress as `--max-concurrent` allows.',
  },
  BERTH_ERR_AUDIT_LOG_UNWRITABLE: {
    category: 'INVALID_ARGUMENT',
    description:
      'The file `--audit-log` names cannot be opened for appending (a missing folder, no permission).',
  },
  BERTH_ERR_TLS_INVALID: {
    category: 'INVALID_ARGUMENT',
    description:
      'A TLS certificate, key or client CA file cannot be read, is not PEM, or the certificate and key do not match. A server refuses to start on it; one that is running keeps the certificate in force and logs this.',
  },
  BERTH_ERR_AUTH_JWT_CONFIG_INVALID: {
    category: 'INVALID_ARGUMENT',
    description:
      'The JWT settings cannot be used: a JWKS file that is not a key set, an algorithm that is never accepted (none, HS*), an issuer or audience missing. The server does not start.',
  },
  BERTH_ERR_RATE_LIMIT_STORE_UNAVAILABLE: {
    category: 'UNAVAILABLE',
    description:
      'At start: the Redis that holds rate limits shared between processes (--rate-limit-redis) did not answer. Once running, a failed take lets the request through instead.',
  },
  BERTH_ERR_AUTH_JWKS_UNAVAILABLE: {
    category: 'UNAVAILABLE',
    description:
      'A bearer token could not be checked because the JWKS URL did not answer (or answered something that is not a key set); retry later.',
  },
  BERTH_ERR_KUBE_CONFIG: {
    category: 'INVALID_ARGUMENT',
    description:
      "`berth deploy`, `rollback`, `status --kube`: no kubeconfig could be read (`--kubeconfig`, `KUBECONFIG`, `~/.kube/config`, or the pod's service account), or it has no such context. The message names the file or context.",
  },
  BERTH_ERR_KUBE_UNREACHABLE: {
    category: 'UNAVAILABLE',
    description:
      'The Kubernetes API server did not answer (connection refused, a TLS failure, a timeout). Nothing more was applied; run the command again when it answers.',
  },
  BERTH_ERR_KUBE_FORBIDDEN: {
    category: 'PERMISSION_DENIED',
    description:
      "The API server refused the credentials (401) or their permissions (403) for an object; the message names the object and the server's reason. [kubernetes.md](kubernetes.md#permissions-berth-deploy-needs) lists the permissions `berth deploy` needs.",
  },
  BERTH_ERR_KUBE_CONFLICT: {
    category: 'INVALID_ARGUMENT',
    description:
      'Server-side apply found a field of a berth object that another field manager (another tool, a `kubectl edit`) set to another value. The message names the manager and the fields; `--force-conflicts` takes them over.',
  },
  BERTH_ERR_KUBE_REFUSED: {
    category: 'INVALID_ARGUMENT',
    description:
      "The API server refused an object (invalid, or its namespace is missing); the message names the object and quotes the server's reason.",
  },
  BERTH_ERR_KUBE_MISSING_API: {
    category: 'NOT_FOUND',
    description:
      "The cluster does not serve the API of a rendered object (KEDA's ScaledObject, Gateway API's HTTPRoute, Istio, prometheus-operator, External Secrets without their CRDs). Install it, or change the spec so that berth does not render that object.",
  },
  BERTH_ERR_KUBE_ROLLOUT_FAILED: {
    category: 'UNAVAILABLE',
    description:
      '`berth deploy --wait`: the new pods did not become ready, for the causes the message names (the image cannot be pulled, no node fits, a probe fails, a crash loop with its last log lines, the progress deadline). Exit status 2; `berth rollback` returns to the revision before.',
  },
  BERTH_ERR_KUBE_ROLLOUT_TIMEOUT: {
    category: 'DEADLINE_EXCEEDED',
    description:
      '`berth deploy --wait`: the rollout was still in progress when `--timeout` ran out; it goes on in the cluster.',
  },
  BERTH_ERR_KUBE_INVENTORY: {
    category: 'INVALID_ARGUMENT',
    description:
      'The inventory ConfigMap (`<name>-berth`) where berth keeps what it applied cannot be read. Delete it to start a new history; the next deploy then prunes nothing.',
  },
  BERTH_ERR_KUBE_NO_REVISION: {
    category: 'NOT_FOUND',
    description:
      '`berth rollback`: the inventory holds no earlier revision to go back to (or not the one asked for).',
  },
  BERTH_ERR_INTERNAL: {
    category: 'INTERNAL',
    description: 'An unexpected internal error. The message is generic; details are in the server log.',
  },
} as const satisfies Record<string, ErrorCodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

/**
 * The error every berth module throws.
 *
 * @example
 * throw new BerthError('BERTH_ERR_INFER_SHAPE_MISMATCH', 'input "x": expected shape [-1,4], got [2,5]');
 */
export class BerthError extends Error {
  override readonly name = 'BerthError';
  readonly code: ErrorCode;
  readonly category: ErrorCategory;
  /** When to come back, for an error that passes (a rate limit): Retry-After, in seconds. */
  readonly retryAfterSeconds: number | undefined;
  /** More response headers (gRPC: trailing metadata) the answer carries, such as RateLimit's. */
  readonly headers: Readonly<Record<string, string>> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options?: { cause?: unknown; retryAfterSeconds?: number; headers?: Readonly<Record<string, string>> },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.category = ERROR_CODES[code].category;
    this.retryAfterSeconds = options?.retryAfterSeconds;
    this.headers = options?.headers;
  }
}

export function isBerthError(value: unknown): value is BerthError {
  return value instanceof BerthError;
}

/**
 * Normalises anything thrown at a boundary into a BerthError, once. Unknown errors become
 * BERTH_ERR_INTERNAL with a generic message so that no internal detail reaches a client;
 * the original is kept as `cause` for the log.
 */
export function toBerthError(value: unknown): BerthError {
  if (value instanceof BerthError) return value;
  return new BerthError('BERTH_ERR_INTERNAL', 'internal server error', { cause: value });
}
