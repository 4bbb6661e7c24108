/**
 * The berth.yaml that `berth init` writes: every section explained in comments, and the sections
 * with defaults (`replicas`, `rollout`, `resilience`) written out with the values the loader
 * would apply (orchestration.ts, docs/spec.md), so that a user edits numbers instead of looking
 * up key names. The values are written as text here, not read from the schemas, so that
 * durations keep their units (`5m`, not 300000); spec-template.test.ts loads the text through the
 * real loader and fails when a value here and a default there drift apart.
 */
import { stringify } from 'yaml';

/** A model found in the repository when the spec is written, as its comment lists it. */
export interface FoundModel {
  readonly name: string;
  /** The versions it would serve, highest first; empty when it cannot be served. */
  readonly versions: readonly number[];
  /** Its configuration file (`config.pbtxt` or `config.yaml`), when it has one. */
  readonly configFile?: string;
  /** Why it cannot be served, when it cannot. */
  readonly problem?: string;
}

export interface SpecTemplateOptions {
  /** The deployment's name: a DNS label (see {@link toDnsLabel}). */
  readonly name: string;
  /** The repository folder as the file names it: relative to the file, or absolute. */
  readonly repository: string;
  /** The model folders found in it, in order. */
  readonly models: readonly FoundModel[];
  /** `.onnx` files at the top of the folder, which a repository does not serve. */
  readonly strayFiles?: readonly string[];
  /** The base image `berth build` uses when `image.base` is not set. */
  readonly baseImage?: string;
}

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const DNS_LABEL_MAX = 63;

/** Whether `text` is a DNS label, as berth.yaml's `name` must be. */
export function isDnsLabel(text: string): boolean {
  return DNS_LABEL.test(text);
}

/**
 * A DNS label made from a folder's name: lower case, accents dropped, every other run of
 * characters outside [a-z0-9] one `-`, at most 63 characters; `berth` when nothing is left.
 *
 * @example
 * toDnsLabel('Fraud_Scoring v2'); // 'fraud-scoring-v2'
 */
export function toDnsLabel(text: string): string {
  const label = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, DNS_LABEL_MAX)
    .replace(/-+$/, '');
  return label === '' ? 'berth' : label;
}

/** A YAML scalar on one line: plain where YAML reads it back as the same string, else quoted. */
function scalar(value: string): string {
  const text = stringify(value, { lineWidth: 0 }).trimEnd();
  return text.includes('\n') ? JSON.stringify(value) : text;
}

/** Text that goes into a comment: one line, no control characters. */
function commentText(text: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what is replaced
  return text.replace(/[\u0000-\u001f\u007f]/g, '?');
}

const COMMENT_COLUMN = 34;

/** `key: value` at an indent, with a comment aligned after it. */
function entry(indent: number, key: string, value: string, comment?: string): string {
  const line = `${' '.repeat(indent)}${key}:${value === '' ? '' : ` ${value}`}`;
  return comment === undefined ? line : `${line.padEnd(COMMENT_COLUMN - 1)} # ${comment}`;
}

function modelLines(options: SpecTemplateOptions): string[] {
  const where = commentText(options.repository);
  const strays = options.strayFiles ?? [];
  if (options.models.length === 0 && strays.length === 0) {
    return [
      `# No model was found in ${where} when this file was written: add one as`,
      `# ${where}/<model>/1/model.onnx (berth reads the folder again every time it starts).`,
    ];
  }
  const lines = [`# Models found in ${where} when this file was written (berth reads it again each time):`];
  const width = Math.max(0, ...options.models.map((m) => commentText(m.name).length));
  for (const model of options.models) {
    const name = commentText(model.name).padEnd(width);
    const what =
      model.problem !== undefined || model.versions.length === 0
        ? `not served: ${commentText(model.problem ?? 'no version to serve')}`
        : `version${model.versions.length === 1 ? '' : 's'} ${model.versions.join(', ')}` +
          (model.configFile === undefined ? '' : `  (${commentText(model.configFile)})`);
    lines.push(`#   ${name}  ${what}`);
  }
  for (const file of strays) {
    const text = commentText(file);
    const stem = text.replace(/\.onnx$/i, '');
    lines.push(`#   ${text}: a file at the top is not served; move it to ${where}/${stem}/1/model.onnx`);
  }
  return lines;
}

