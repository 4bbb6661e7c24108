/** The size of a model's file, the measure placement and tuning take of how big a model is. */
import { statSync } from 'node:fs';
import type { ModelArtifact } from '../repository/index.js';

/** Infinity when a file cannot be read (its load will say why). */
export function artifactBytes(artifact: ModelArtifact): number {
  if (artifact.kind === 'bytes') return artifact.bytes.byteLength;
  try {
    return statSync(artifact.path).size;
  } catch {
    return Infinity;
  }
}
