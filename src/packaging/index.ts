/** Container images of model services: OCI layouts and archives written by berth itself. */
export {
  buildImage,
  type BuildOptions,
  type PlatformImage,
  type BuildProgress,
  type BuildResult,
  type BuiltImageLayer,
  type ImageTarget,
} from './image-builder.js';
export { BlobStore } from './blob-store.js';
export {
  DEFAULT_BASE_IMAGE,
  DEFAULT_NODE_PATH,
  HEALTHCHECK_TIMING,
  healthCommand,
  IMAGE_BERTH_BIN,
  IMAGE_ENV,
  IMAGE_GRPC_PORT,
  IMAGE_HTTP_PORT,
  IMAGE_MODELS_DIR,
  IMAGE_STOP_SIGNAL,
  IMAGE_USER,
  IMAGE_WORKDIR,
  imageLabels,
  serveArguments,
  type LabelInput,
} from './image-contract.js';
export { sha256, type Digest } from './digest.js';
export { buildLayer, completeEntries, type BuiltLayer, type LayerEntry } from './layer-builder.js';
export { MEDIA_TYPE, type Descriptor } from './media-types.js';
export {
  loadLayoutImage,
  writeLayoutIndex,
  type ImageConfig,
  type ImageManifest,
  type Platform,
} from './oci-layout.js';
export type { BaseSpec } from './image-source.js';
export { formatReference, parseImageReference, type ImageReference } from './image-reference.js';
export {
  RegistryClient,
  registryClientFor,
  type RegistryAccess,
  type RegistryOptions,
} from './registry-client.js';
export { findCredentials, type Credentials } from './registry-auth.js';
export { cyclonedxBom, SBOM_MEDIA_TYPE, type CycloneDxBom } from './sbom.js';
export {
  DEFAULT_NODE_IMAGE,
  dockerfileText,
  modelSources,
  renderDockerfile,
  writeRuntimeFiles,
  type DockerfileModel,
  type DockerfileOptions,
  type ModelSource,
  type RenderedDockerfile,
} from './dockerfile-render.js';
export {
  DEFAULT_CPUS,
  DEFAULT_MEMORY,
  renderCompose,
  STOP_GRACE_PERIOD,
  type ComposeOptions,
  type RenderedCompose,
} from './compose-render.js';
export { pullModels, PULLED_MARKER, type PulledModels, type PullModelsOptions } from './models-pull.js';
export { pinImage } from './pin-image.js';