/**
 * The text of a commented berth.yaml for a repository. It validates as written (parseSpec), and
 * its `replicas`, `rollout` and `resilience` read as the loader's defaults.
 *
 * @example
 * const text = renderSpecTemplate({
 *   name: 'fraud-scoring',
 *   repository: './models',
 *   models: [{ name: 'fraud', versions: [2, 1], configFile: 'config.pbtxt' }],
 * });
 */
export function renderSpecTemplate(options: SpecTemplateOptions): string {
  const lines = [
    '# yaml-language-server: $schema=./berth.schema.json',
    '#',
    '# berth.yaml: the one spec file every berth command reads (berth build, berth up, and later',
    '# berth render k8s). Written by `berth init`; edit it freely. The first line lets an editor',
    '# with the YAML language server complete and check it against berth.schema.json beside it',
    '# (`berth schema -o berth.schema.json` writes a fresh copy). Reference: docs/spec.md.',
    '#',
    '# Validation is strict: an unknown key, a wrong type or a value out of range is an error that',
    '# names its path. Durations are milliseconds, or text with a unit: 250ms, 30s, 5m, 1h, 1m30s.',
    '# The values written below are the defaults, which apply as well when a key is left out.',
    '',
    "# name: the deployment's name, a DNS label (lower-case letters, digits and -): images,",
    '# manifests and metrics carry it.',
    entry(0, 'name', scalar(options.name)),
    '',
    '# repository: the model repository folder, relative to this file, in the Triton layout:',
    '# <repository>/<model>/<version>/model.onnx, with an optional config.pbtxt (Triton) or',
    "# config.yaml (berth) in each model's folder (docs/repository.md). berth build and berth up",
    '# (once it ships) serve it when no model is given on the command line.',
    entry(0, 'repository', scalar(options.repository)),
    ...modelLines(options),
    "# Per-model settings (version policy, batching, instances) are read from each model's",
    '# config file today; a `models:` section here is accepted, and will be read by the commands',
    '# that own it as they arrive.',
    '',
    '# serve: who may call berth serve -f and the berth up gateway, and over TLS (docs/security.md).',
    '# Each setting is also an option of both commands; the command line wins. Paths are relative',
    '# to this file; env:NAME and file:PATH keep secrets out of it.',
    '# serve:',
    '#   auth: { apiKeys: berth-keys.json }',
    '#   limits: { perCaller: 100/s, maxConcurrent: 16 }',
    '#   tls: { cert: tls.crt, key: tls.key }',
    '',
    '# image: what `berth build` makes (docs/images.md). Without it, berth build uses its default',
    '# base image, names the image berth-<first model>:<berth version> and builds for this',
    '# machine; its command-line options win over these.',
    '# image:',
    `#   base: ${commentText(options.baseImage ?? 'registry.example/node:24')}`,
    `#   name: registry.example/${commentText(options.name)}`,
    '#   tag: "1.0"',
    '#   platforms: [linux/amd64, linux/arm64]',
    '',
    '# replicas: how many replicas `berth up` runs, and how it scales them, as Kubernetes',
    '# HorizontalPodAutoscaler does: ceil(requests in flight / target) replicas, up at once, down',
    '# only after scaleDownAfter has seen nothing higher.',
    entry(0, 'replicas', ''),
    entry(2, 'min', '1', 'fewest replicas; 0 lets an idle model scale to zero'),
    entry(2, '# max', '4', 'most replicas; above min, the autoscaler runs (default: min)'),
    entry(2, 'target', ''),
    entry(4, 'inflightPerReplica', '8', 'requests in flight one replica should carry'),
    entry(2, 'scaleDownAfter', '5m', 'scale down only to the highest count seen in this window'),
    entry(2, 'idleToZero', '15m', 'with min: 0, no request for this long scales to zero'),
    '',
    '# rollout: how a new model version reaches traffic, and when it rolls back. At each interval',
    '# the candidate is judged on its error rate, p99 latency and (when agreement is set) whether',
    "# its answers agree with the stable version's; failAfter failures in a row roll it back.",
    entry(0, 'rollout', ''),
    entry(2, 'strategy', 'rolling', 'rolling | canary (a share of traffic) | shadow (a copy)'),
    entry(2, 'steps', '[10, 50, 100]', "the candidate's share of traffic, percent; rising, ends at 100"),
    entry(2, 'interval', '30s', 'how long each step runs before it is judged'),
    entry(2, 'analysis', ''),
    entry(4, 'errorRate', '0.01', 'highest error rate the candidate may have'),
    entry(4, 'p99Ms', '1000', 'highest p99 latency, ms'),
    entry(4, '# agreement', '0.99', 'lowest share of answers that agree (default: not checked)'),
    entry(4, 'compare', '', 'how two answers are compared'),
    entry(6, 'mode', 'argmax', 'argmax (same class per row) | tolerance'),
    entry(6, 'absolute', '1e-5', 'tolerance mode: absolute difference allowed'),
    entry(6, 'relative', '1e-3', 'tolerance mode: relative difference allowed'),
    entry(4, 'minRequests', '20', 'below this many requests a check is inconclusive'),
    entry(2, 'failAfter', '2', 'failed checks in a row that roll back'),
    '',
    '# resilience: what the gateway in front of the replicas does when they fail. Outlier ejection',
    "# and the retry budget follow Envoy's.",
    entry(0, 'resilience', ''),
    entry(2, 'timeoutMs', '30000', 'deadline of a request through the gateway, ms'),
    entry(2, 'retries', '2', 'retries where a retry is safe (refused, reset, draining)'),
    entry(2, '# perTryTimeout', '2s', 'past it, inference is retried on another replica (default: off)'),
    entry(2, 'retryBudget', '0.2', 'retries in flight, at most this share of requests'),
    entry(2, 'outlier', '', 'passive health: failures in a row eject a replica'),
    entry(4, 'consecutive5xx', '5', 'failures in a row that eject a replica'),
    entry(4, 'ejectFor', '30s', 'the first ejection; each one in a row lasts one more'),
    entry(4, 'maxEjectFor', '5m', 'the longest ejection'),
    entry(4, 'maxEjectionPercent', '10', 'most replicas ejected at once'),
    entry(2, 'breaker', '', 'a circuit breaker per replica'),
    entry(4, 'failures', '10', 'failures in a row that open it'),
    entry(4, 'coolDown', '5s', 'how long it sends nothing; doubled after a failed probe'),
    entry(4, 'maxCoolDown', '1m', 'the longest cool-down'),
    entry(2, 'healthCheck', '', "active health: each replica's readiness endpoint, asked"),
    entry(4, 'interval', '1s', 'this often'),
    entry(4, 'timeout', '1s', 'no answer within it is a failed check'),
    entry(4, 'unhealthyAfter', '2', 'failed checks in a row that take a replica out'),
    entry(2, 'buffer', '', 'requests that wait while no replica is ready'),
    entry(4, 'maxRequests', '256', 'at most this many (cold start, scale from zero)'),
    entry(4, 'maxWait', '30s', 'each at most this long; past either, 503 with Retry-After'),
    '',
    '# async (queued inference) and kubernetes are accepted as well, and read by the commands',
    '# that own them as they arrive (docs/spec.md).',
  ];
  return lines.join('\n') + '\n';
}
