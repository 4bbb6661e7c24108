/** What `berth inspect` shows of an ONNX file: its signature in protocol terms, opsets and metadata. */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { BerthError, type Datatype } from '../../../ground/index.js';
import { unreadable } from '../../../repository/index.js';
import { readOnnxModelInfo, type OnnxElemType, type OnnxModelValueInfo } from './onnx-model.js';

/** The protocol datatype of each ONNX element type berth can carry. */
export const DATATYPE_OF_ELEM: Record<OnnxElemType, Datatype> = {
  FLOAT: 'FP32',
  DOUBLE: 'FP64',
  FLOAT16: 'FP16',
  STRING: 'BYTES',
  BOOL: 'BOOL',
  UINT8: 'UINT8',
  UINT16: 'UINT16',
  UINT32: 'UINT32',
  UINT64: 'UINT64',
  INT8: 'INT8',
  INT16: 'INT16',
  INT32: 'INT32',
  INT64: 'INT64',
};

/** The ONNX element type of each protocol datatype. */
export const ELEM_OF_DATATYPE = Object.fromEntries(
  Object.entries(DATATYPE_OF_ELEM).map(([elem, datatype]) => [datatype, elem]),
) as Record<Datatype, OnnxElemType>;

export interface InspectedTensor {
  readonly name: string;
  /** Protocol datatype; null when the protocol cannot carry the value (sequences, maps, BFLOAT16...). */
  readonly datatype: Datatype | null;
  /** Protocol shape: -1 for variable dimensions; null when the file records no shape. */
  readonly shape: number[] | null;
  /** Dimensions as the file names them (symbolic names kept). */
  readonly dims: (number | string)[] | null;
  /** ONNX type, e.g. tensor(float). */
  readonly onnxType: string;
}

export interface InspectedModel {
  readonly file: string;
  readonly bytes: number;
  readonly sha256: string;
  readonly irVersion: number;
  readonly opsets: { domain: string; version: number }[];
  readonly producer: string;
  readonly graphName: string;
  readonly docString: string;
  readonly metadata: Record<string, string>;
  readonly inputs: InspectedTensor[];
  readonly outputs: InspectedTensor[];
}

function tensorOf(info: OnnxModelValueInfo): InspectedTensor {
  return {
    name: info.name,
    datatype: info.elemType === null ? null : DATATYPE_OF_ELEM[info.elemType],
    shape: info.shape === null ? null : info.shape.map((d) => (typeof d === 'number' ? d : -1)),
    dims: info.shape,
    onnxType: info.type,
  };
}

/**
 * Reads an ONNX file's header without creating a runtime session.
 *
 * @example
 * const model = await inspectOnnxFile('double.onnx');
 * console.log(model.inputs[0]?.shape); // [-1, 4]
 */
export async function inspectOnnxFile(path: string): Promise<InspectedModel> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw unreadable(path, error);
  }
  let info;
  try {
    info = readOnnxModelInfo(bytes);
  } catch (error) {
    throw new BerthError(
      'BERTH_ERR_RUNTIME_INVALID_MODEL',
      `${path}: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  const producer = [info.producerName, info.producerVersion].filter((s) => s !== '').join(' ');
  return {
    file: path,
    bytes: bytes.byteLength,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    irVersion: info.irVersion,
    opsets: info.opsets.map((o) => ({ domain: o.domain === '' ? 'ai.onnx' : o.domain, version: o.version })),
    producer,
    graphName: info.graphName,
    docString: info.docString,
    metadata: info.metadata,
    inputs: info.inputs.map(tensorOf),
    outputs: info.outputs.map(tensorOf),
  };
}
