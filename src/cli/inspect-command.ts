/** `berth inspect`: a model's signature, opsets and metadata, for people or (--json) scripts. */
import { Command } from 'commander';
import type { InspectedModel, InspectedTensor } from '../runtime/index.js';
import { table } from './table.js';

function formatDims(t: InspectedTensor): string {
  if (t.dims === null) return 'unknown';
  return `[${t.dims.map((d) => (typeof d === 'number' ? String(d) : d === '?' ? '-1' : `-1 (${d})`)).join(', ')}]`;
}

function tensors(list: InspectedTensor[]): string {
  if (list.length === 0) return '  (none)';
  return table([
    ['NAME', 'DATATYPE', 'SHAPE'],
    ...list.map((t) => [t.name, t.datatype ?? `unsupported: ${t.onnxType}`, formatDims(t)]),
  ]);
}

export function formatInspection(model: InspectedModel): string {
  const lines = [
    `${model.file}  (${model.bytes} bytes, sha256 ${model.sha256})`,
    `ir_version ${model.irVersion}; opsets ${model.opsets.map((o) => `${o.domain} ${o.version}`).join(', ')}${model.producer === '' ? '' : `; producer ${model.producer}`}`,
    '',
    'inputs:',
    tensors(model.inputs),
    '',
    'outputs:',
    tensors(model.outputs),
  ];
  const metadata = Object.entries(model.metadata);
  if (metadata.length > 0) lines.push('', 'metadata:', table(metadata.map(([k, v]) => [k, v])));
  return lines.join('\n') + '\n';
}

export function inspectCommand(): Command {
  return new Command('inspect')
    .summary("show an ONNX model's inputs, outputs, opsets and metadata")
    .description(
      "Show an ONNX model's inputs and outputs (name, protocol datatype, shape with -1 for variable\n" +
        'dimensions), its opsets and metadata, without loading it into a runtime.',
    )
    .argument('<model>', 'path to a .onnx file')
    .option('--json', 'print JSON for scripts')
    .addHelpText(
      'after',
      '\nExamples:\n  berth inspect model.onnx\n  berth inspect model.onnx --json | jq .inputs',
    )
    .action(async (path: string, flags: { json?: boolean }) => {
      // Imported here: the runtime (onnxruntime-node) is loaded only by the commands that use it.
      const { inspectOnnxFile } = await import('../runtime/index.js');
      const model = await inspectOnnxFile(path);
      process.stdout.write(
        flags.json === true ? JSON.stringify(model, null, 2) + '\n' : formatInspection(model),
      );
    });
}
