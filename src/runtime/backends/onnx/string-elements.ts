/** What ONNX string tensors can hold, checked before a run so a bad element is the caller's error. */
import { BerthError, type BytesData, type Tensor } from '../../../ground/index.js';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * onnxruntime holds string tensors as NUL-terminated UTF-8 text: anything else would reach the
 * model silently altered (cut at the NUL, or with replacement characters), so it is refused.
 * Throws INVALID_DATA for such an element.
 */
export function checkStringElements(tensor: Tensor): void {
  const elements = tensor.data as BytesData;
  for (let i = 0; i < elements.length; i++) {
    const bytes = elements[i] ?? new Uint8Array();
    let problem: string | undefined;
    if (bytes.includes(0)) problem = 'contains a NUL byte';
    else {
      try {
        strictUtf8.decode(bytes);
      } catch {
        problem = 'is not valid UTF-8';
      }
    }
    if (problem !== undefined) {
      throw new BerthError(
        'BERTH_ERR_PROTOCOL_INVALID_DATA',
        `input "${tensor.name}": BYTES element ${i} ${problem}; ONNX string tensors hold UTF-8 text without NUL bytes`,
      );
    }
  }
}

/** Whether a typed array spans the whole of a transferable buffer. */
