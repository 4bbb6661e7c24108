/**
 * An ONNX file's header as berth reads it before a runtime session exists (`berth inspect`, model
 * signatures): protobuf decoding of ModelProto, then the graph's inputs, outputs, initializers,
 * opsets and metadata. Its contract: the model's information, or a plain Error saying why the
 * bytes are not a model (the caller wraps it as BERTH_ERR_RUNTIME_INVALID_MODEL); a TypeError or
 * RangeError out of berth's own reading is a finding.
 */
import type * as Runtime from '../../src/runtime/index.js';
import { berth, type FuzzTarget } from '../target.ts';

const runtime = await berth<typeof Runtime>('runtime/index.js');

export const target: FuzzTarget = {
  name: 'onnx-model',
  description:
    "an ONNX file's header: ModelProto decoding, then inputs, outputs, initializers, opsets, metadata",
  focus: ['/runtime/backends/onnx/onnx-model'],
  dictionary: ['INPUT0', 'OUTPUT0', 'batch', 'ai.onnx', 'ai.onnx.ml', 'Add', 'Gemm'],
  maxLength: 4096,
  seeds: () =>
    Promise.resolve({
      double: runtime.buildOnnxModel({
        graphName: 'double',
        inputs: [{ name: 'INPUT0', elemType: 'FLOAT', shape: ['batch', 4] }],
        outputs: [{ name: 'OUTPUT0', elemType: 'FLOAT', shape: ['batch', 4] }],
        nodes: [{ opType: 'Add', inputs: ['INPUT0', 'INPUT0'], outputs: ['OUTPUT0'] }],
        metadata: { author: 'berth' },
        docString: 'doubles its input',
      }),
      'with-initializer': runtime.buildOnnxModel({
        inputs: [{ name: 'x', elemType: 'INT64', shape: ['n', 2] }],
        outputs: [{ name: 'y', elemType: 'INT64', shape: ['n', 2] }],
        nodes: [{ opType: 'Add', inputs: ['x', 'w'], outputs: ['y'] }],
        initializers: [{ name: 'w', elemType: 'INT64', dims: [2], data: BigInt64Array.of(1n, 2n) }],
        extraOpsets: [{ domain: 'ai.onnx.ml', version: 3 }],
      }),
    }),
  run: (data) => runtime.readOnnxModelInfo(data),
  expected: (error) => error instanceof Error && error.constructor === Error,
};
