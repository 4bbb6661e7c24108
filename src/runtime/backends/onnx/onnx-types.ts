/** The mapping between OIP datatypes and onnxruntime tensor types. */
import type { Tensor as OrtTensor } from 'onnxruntime-node';
import type { Datatype } from '../../../ground/index.js';

export const ORT_TYPE_OF: Record<Datatype, OrtTensor.Type> = {
  BOOL: 'bool',
  UINT8: 'uint8',
  UINT16: 'uint16',
  UINT32: 'uint32',
  UINT64: 'uint64',
  INT8: 'int8',
  INT16: 'int16',
  INT32: 'int32',
  INT64: 'int64',
  FP16: 'float16',
  FP32: 'float32',
  FP64: 'float64',
  BYTES: 'string',
};

const DATATYPE_OF = new Map<string, Datatype>(
  Object.entries(ORT_TYPE_OF).map(([datatype, ortType]) => [ortType, datatype as Datatype]),
);

export function datatypeOfOrtType(type: string): Datatype | undefined {
  return DATATYPE_OF.get(type);
}
