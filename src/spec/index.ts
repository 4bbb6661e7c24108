/** berth.yaml: loading and validating the one spec file. */
export { loadSpec, parseSpec, SPEC_FILE, type BerthSpec, type LoadedSpec } from './berth-spec.js';
