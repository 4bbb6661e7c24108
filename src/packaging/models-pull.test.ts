import { describe, expect, it } from 'vitest';
import { modelLayers } from './models-pull.js';

describe('modelLayers', () => {
  const layers = ['base-1', 'base-2', 'berth', 'model-a', 'model-b'];
  const history = [
    { created_by: '/bin/sh -c #(nop) ADD file' },
    { created_by: 'ENV PATH=/x', empty_layer: true },
    { created_by: 'COPY node' },
    { created_by: 'berth build 0.1.0: berth' },
    { created_by: 'berth build 0.1.0: model:a' },
    { created_by: 'berth build 0.1.0: model:b' },
  ];

  it("takes only the layers berth build made for models, by the image's history", () => {
    expect(modelLayers(layers, history)).toEqual(['model-a', 'model-b']);
  });

  it('takes every layer when the history does not line up with the layers, or names no model', () => {
    expect(modelLayers(layers, history.slice(1))).toEqual(layers);
    expect(modelLayers(['x'], [{ created_by: 'COPY x' }])).toEqual(['x']);
  });
});
