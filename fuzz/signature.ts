/**
 * The model the inference targets validate requests against, and test/e2e/fuzz-corpus-server.test.ts
 * serves (as model "m"): one input of each kind of datatype a decoder treats differently.
 */
import type * as Ground from '../src/ground/index.js';

export const SIGNATURE: Ground.ModelSignature = {
  inputs: [
    { name: 'x', datatype: 'FP32', shape: [-1, 4] },
    { name: 'ids', datatype: 'INT64', shape: [-1, 2] },
    { name: 'text', datatype: 'BYTES', shape: [-1] },
    { name: 'mask', datatype: 'BOOL', shape: [-1, 3] },
    { name: 'half', datatype: 'FP16', shape: [-1, 2] },
  ],
  outputs: [
    { name: 'y', datatype: 'FP32', shape: [-1, 4] },
    { name: 'p', datatype: 'FP32', shape: [-1, 2] },
  ],
};

/** The model's batch limit (config.yaml maxBatchSize). */
export const MAX_BATCH_SIZE = 8;
