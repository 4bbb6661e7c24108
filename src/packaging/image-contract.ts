/**
 * What every berth image promises, in one place: the user it runs as, its ports, the command that
 * serves the bundled models, its environment, stop signal, health check and labels. `berth build`
 * writes these into the image config; `berth render dockerfile|compose` writes the same values as
 * Dockerfile instructions and compose keys, so the images built either way behave alike.
 */
// No imports: the command line reads these values (help text, defaults) without loading the
// image writer.

/** Where berth goes in the image (`/app`), and the bundled models (`/models`). */
export const APP_DIR = 'app';
export const MODELS_DIR = 'models';

/** The base image when none is given: distroless Node.js 24 (the active LTS line), as the non-root user. */
export const DEFAULT_BASE_IMAGE = 'gcr.io/distroless/nodejs24-debian12:nonroot';
/** berth's name on the npm registry (the command is still `berth`). */
export const NPM_PACKAGE = 'berth-ml';
/** The user berth runs as: distroless's "nonroot". */
export const IMAGE_USER = '65532:65532';
export const IMAGE_HTTP_PORT = 8000;
export const IMAGE_GRPC_PORT = 8001;
export const IMAGE_STOP_SIGNAL = 'SIGTERM';
/** Where distroless Node.js images keep node, used when the base's entrypoint does not say. */
export const DEFAULT_NODE_PATH = '/nodejs/bin/node';
/** berth's command-line entry point inside the image. */
export const IMAGE_BERTH_BIN = `/${APP_DIR}/bin/berth.js`;
export const IMAGE_WORKDIR = `/${APP_DIR}`;
export const IMAGE_MODELS_DIR = `/${MODELS_DIR}`;
/** Added to (or replacing) the base image's environment. */
export const IMAGE_ENV: Readonly<Record<string, string>> = { NODE_ENV: 'production', HOME: '/tmp' };

/** The health check's timing, in seconds (Docker keeps nanoseconds in the image config). */
export const HEALTHCHECK_TIMING = { interval: 10, timeout: 3, startPeriod: 60, retries: 3 } as const;

/** `berth serve` on the bundled models (none: the built-in example), listening on all interfaces. */
export function serveArguments(hasModels: boolean): string[] {
  return [
    'serve',
    ...(hasModels ? [IMAGE_MODELS_DIR] : []),
    '--host',
    '0.0.0.0',
    '--port',
    String(IMAGE_HTTP_PORT),
    '--grpc-port',
    String(IMAGE_GRPC_PORT),
    '--log-format',
    'json',
  ];
}

/** The health check's command (exec form): `berth health` against the REST port. */
export function healthCommand(node: string): string[] {
  return [node, IMAGE_BERTH_BIN, 'health', '--url', `http://127.0.0.1:${IMAGE_HTTP_PORT}`];
}

export interface LabelInput {
  /** Image name, e.g. `registry.example/fraud`. */
  readonly name: string;
  readonly tag: string;
  readonly created: Date;
  readonly berthVersion: string;
  readonly revision?: string;
  readonly source?: string;
  readonly models: readonly { readonly name: string; readonly version: number; readonly sha256: string }[];
}

/** OCI annotation labels plus `berth.version` and `berth.model.<name>.{version,sha256}`. */
export function imageLabels(input: LabelInput): Record<string, string> {
  const labels: Record<string, string> = {
    'org.opencontainers.image.title': input.name.split('/').pop() ?? input.name,
    'org.opencontainers.image.version': input.tag,
    'org.opencontainers.image.created': input.created.toISOString(),
    'org.opencontainers.image.source': input.source ?? 'https://github.com/berth/berth',
    'org.opencontainers.image.revision': input.revision ?? '',
    'berth.version': input.berthVersion,
  };
  for (const model of input.models) {
    labels[`berth.model.${model.name}.version`] = String(model.version);
    labels[`berth.model.${model.name}.sha256`] = model.sha256;
  }
  return labels;
}
