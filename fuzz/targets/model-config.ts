/** A model's `config.yaml` (berth's own model configuration), parsed and checked. */
import type * as Repository from '../../src/repository/index.js';
import { berth, text, utf8, type FuzzTarget } from '../target.ts';

const repository = await berth<typeof Repository>('repository/index.js');

export const target: FuzzTarget = {
  name: 'model-config',
  description: "a model's config.yaml: YAML, then berth's model configuration schema",
  focus: ['/repository/model-config'],
  dictionary: [
    'maxBatchSize',
    'instances',
    'batching',
    'maxQueueDelay',
    'preferredBatchSizes',
    'versionPolicy',
    'latest',
    'all',
    'specific',
    'threads',
    'intraOp',
    'interOp',
    'execution',
    'cpu',
    'cuda',
    'labels',
    'warmup',
    ': ',
    '\n  ',
    '- ',
    '[',
    ']',
    '{',
    '}',
    '&a ',
    '*a',
    '!!binary ',
    '---\n',
    '"',
  ],
  maxLength: 2048,
  seeds: () =>
    Promise.resolve({
      full: utf8.encode(
        [
          'maxBatchSize: 64',
          'instances: 2',
          'batching: { maxQueueDelay: 2ms, preferredBatchSizes: [8, 16] }',
          'versionPolicy: { latest: 2 }',
          'threads: { intraOp: 2, interOp: 1 }',
        ].join('\n'),
      ),
      small: utf8.encode('maxBatchSize: 0\n'),
    }),
  run: (data) => repository.parseModelConfig(text.decode(data), 'config.yaml'),
};
