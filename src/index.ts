/** berth as a library: start a server in-process, build or inspect models, and the protocol types. */
export { startServer, type RunningServer, type ServeOptions } from './server/index.js';
export {
  modelFromBytes,
  modelFromFile,
  resolveModelSources,
  scanRepository,
  type ModelDescriptor,
} from './repository/index.js';
export { buildOnnxModel, inspectOnnxFile, readOnnxModelInfo } from './runtime/index.js';
export { createLogger } from './observability/index.js';
export * from './protocol/index.js';
